/**
 * `GET /events`: Docker's container events as an NDJSON stream, with blank keep-alive lines, and
 * when asked (`?status=ms`, `?stats=ms`) the agent's own lines: its node info and its running
 * containers' usage, so a gateway watching thousands of nodes need not ask each for them.
 */
import type { Response } from 'express';
import { Router } from 'express';
import type { ContainerOps } from '../container-ops.js';
import type { NodeOps } from '../node-ops.js';
import {
  STATS_LINE,
  STATUS_LINE,
  eventsQuery,
  type StatsLineBody,
  type StatusLineBody,
} from '../../core/agent-wire.js';
import { parseQuery } from './params.js';

/**
 * Writes `read()`'s line every `ms` until stopped. A reading still running when the next is due is
 * not doubled (a slow engine gets no pile of calls); a failed one writes nothing, so the reader sees
 * the line late, as it would see a check time out.
 */
function everyInterval(res: Response, ms: number, read: () => Promise<object>): () => void {
  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    read()
      .then((line) => {
        if (!res.writableEnded) res.write(`${JSON.stringify(line)}\n`);
      })
      .catch(() => undefined)
      .finally(() => (reading = false));
  }, ms);
  return () => clearInterval(timer);
}

export function eventRoutes(containers: ContainerOps, node: NodeOps, keepAliveMs: number): Router {
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
    const stops: Array<() => void> = [];
    if (q.status !== undefined)
      stops.push(
        everyInterval(res, q.status, async (): Promise<StatusLineBody> => {
          return { Type: STATUS_LINE, Node: await node.nodeInfo() };
        }),
      );
    if (q.stats !== undefined)
      stops.push(
        everyInterval(res, q.stats, async (): Promise<StatsLineBody> => {
          return { Type: STATS_LINE, Stats: await containers.allStats() };
        }),
      );
    try {
      for await (const line of lines) res.write(`${line}\n`);
    } catch {
      // The stream was cut (the client left, or Docker's stream failed): the client sees it end and
      // resumes from its last event.
    } finally {
      clearInterval(keepAlive);
      for (const stop of stops) stop();
      ac.abort();
      res.end();
    }
  });
  return r;
}
