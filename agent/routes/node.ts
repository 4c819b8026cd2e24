/** The node's routes: `/ping`, `/dockerinfo`, `/dockerversion`, `/nodeinfo`. */
import { Router } from 'express';
import type { NodeOps } from '../node-ops.js';

export function nodeRoutes(node: NodeOps): Router {
  const r = Router();
  r.get('/ping', async (_req, res) => {
    res.json(await node.ping());
  });
  r.get('/dockerinfo', async (_req, res) => {
    res.json(await node.dockerInfo());
  });
  r.get('/dockerversion', async (_req, res) => {
    res.json(await node.dockerVersion());
  });
  r.get('/nodeinfo', async (_req, res) => {
    res.json(await node.nodeInfo());
  });
  return r;
}
