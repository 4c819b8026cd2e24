/**
 * `GET /volumes/<nodeId>/<name>/archive[?path=]`: the volume's content as a tar, streamed from the
 * node's agent to the client as it comes (never held whole). Bearer token; the caller must operate
 * on the node and no other group's container may use the volume (core/authorization.ts).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Express, Request, Response } from 'express';
import { Access } from '../../core/authorization.js';
import { ErrorCode, HumpbackError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Services } from '../../core/services.js';
import { bearerToken } from '../../resolvers/context.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.NODE_UNAVAILABLE]: 503,
  [ErrorCode.ENGINE_ERROR]: 502,
};

function fail(res: Response, err: HumpbackError): void {
  res
    .status(STATUS[err.code] ?? 500)
    .json({ errors: [{ message: err.message, extensions: { code: err.code } }] });
}

export function mountVolumeArchive(app: Express, d: { services: Services; logger: Logger }): void {
  app.get('/volumes/:nodeId/:name/archive', async (req: Request, res: Response) => {
    const token = bearerToken(req.headers.authorization);
    const viewer = token ? await d.services.auth.verify(token) : undefined;
    const access = new Access(viewer, d.services);
    const nodeId = String(req.params['nodeId']);
    const name = String(req.params['name']);
    const path = typeof req.query['path'] === 'string' ? req.query['path'] : undefined;
    const abort = new AbortController();
    let tar: ReadableStream<Uint8Array>;
    try {
      const node = await access.node(nodeId, 'operate');
      await access.volume(node.id, name);
      tar = await d.services.volumes.archive(node.id, name, path, abort.signal);
    } catch (err) {
      if (err instanceof HumpbackError) return fail(res, err);
      d.logger.error({ err, node: nodeId, volume: name }, 'volume archive failed');
      return fail(res, new HumpbackError(ErrorCode.INTERNAL_SERVER_ERROR, 'internal server error'));
    }
    res.status(200);
    res.setHeader('content-type', 'application/x-tar');
    res.setHeader('content-disposition', `attachment; filename="${name}.tar"`);
    // A client that goes away stops the agent's stream (and its helper container).
    res.once('close', () => abort.abort());
    await pipeline(Readable.fromWeb(tar as import('node:stream/web').ReadableStream), res).catch(
      (err: unknown) => {
        if (!abort.signal.aborted)
          d.logger.warn({ err, node: nodeId, volume: name }, 'volume archive cut short');
      },
    );
  });
}
