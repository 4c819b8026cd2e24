/**
 * `POST /uploads`: the raw body (a tar, optionally gzip) streamed to the UploadStore for the caller
 * of the bearer token. 201 `{uploadId,sizeBytes,sha256}`; 401 without a valid token; 413 past the
 * limit (nothing stays on disk).
 */
import type { Express, Request, Response } from 'express';
import type { Logger } from '../../core/logger.js';
import type { AuthService } from '../../core/services.js';
import { UploadTooLargeError, type UploadStore } from '../../core/uploads.js';
import { bearerToken } from '../../resolvers/context.js';

export interface UploadRouteDeps {
  uploads: UploadStore;
  auth: Pick<AuthService, 'verify'>;
  logger: Logger;
}

function refuse(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

export function mountUploads(app: Express, d: UploadRouteDeps): void {
  app.post('/uploads', async (req: Request, res: Response) => {
    const token = bearerToken(req.headers.authorization);
    const viewer = token ? await d.auth.verify(token).catch(() => undefined) : undefined;
    if (!viewer) return refuse(res, 401, 'UNAUTHENTICATED', 'a valid bearer token is required');
    const tooLarge = new UploadTooLargeError(d.uploads.maxBytes);
    const declared = Number(req.headers['content-length']);
    // Node reads and drops the rest of a refused body, so the client sees the answer.
    if (declared > d.uploads.maxBytes) return refuse(res, 413, 'PAYLOAD_TOO_LARGE', tooLarge.message);
    try {
      const info = await d.uploads.receive(viewer.userId, req);
      res.status(201).json(info);
    } catch (err) {
      if (err instanceof UploadTooLargeError) return refuse(res, 413, 'PAYLOAD_TOO_LARGE', err.message);
      if (req.destroyed || !req.readableEnded) {
        d.logger.info({ err, user: viewer.username }, 'upload ended early');
        if (!res.headersSent && !res.destroyed) refuse(res, 400, 'BAD_REQUEST', 'the upload ended early');
        return;
      }
      d.logger.error({ err, user: viewer.username }, 'upload failed');
      refuse(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    }
  });
}
