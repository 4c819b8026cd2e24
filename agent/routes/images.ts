/** The image routes: `/images` (list, pull) and `/images/<ref>` (inspect, remove). */
import { Router } from 'express';
import type { ImageOps } from '../image-ops.js';
import { forceQuery, pullImageBody } from '../../core/agent-wire.js';
import { imageParam, parse, parseQuery } from './params.js';
import { decodeRegistryAuth, REGISTRY_AUTH_HEADER } from '../../core/registry-auth.js';

export function imageRoutes(images: ImageOps): Router {
  const r = Router();
  r.get('/images', async (_req, res) => {
    res.json(await images.list());
  });
  r.post('/images', async (req, res) => {
    const { Image } = parse(pullImageBody, req.body, 'body');
    res.json(await images.pull(Image, decodeRegistryAuth(req.headers[REGISTRY_AUTH_HEADER])));
  });
  // `*ref`: a reference may hold `/` and a registry port (`/images/reg:5000/ns/img:1`).
  r.get('/images/*ref', async (req, res) => {
    res.json(await images.inspect(imageParam(req)));
  });
  r.delete('/images/*ref', async (req, res) => {
    const ref = imageParam(req);
    const { force } = parseQuery(forceQuery, req);
    res.json(await images.remove(ref, force));
  });
  return r;
}
