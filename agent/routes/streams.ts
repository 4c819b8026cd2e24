/**
 * The live container routes: `GET /containers/:id/logs/stream` and `/stats/stream` (NDJSON that
 * follows until the client leaves), and `POST /containers/:id/exec` (an exec session, attached over
 * the WebSocket of exec-socket.ts).
 */
import { Router, type Response } from 'express';
import type { StreamOps } from '../stream-ops.js';
import { createExecBody, logStreamQuery } from '../../core/agent-wire.js';
import { idParam, parse, parseQuery } from './params.js';

/** Writes `values` as NDJSON (blank keep-alive lines between) until they end or the client leaves. */
async function streamNdjson(
  res: Response,
  values: AsyncIterable<unknown>,
  ac: AbortController,
  keepAliveMs: number,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  const keepAlive = setInterval(() => res.write('\n'), keepAliveMs);
  try {
    for await (const v of values) res.write(`${JSON.stringify(v)}\n`);
  } catch {
    // Cut: the client left, or Docker's stream failed; the client sees the stream end.
  } finally {
    clearInterval(keepAlive);
    ac.abort();
    res.end();
  }
}

export function streamRoutes(streams: StreamOps, keepAliveMs: number): Router {
  const r = Router();
  r.get('/containers/:id/logs/stream', async (req, res) => {
    const id = idParam(req);
    const q = parseQuery(logStreamQuery, req);
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    await streamNdjson(res, await streams.logs(id, q, ac.signal), ac, keepAliveMs);
  });
  r.get('/containers/:id/stats/stream', async (req, res) => {
    const id = idParam(req);
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    await streamNdjson(res, await streams.stats(id, ac.signal), ac, keepAliveMs);
  });
  r.post('/containers/:id/exec', async (req, res) => {
    const id = idParam(req);
    res.json(await streams.createExec(id, parse(createExecBody, req.body, 'body')));
  });
  return r;
}
