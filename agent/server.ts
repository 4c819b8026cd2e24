/**
 * The agent's REST API (express 5): every route under `/v1` and `/dockerapi/v2`, token auth (but for
 * the token challenge), JSON bodies of at most 1 MB, zod validation of everything a client sends.
 */
import type { Server } from 'node:http';
import express, { type ErrorRequestHandler, type Request, type Response, Router } from 'express';
import type Docker from 'dockerode';
import type { z } from 'zod';
import type { Logger } from '../core/logger.js';
import type { NodeData } from '../core/node-data.js';
import { CHALLENGE_PATH, answerChallenge, requireToken } from './auth.js';
import type { ContainerOps } from './container-ops.js';
import { demuxLogs, ensureImage, toHttpError } from './docker-runtime.js';
import { HttpError, badRequest } from './http-error.js';
import {
  allQuery,
  containerIdParam,
  createContainerBody,
  eventsQuery,
  forceQuery,
  imageRefSchema,
  logsQuery,
  operateContainerBody,
  originalQuery,
  pullImageBody,
  type ImageListItem,
  type PingBody,
} from './models.js';
import { APP_VERSION } from './node-info.js';

export interface AgentAppOptions {
  docker: Docker;
  ops: ContainerOps;
  token: string;
  /** HUMPBACK_AGENT_TOKEN_PREVIOUS: also accepted (and proved) while the token is being rotated. */
  previousToken?: string | undefined;
  /** The `host:port`s the challenge answers for (see ownAddresses in auth.ts). */
  addresses: () => ReadonlySet<string>;
  /** `/nodeinfo`: the node key and fresh node data. */
  nodeInfo: () => Promise<{ key: string; data: NodeData }>;
  log: Logger;
  /** Blank keep-alive lines on `/events` every this many ms. @default 15000 */
  eventsKeepAliveMs?: number | undefined;
  /** @default '1mb' */
  bodyLimit?: string | undefined;
}

/** The route prefixes: Humpback agent v1's `/dockerapi/v2` and the shorter `/v1`. */
export const ROUTE_PREFIXES = ['/v1', '/dockerapi/v2'] as const;

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  if (where === 'body' && value === undefined) {
    throw badRequest('invalid body', 'expected a JSON body sent with Content-Type: application/json');
  }
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const detail = r.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw badRequest(`invalid ${where}`, detail);
}

/** Express 5 keeps repeated query keys as arrays; the agent takes the last one. */
function query(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof last === 'string') out[k] = last;
  }
  return out;
}

function imageParam(req: Request): string {
  const raw = req.params['ref'] as unknown;
  const ref = Array.isArray(raw) ? raw.join('/') : String(raw ?? '');
  return parse(imageRefSchema, ref, 'image');
}

function idParam(req: Request): string {
  return parse(containerIdParam, req.params['id'], 'container id').replace(/^\//, '');
}

async function docker<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toHttpError(err, what);
  }
}

function imageItem(i: Docker.ImageInspectInfo): ImageListItem {
  return {
    Id: i.Id,
    RepoTags: i.RepoTags ?? [],
    RepoDigests: i.RepoDigests ?? [],
    Created: Math.floor(Date.parse(i.Created) / 1000),
    Size: i.Size,
    Labels: i.Config?.Labels ?? null,
  };
}

function routes(o: AgentAppOptions): Router {
  const r = Router();
  const d = o.docker;

  r.get('/ping', async (_req, res) => {
    try {
      const v = await d.version();
      const body: PingBody = { Status: 'ok', AppVersion: APP_VERSION, DockerVersion: v.Version };
      res.json(body);
    } catch (err) {
      throw new HttpError(503, 'Docker Engine unreachable', String((err as Error).message ?? err));
    }
  });
  r.get('/dockerinfo', async (_req, res) => {
    res.json(await docker('docker info', () => d.info()));
  });
  r.get('/dockerversion', async (_req, res) => {
    res.json(await docker('docker version', () => d.version()));
  });
  r.get('/nodeinfo', async (_req, res) => {
    const { key, data } = await docker('node info', o.nodeInfo);
    res.json({ key, ...data });
  });

  // ---- images
  r.get('/images', async (_req, res) => {
    const list = await docker('listing images', () => d.listImages());
    res.json(
      list.map((i): ImageListItem => ({
        Id: i.Id,
        RepoTags: i.RepoTags ?? [],
        RepoDigests: i.RepoDigests ?? [],
        Created: i.Created,
        Size: i.Size,
        Labels: i.Labels ?? null,
      })),
    );
  });
  r.post('/images', async (req, res) => {
    const { Image } = parse(pullImageBody, req.body, 'body');
    await docker(`pulling image ${Image}`, () => ensureImage(d, Image));
    res.json(imageItem(await docker(`image ${Image}`, () => d.getImage(Image).inspect())));
  });
  r.get('/images/*ref', async (req, res) => {
    const ref = imageParam(req);
    res.json(await docker(`image ${ref}`, () => d.getImage(ref).inspect()));
  });
  r.delete('/images/*ref', async (req, res) => {
    const ref = imageParam(req);
    const { force } = parse(forceQuery, query(req), 'query');
    res.json(await docker(`removing image ${ref}`, () => d.getImage(ref).remove({ force })));
  });

  // ---- containers
  r.get('/containers', async (req, res) => {
    const { all } = parse(allQuery, query(req), 'query');
    res.json(await docker('listing containers', () => d.listContainers({ all })));
  });
  r.post('/containers', async (req, res) => {
    const body = parse(createContainerBody, req.body, 'body');
    res.json(await o.ops.create(body));
  });
  r.put('/containers', async (req, res) => {
    const body = parse(operateContainerBody, req.body, 'body');
    res.json(await o.ops.operate({ ...body, Container: body.Container.replace(/^\//, '') }));
  });
  r.get('/containers/stats', async (_req, res) => {
    res.json(await o.ops.allStats());
  });
  r.get('/containers/:id', async (req, res) => {
    const id = idParam(req);
    const { originaldata } = parse(originalQuery, query(req), 'query');
    res.json(originaldata ? await o.ops.inspect(id) : await o.ops.get(id));
  });
  r.get('/containers/:id/status', async (req, res) => {
    const info = await o.ops.inspect(idParam(req));
    res.json({ Id: info.Id, Name: info.Name.replace(/^\//, ''), ...info.State });
  });
  r.get('/containers/:id/logs', async (req, res) => {
    const id = idParam(req);
    const q = parse(logsQuery, query(req), 'query');
    const info = await o.ops.inspect(id);
    const buf = await docker(`logs of container ${id}`, () =>
      d.getContainer(info.Id).logs({
        stdout: true,
        stderr: true,
        follow: false,
        tail: q.tail === undefined || q.tail === 'all' ? 'all' : Number(q.tail),
        ...(q.since ? { since: Number(q.since) } : {}),
      } as Docker.ContainerLogsOptions & { follow: false }),
    );
    const text = demuxLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)), info.Config.Tty);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    res.json(lines);
  });
  r.get('/containers/:id/stats', async (req, res) => {
    res.json(await o.ops.stats(idParam(req)));
  });
  r.delete('/containers/:id', async (req, res) => {
    const id = idParam(req);
    const { force } = parse(forceQuery, query(req), 'query');
    await o.ops.remove(id, force);
    res.json({ Id: id, Removed: true });
  });

  // ---- events
  r.get('/events', async (req, res) => {
    const q = parse(eventsQuery, query(req), 'query');
    const ac = new AbortController();
    const stream = (await docker('docker events', () =>
      d.getEvents({
        ...(q.since ? { since: q.since } : {}),
        ...(q.until ? { until: q.until } : {}),
        filters: { type: ['container'] },
        abortSignal: ac.signal,
      } as Parameters<Docker['getEvents']>[0]),
    )) as NodeJS.ReadableStream;
    res.status(200);
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    let buf = '';
    const keepAlive = setInterval(() => res.write('\n'), o.eventsKeepAliveMs ?? 15_000);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(keepAlive);
      ac.abort();
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      res.end();
    };
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) res.write(`${line}\n`);
      }
    });
    stream.on('end', end);
    stream.on('error', end);
    res.on('close', end);
  });

  return r;
}

/**
 * The express app: the token challenge, then auth, then the routes under both prefixes, JSON errors
 * everywhere.
 */
export function createAgentApp(o: AgentAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const tokens = o.previousToken ? [o.token, o.previousToken] : [o.token];
  // The one route without the token: it proves the agent holds it, without anyone sending it.
  const challenge = answerChallenge({ tokens, addresses: o.addresses });
  const challengeJson = express.json({ limit: '4kb', strict: true });
  for (const prefix of ROUTE_PREFIXES) app.post(`${prefix}${CHALLENGE_PATH}`, challengeJson, challenge);
  app.use(requireToken(tokens));
  app.use(express.json({ limit: o.bodyLimit ?? '1mb', strict: true }));
  const router = routes(o);
  for (const prefix of ROUTE_PREFIXES) app.use(prefix, router);
  app.use((req: Request) => {
    throw new HttpError(404, `no route ${req.method} ${req.path}`);
  });
  const onError: ErrorRequestHandler = (err: unknown, req: Request, res: Response, _next) => {
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
  app.use(onError);
  return app;
}

/** Closes the server, cutting long-lived requests (event streams) after `graceMs`. */
export async function closeServer(server: Server, graceMs = 1000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const t = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(t);
}
