/**
 * The container routes: `/containers` (list, create, operate), `/containers/stats` and
 * `/containers/:id` (inspect, status, logs, stats, remove).
 */
import { Router } from 'express';
import type { ContainerOps } from '../container-ops.js';
import {
  allQuery,
  createContainerBody,
  forceQuery,
  logsQuery,
  operateContainerBody,
  originalQuery,
} from '../../core/agent-wire.js';
import { idParam, parse, parseQuery } from './params.js';
import { v1LogsSince, v1UpdateTarget } from '../v1-compat.js';
import { decodeRegistryAuth, REGISTRY_AUTH_HEADER } from '../../core/registry-auth.js';

export function containerRoutes(containers: ContainerOps): Router {
  const r = Router();
  r.get('/containers', async (req, res) => {
    const { all } = parseQuery(allQuery, req);
    res.json(await containers.list(all));
  });
  r.post('/containers', async (req, res) => {
    const body = parse(createContainerBody, req.body, 'body');
    const auth = decodeRegistryAuth(req.headers[REGISTRY_AUTH_HEADER]);
    // A non-empty `Id` is humpback-agent v1's in-place update of that container.
    const target = v1UpdateTarget(req.body);
    res.json(await (target ? containers.replace(target, body, auth) : containers.create(body, auth)));
  });
  r.put('/containers', async (req, res) => {
    const body = parse(operateContainerBody, req.body, 'body');
    const auth = decodeRegistryAuth(req.headers[REGISTRY_AUTH_HEADER]);
    res.json(await containers.operate({ ...body, Container: body.Container.replace(/^\//, '') }, auth));
  });
  // Before `/containers/:id`, which would take `stats` for a name.
  r.get('/containers/stats', async (_req, res) => {
    res.json(await containers.allStats());
  });
  r.get('/containers/:id', async (req, res) => {
    const id = idParam(req);
    const { originaldata } = parseQuery(originalQuery, req);
    res.json(originaldata ? await containers.inspect(id) : await containers.get(id));
  });
  r.get('/containers/:id/status', async (req, res) => {
    res.json(await containers.status(idParam(req)));
  });
  r.get('/containers/:id/logs', async (req, res) => {
    const id = idParam(req);
    const q = parseQuery(logsQuery, req, (raw) =>
      raw['since'] ? { ...raw, since: v1LogsSince(raw['since'])! } : raw,
    );
    res.json(await containers.logs(id, q));
  });
  r.get('/containers/:id/stats', async (req, res) => {
    res.json(await containers.stats(idParam(req)));
  });
  r.delete('/containers/:id', async (req, res) => {
    const id = idParam(req);
    const { force } = parseQuery(forceQuery, req);
    await containers.remove(id, force);
    res.json({ Id: id, Removed: true });
  });
  return r;
}
