/**
 * `/services`: humpback-agent 1.3's compose projects, which this agent does not run. humpback-web
 * lists them on every server page of an agent at AppVersion 1.3.3 or later, so the list answers empty;
 * creating or changing one answers 501.
 */
import { Router } from 'express';
import { HttpError } from '../http-error.js';

export function v1ServiceRoutes(): Router {
  const r = Router();
  r.get('/services', (_req, res) => {
    res.json([]);
  });
  r.all(['/services', '/services/*rest'], () => {
    throw new HttpError(
      501,
      'compose services are not supported by this agent',
      'run the containers through the agent or a cluster meta instead',
    );
  });
  return r;
}
