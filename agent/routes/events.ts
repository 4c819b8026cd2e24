/** `GET /events`: Docker's container events as an NDJSON stream, with blank keep-alive lines. */
import { Router } from 'express';
import type { ContainerOps } from '../container-ops.js';
import { eventsQuery } from '../../core/agent-wire.js';
import { parseQuery } from './params.js';

export function eventRoutes(containers: ContainerOps, keepAliveMs: number): Router {
  const r = Router();
  r.get('/events', async (req, res) => {
    const q = parseQuery(eventsQuery, req);
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const lines = await containers.events(q, ac.signal);
    res.status(200);
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const keepAlive = setInterval(() => res.write('\n'), keepAliveMs);
    try {
      for await (const line of lines) res.write(`${line}\n`);
    } catch {
      // The stream was cut (the client left, or Docker's stream failed): the client sees it end and
      // resumes from its last event.
    } finally {
      clearInterval(keepAlive);
      ac.abort();
      res.end();
    }
  });
  return r;
}
