/**
 * The gateway's HTTP server: /healthz, /readyz, /metrics, GraphQL over HTTP (http-server.ts, and
 * http-direct.ts for plain JSON POSTs) and over WebSocket (ws-server.ts) on one port at /graphql, the
 * web UI's routes, and an orderly close.
 */
import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import express, { type Express } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { EventBus } from '../../core/bus.js';
import type { GatewayConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { Services } from '../../core/services.js';
import type { UploadStore } from '../../core/uploads.js';
import { mountUploads } from '../uploads/upload-route.js';
import { buildGatewaySchema } from './build-schema.js';
import { mountVolumeArchive } from '../volumes/archive-route.js';
import { costLimitRule } from './guards.js';
import { directGraphql } from './http-direct.js';
import { errorAnswer, errorHandler, graphqlContext, mountGraphqlHttp, startApollo } from './http-server.js';
import { resolveLimits, type GatewayLimits } from './limits.js';
import { createMetrics, type Metrics } from './metrics.js';
import { registerClusterMetrics } from './cluster-metrics.js';
import { SubscriptionHub } from './subscriptions.js';
import { serveGraphqlOverWs, type GraphqlWs } from './ws-server.js';
import { serveExecSocket, type ExecSocket } from './exec-socket.js';
import type { WsTransportOptions } from './ws-transport.js';

export { WS_CLOSE } from './ws-server.js';
export { MAX_VALIDATION_ERRORS, resolveLimits, type GatewayLimits, type Limits } from './limits.js';

export interface GatewayServerOptions {
  config: Pick<GatewayConfig, 'listen' | 'development'>;
  services: Services;
  bus: EventBus;
  logger: Logger;
  /** What /readyz reports: ready when it returns true. @default always ready while listening */
  readiness?: (() => boolean | Promise<boolean>) | undefined;
  limits?: GatewayLimits | undefined;
  /**
   * Origins (scheme://host:port) whose browser pages may open graphql-ws connections; a connection
   * from any other Origin is closed with 4403. Connections without an Origin header (non-browser
   * clients) and same-origin pages are always allowed. `'*'` allows every origin.
   * @default [] ('*' when config.development)
   */
  allowedOrigins?: readonly string[] | '*' | undefined;
  /** Serves `POST /uploads` into this store. @default no upload route */
  uploads?: UploadStore | undefined;
  /** Mounts more routes (the web UI's static files) after the API routes. */
  configureApp?: ((app: Express) => void) | undefined;
  /** graphql-ws transport tuning (write coalescing, keep-alive, slow clients). */
  ws?: Omit<WsTransportOptions, 'logger' | 'maxMessageDepth' | 'tooDeep'> | undefined;
  /** Closes a console (exec) WebSocket idle this long. @default 900000 (15 min) */
  execIdleMs?: number | undefined;
  /** How long close() waits for in-flight HTTP requests. @default 10000 */
  drainMillis?: number | undefined;
  /**
   * How often every open graphql-ws connection is checked again (gateway/graphql/ws-sessions.ts): closed with
   * 4401 when its token expired or its user was deleted, with 4403 when the viewer's access changed,
   * even if it only listens. @default 30000
   */
  authRecheckMillis?: number | undefined;
  /** The gateway's metrics, when the caller feeds some of them too. @default new ones */
  metrics?: Metrics | undefined;
}

export interface GatewayServer {
  httpServer: http.Server;
  /** The GraphQL endpoint, e.g. http://127.0.0.1:8100/graphql. */
  url: string;
  app: Express;
  schema: GraphQLSchema;
  hub: SubscriptionHub;
  /** Drains: /readyz turns 503, WebSocket clients get 1001, in-flight requests finish, then it stops. */
  close(): Promise<void>;
}

type Phase = 'starting' | 'serving' | 'draining';

/** /healthz (the process answers), /readyz (serving and ready) and /metrics. */
function probeRoutes(
  app: Express,
  phase: () => Phase,
  readiness: GatewayServerOptions['readiness'],
  metrics: Metrics,
  logger: Logger,
  beforeScrape: () => void,
): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    let ready = phase() === 'serving';
    if (ready && readiness) {
      try {
        ready = await readiness();
      } catch (err) {
        logger.warn({ err }, 'readiness check failed');
        ready = false;
      }
    }
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : phase() === 'draining' ? 'draining' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    beforeScrape();
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/** WebSocket upgrades by path: graphql-ws at /graphql, the console at /exec/<id>; others get 400. */
function routeUpgrades(httpServer: http.Server, graphql: GraphqlWs, exec: ExecSocket): void {
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === '/graphql') graphql.handleUpgrade(req, socket, head);
    else if (path.startsWith('/exec/')) exec.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
}

/** Listens; the GraphQL endpoint's URL. */
async function listen(httpServer: http.Server, at: GatewayConfig['listen'], logger: Logger): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(at.port, at.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/graphql`;
  logger.info({ url }, 'gateway listening');
  return url;
}

/** Starts Apollo Server (HTTP) and graphql-ws (WebSocket) on one port, at /graphql. */
export async function createGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const { config, services, bus, logger } = options;
  const limits = resolveLimits(options.limits);
  const mask = { development: config.development, logger };
  const schema = await buildGatewaySchema();
  const hub = new SubscriptionHub(bus, logger);
  await hub.start();
  const metrics = options.metrics ?? createMetrics();
  registerClusterMetrics(metrics.registry, services);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // hashing every GraphQL answer buys nothing: POST responses are not cached
  // requests are routed once Apollo runs (below), before the server listens
  const httpServer = http.createServer();
  // Idle keep-alive connections are the client's (or its load balancer's) to close: with Node's 5 s
  // default the gateway could close one just as a busy client sends its next request on it (a reset
  // the client cannot tell from a failure). Clients keep them idle for less (undici 4 s, ALB 60 s).
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  let phase: Phase = 'starting';

  const deps = { config, schema, services, hub, logger, limits, mask, metrics, httpServer };
  const validationRules = [costLimitRule(limits)];
  const ws = serveGraphqlOverWs({
    ...deps,
    validationRules,
    allowedOrigins: options.allowedOrigins ?? (config.development ? '*' : []),
    authRecheckMillis: options.authRecheckMillis ?? 30_000,
    ws: options.ws,
  });
  const exec = serveExecSocket({ services, logger, idleMs: options.execIdleMs });
  routeUpgrades(httpServer, ws, exec);
  probeRoutes(
    app,
    () => phase,
    options.readiness,
    metrics,
    logger,
    () => metrics.subscriptionExecutions.set(ws.shared.size),
  );
  const apollo = await startApollo({
    ...deps,
    validationRules,
    drainMillis: options.drainMillis ?? 10_000,
    drainWs: () => ws.dispose(),
  });
  mountGraphqlHttp(app, apollo, deps);
  // POST /graphql with a plain JSON body skips express (http-direct.ts)
  const direct = directGraphql({
    apollo,
    limits,
    context: graphqlContext(deps),
    errorAnswer: errorAnswer(logger, limits.maxBodyBytes),
  });
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!direct(req, res)) app(req, res);
  });
  mountVolumeArchive(app, { services, logger });
  if (options.uploads) mountUploads(app, { uploads: options.uploads, auth: services.auth, logger });
  options.configureApp?.(app);
  app.use(errorHandler(logger, limits.maxBodyBytes));

  const url = await listen(httpServer, config.listen, logger);
  phase = 'serving';
  let closing: Promise<void> | undefined;
  return {
    httpServer,
    url,
    app,
    schema,
    hub,
    close() {
      closing ??= (async () => {
        phase = 'draining';
        ws.sessions.stop();
        exec.close();
        await apollo.stop(); // drains WebSockets (1001) and HTTP, then closes the server
        await hub.close();
      })();
      return closing;
    },
  };
}
