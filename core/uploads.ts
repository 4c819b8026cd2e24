import type { Readable } from 'node:stream';

/** What `POST /uploads` answers: the upload's id, its size and its SHA-256 in hex. */
export interface UploadInfo {
  uploadId: string;
  sizeBytes: number;
  sha256: string;
}

/** An upload opened for use: its file can be read as often as needed while it exists. */
export interface OpenedUpload extends UploadInfo {
  /** A fresh stream of the upload's bytes, from the start. */
  read(): Readable;
}

/**
 * Files users upload (tars for builds, loads, volume restores), kept by the gateway that received
 * them. Each belongs to the user who sent it; one not opened within `maxAgeMs` of its arrival (an
 * hour by default) is deleted.
 */
export interface UploadStore {
  /** The most bytes one upload may have. */
  readonly maxBytes: number;
  /**
   * Streams `body` to disk for `userId`. Throws UploadTooLargeError (leaving nothing on disk) when it
   * passes `maxBytes`.
   */
  receive(userId: string, body: Readable): Promise<UploadInfo>;
  /**
   * The upload `uploadId` of `userId`, marked as used (the sweep leaves it until `discard`).
   * BAD_USER_INPUT naming `uploadId` when there is none of that user (another user's is the same
   * as none).
   */
  open(uploadId: string, userId: string): Promise<OpenedUpload>;
  /** Deletes an upload (after its use); nothing when it is gone already. */
  discard(uploadId: string): Promise<void>;
}

/** An upload passed the size limit. */
export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`upload larger than ${maxBytes} bytes (HUMPBACK_UPLOAD_MAX_MB)`);
    this.name = 'UploadTooLargeError';
  }
}
