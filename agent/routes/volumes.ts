/**
 * The volume routes: `/volumes` (list, create), `/volumes/:name` (inspect, remove),
 * `/volumes/:name/clear`, and `/volumes/:name/archive` (a tar out with GET, in with PUT).
 */
import { Router } from 'express';
import { pipeline } from 'node:stream/promises';
import type { VolumeOps } from '../volume-ops.js';
import { archiveQuery, createVolumeBody, forceQuery, volumeNameSchema } from '../../core/agent-wire.js';
import { parse, parseQuery } from './params.js';
import type { Request } from 'express';

const nameParam = (req: Request): string => parse(volumeNameSchema, req.params['name'], 'volume name');

export function volumeRoutes(volumes: VolumeOps): Router {
  const r = Router();
  r.get('/volumes', async (_req, res) => {
    res.json(await volumes.list());
  });
  r.post('/volumes', async (req, res) => {
    res.json(await volumes.create(parse(createVolumeBody, req.body, 'body')));
  });
  r.get('/volumes/:name', async (req, res) => {
    res.json(await volumes.get(nameParam(req)));
  });
  r.delete('/volumes/:name', async (req, res) => {
    const name = nameParam(req);
    const { force } = parseQuery(forceQuery, req);
    await volumes.remove(name, force);
    res.json({ Name: name, Removed: true });
  });
  r.post('/volumes/:name/clear', async (req, res) => {
    const name = nameParam(req);
    await volumes.clear(name);
    res.json({ Name: name, Cleared: true });
  });
  r.get('/volumes/:name/archive', async (req, res) => {
    const name = nameParam(req);
    const { path } = parseQuery(archiveQuery, req);
    const tar = await volumes.archive(name, path);
    res.status(200).type('application/x-tar');
    // A client that goes away ends the stream (and with it the helper container).
    res.once('close', () => tar.destroy());
    await pipeline(tar, res).catch(() => undefined);
  });
  r.put('/volumes/:name/archive', async (req, res) => {
    const name = nameParam(req);
    const { path } = parseQuery(archiveQuery, req);
    await volumes.restore(name, path, req);
    res.json({ Name: name, Restored: true });
  });
  return r;
}
