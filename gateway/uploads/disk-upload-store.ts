/**
 * Uploads as files under `<dataDir>/uploads`: `<id>.part` while arriving, then `<id>.tar` beside
 * `<id>.json` (owner, size, hash, arrival). Streamed through a hash, never held in memory.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { badInput } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  UploadTooLargeError,
  type OpenedUpload,
  type UploadInfo,
  type UploadStore,
} from '../../core/uploads.js';

export interface DiskUploadStoreOptions {
  /** The folder uploads live in (created when missing). */
  dir: string;
  maxBytes: number;
  logger: Logger;
  /** An upload not opened this long after it arrived is deleted. @default 3600000 (an hour) */
  maxAgeMs?: number | undefined;
  /** How often old uploads are looked for. @default 60000 */
  sweepIntervalMs?: number | undefined;
  /** @default Date.now */
  now?: (() => number) | undefined;
}

interface UploadMeta extends UploadInfo {
  userId: string;
  /** Milliseconds since the epoch. */
  receivedAt: number;
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class DiskUploadStore implements UploadStore {
  readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly used = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: DiskUploadStoreOptions) {
    this.maxBytes = options.maxBytes;
    this.maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  /** Creates the folder, removes what an earlier process left half-written, starts the sweep. */
  static async open(options: DiskUploadStoreOptions): Promise<DiskUploadStore> {
    const store = new DiskUploadStore(options);
    await mkdir(options.dir, { recursive: true });
    for (const name of await readdir(options.dir)) {
      if (name.endsWith('.part')) await rm(path.join(options.dir, name), { force: true });
    }
    store.timer = setInterval(() => {
      store.sweep().catch((err: unknown) => options.logger.warn({ err }, 'could not sweep old uploads'));
    }, options.sweepIntervalMs ?? 60_000);
    store.timer.unref();
    return store;
  }

  async receive(userId: string, body: Readable): Promise<UploadInfo> {
    const uploadId = randomUUID();
    const part = this.file(uploadId, 'part');
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const max = this.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sizeBytes += chunk.length;
        if (sizeBytes > max) return done(new UploadTooLargeError(max));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    // The body is piped, not part of the pipeline: a refusal must not destroy the caller's stream (an
    // HTTP request still has to be answered on its socket).
    const abort = (err?: Error): void => void meter.destroy(err ?? new Error('upload ended early'));
    const onClose = (): void => {
      if (!body.readableEnded) abort();
    };
    body.once('error', abort).once('close', onClose).pipe(meter);
    try {
      await pipeline(meter, createWriteStream(part, { flags: 'wx' }));
    } catch (err) {
      body.unpipe(meter);
      await rm(part, { force: true });
      throw err;
    } finally {
      body.off('error', abort).off('close', onClose);
    }
    const meta: UploadMeta = {
      uploadId,
      sizeBytes,
      sha256: hash.digest('hex'),
      userId,
      receivedAt: this.now(),
    };
    await writeFile(this.file(uploadId, 'json'), JSON.stringify(meta));
    await rename(part, this.file(uploadId, 'tar'));
    return { uploadId, sizeBytes, sha256: meta.sha256 };
  }

  async open(uploadId: string, userId: string): Promise<OpenedUpload> {
    const meta = await this.meta(uploadId);
    if (!meta || meta.userId !== userId)
      throw badInput(`no upload ${JSON.stringify(uploadId)} of yours`, 'uploadId');
    this.used.add(uploadId);
    const file = this.file(uploadId, 'tar');
    return {
      uploadId,
      sizeBytes: meta.sizeBytes,
      sha256: meta.sha256,
      read: () => createReadStream(file),
    };
  }

  async discard(uploadId: string): Promise<void> {
    if (!ID.test(uploadId)) return;
    this.used.delete(uploadId);
    await rm(this.file(uploadId, 'tar'), { force: true });
    await rm(this.file(uploadId, 'json'), { force: true });
  }

  /** Deletes the uploads not opened within maxAgeMs of their arrival. */
  async sweep(): Promise<void> {
    for (const name of await readdir(this.options.dir)) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      const meta = await this.meta(id);
      if (meta && !this.used.has(id) && this.now() - meta.receivedAt >= this.maxAgeMs) {
        await this.discard(id);
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private file(uploadId: string, ext: 'part' | 'tar' | 'json'): string {
    return path.join(this.options.dir, `${uploadId}.${ext}`);
  }

  private async meta(uploadId: string): Promise<UploadMeta | undefined> {
    if (!ID.test(uploadId)) return undefined;
    try {
      return JSON.parse(await readFile(this.file(uploadId, 'json'), 'utf8')) as UploadMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
