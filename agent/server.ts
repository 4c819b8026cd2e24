/**
 * The agent's REST API app (express 5): the token challenge, token auth, JSON bodies of at most 1 MB,
 * the route tables of routes/ under `/v1` and `/dockerapi/v2`, JSON errors everywhere.
 */
import type { Server } from 'node:http';
import express, { type ErrorRequestHandler, type Request, type Response, Router } from 'express';
import type { Logger } from '../core/logger.js';
import { requireToken } from './auth.js';
import type { ContainerOps } from './container-ops.js';
import { HttpError, badRequest } from './http-error.js';
import type { ImageOps } from './image-ops.js';
import type { NodeOps } from './node-ops.js';
import { challengeRoutes } from './routes/auth.js';
import { containerRoutes } from './routes/containers.js';
import { eventRoutes } from './routes/events.js';
import { imageRoutes } from './routes/images.js';
import type { ImageJobOps } from './image-job-ops.js';
import { imageJobRoutes } from './routes/image-jobs.js';
import { nodeRoutes } from './routes/node.js';
import { v1ServiceRoutes } from './routes/v1-services.js';
import { volumeRoutes } from './routes/volumes.js';
import type { VolumeOps } from './volume-ops.js';
import { streamRoutes } from './routes/streams.js';
import type { StreamOps } from './stream-ops.js';

export interface AgentAppOptions {
  containers: ContainerOps;
  /** Live logs, stats and exec sessions. */
  streams: StreamOps;
  images: ImageOps;
  /** Builds, loads, commits, pushes and pulls with their progress (routes/image-jobs.ts). */
  imageJobs?: ImageJobOps | undefined;
  node: NodeOps;
  volumes: VolumeOps;
  token: string;
  /** ENABLE_AUTHORIZATION: `false` serves every request without a token. @default true */
  authorization?: boolean | undefined;
  /** HUMPBACK_AGENT_TOKEN_PREVIOUS: also accepted (and proved) while the token is being rotated. */
  previousToken?: string | undefined;
  /** The `host:port`s the challenge answers for (see ownAddresses in auth.ts). */
  addresses: () => ReadonlySet<string>;
  log: Logger;
  /** Blank keep-alive lines on `/events` every this many ms. @default 15000 */
  eventsKeepAliveMs?: number | undefined;
  /** @default '1mb' */
  bodyLimit?: string | undefined;
}

/** The route prefixes: Humpback agent v1's `/dockerapi/v2` and the shorter `/v1`. */
export const ROUTE_PREFIXES = ['/v1', '/dockerapi/v2'] as const;

/**
 * The express app: the token challenge, then auth, then the routes under both prefixes, JSON errors
 * everywhere.
 */
export function createAgentApp(o: AgentAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const tokens = [o.token, ...(o.previousToken ? [o.previousToken] : [])].filter((t) => t !== '');
  // The one route without the token: it proves the agent holds it, without anyone sending it.
  const challenge = challengeRoutes({ tokens, addresses: o.addresses });
  for (const prefix of ROUTE_PREFIXES) app.use(prefix, challenge);
  app.use(requireToken(tokens, o.authorization ?? true));
  app.use(express.json({ limit: o.bodyLimit ?? '1mb', strict: true }));
  const api = Router();
  api.use(nodeRoutes(o.node));
  api.use(imageRoutes(o.images));
  // Before containerRoutes' `/containers/:id`: these are longer paths under it.
  api.use(streamRoutes(o.streams, o.eventsKeepAliveMs ?? 15_000));
  if (o.imageJobs) api.use(imageJobRoutes(o.imageJobs));
  api.use(containerRoutes(o.containers));
  api.use(volumeRoutes(o.volumes));
  api.use(eventRoutes(o.containers, o.node, o.eventsKeepAliveMs ?? 15_000));
  api.use(v1ServiceRoutes());
  for (const prefix of ROUTE_PREFIXES) app.use(prefix, api);
  app.use((req: Request) => {
    throw new HttpError(404, `no route ${req.method} ${req.path}`);
  });
  app.use(errorHandler(o));
  return app;
}

/** Every error as Humpback's `{Code, Message, Detail}`; nothing unexpected leaks (500, logged). */
function errorHandler(o: AgentAppOptions): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next) => {
    let e: HttpError;
    const type = (err as { type?: string } | null)?.type;
    if (err instanceof HttpError) e = err;
    else if (type === 'entity.too.large')
      e = new HttpError(413, 'request body too large', `at most ${o.bodyLimit ?? '1mb'}`);
    else if (type === 'entity.parse.failed') e = badRequest('request body is not valid JSON');
    else if (type && typeof (err as { status?: number }).status === 'number') {
      e = new HttpError((err as { status: number }).status, 'bad request', String((err as Error).message));
    } else {
      o.log.error({ err, method: req.method, path: req.path }, 'unexpected error');
      e = new HttpError(500, 'internal error', '');
    }
    if (e.status >= 500)
      o.log.warn({ method: req.method, path: req.path, status: e.status, detail: e.detail }, e.message);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(e.status).json(e.toBody());
  };
}

/** Closes the server, cutting long-lived requests (event streams) after `graceMs`. */
export async function closeServer(server: Server, graceMs = 1000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const t = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(t);
}
