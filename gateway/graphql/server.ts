import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerOptionsWithGateway, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import {
  execute as graphqlExecute,
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  subscribe as graphqlSubscribe,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, makeServer, type Context as WsContext } from 'graphql-ws';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WebSocketServer } from 'ws';
import type { EventBus } from '../../core/bus.js';
import type { GatewayConfig } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Services, Viewer } from '../../core/services.js';
import { bearerToken, createContext, type GatewayContext } from '../../resolvers/context.js';
import { buildGatewaySchema } from './build-schema.js';
import { clientAddress } from './client-ip.js';
import { jsonNestsDeeper } from './cost.js';
import { createQueryExecutor } from './executor.js';
import {
  clientError,
  complexityError,
  costLimitRule,
  documentSizeError,
  formatError,
  maskResult,
  variablesError,
  variablesTooDeep,
  withCode,
  withHttpStatus,
} from './guards.js';
import { SharedSubscriptions, SubscriptionHub, type SubscriptionSink } from './subscriptions.js';
import { WsSessions } from './ws-sessions.js';
import { rawPayload, serveGraphqlWs, type WsExtra, type WsTransportOptions } from './ws-transport.js';

/** graphql-ws close codes beyond the library's own. */
export const WS_CLOSE = {
  /** Missing, bad or expired token in connectionParams.authorization. */
  unauthorized: 4401,
  /** The connection is not allowed (e.g. a browser page from a foreign origin). */
  forbidden: CloseCode.Forbidden,
} as const;

/**
 * What one GraphQL request may ask, on HTTP and graphql-ws alike. Everything but the complexity is
 * checked before anything in the document runs, in time linear in the request, so that no request
 * costs more than a few milliseconds before it is refused; refusals say which limit they met.
 */
export interface GatewayLimits {
  /** Deepest field nesting an operation may have. @default 10 */
  maxDepth?: number | undefined;
  /** Highest complexity an operation may have (see the `complexity` options in resolvers/). @default 10000 */
  maxComplexity?: number | undefined;
  /**
   * Largest HTTP body and WebSocket message, in bytes: a query text and its variables fit in far less,
   * and JSON.parse of a large body alone takes milliseconds. @default 262144
   */
  maxBodyBytes?: number | undefined;
  /** Longest query text, in bytes (UTF-8). @default 32768 */
  maxDocumentBytes?: number | undefined;
  /** Most tokens (names, punctuation, values; comments do not count) a query text may have. @default 1000 */
  maxTokens?: number | undefined;
  /** Most selections a document may make with every fragment spread expanded in place. @default 1000 */
  maxSelections?: number | undefined;
  /**
   * Most pairs of fields answering at the same place in the response (`me { id id }` is one pair,
   * three fragments that each ask `me { id }` make three): validation compares each pair. @default 1000
   */
  maxFieldMerges?: number | undefined;
  /** Most operations one document may hold (a request runs one of them). @default 20 */
  maxOperations?: number | undefined;
  /** Deepest nesting of objects and arrays in an operation's variables. @default 16 */
  maxVariablesDepth?: number | undefined;
  /** Largest variables of one operation, in bytes of JSON. @default 65536 */
  maxVariablesBytes?: number | undefined;
  /** Most operations one graphql-ws connection may run at once; more are refused one by one. @default 100 */
  maxOperationsPerSocket?: number | undefined;
}

export type Limits = { [K in keyof GatewayLimits]-?: number };

/** The limits with their defaults filled in. */
export function resolveLimits(given: GatewayLimits = {}): Limits {
  return {
    maxDepth: given.maxDepth ?? 10,
    maxComplexity: given.maxComplexity ?? 10_000,
    maxBodyBytes: given.maxBodyBytes ?? 256 * 1024,
    maxDocumentBytes: given.maxDocumentBytes ?? 32 * 1024,
    maxTokens: given.maxTokens ?? 1000,
    maxSelections: given.maxSelections ?? 1000,
    maxFieldMerges: given.maxFieldMerges ?? 1000,
    maxOperations: given.maxOperations ?? 20,
    maxVariablesDepth: given.maxVariablesDepth ?? 16,
    maxVariablesBytes: given.maxVariablesBytes ?? 64 * 1024,
    maxOperationsPerSocket: given.maxOperationsPerSocket ?? 100,
  };
}

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
  /** Mounts more routes (the web UI's static files) after the API routes. */
  configureApp?: ((app: Express) => void) | undefined;
  /** graphql-ws transport tuning (write coalescing, keep-alive, slow clients). */
  ws?: Omit<WsTransportOptions, 'logger' | 'maxMessageDepth' | 'tooDeep'> | undefined;
  /** How long close() waits for in-flight HTTP requests. @default 10000 */
  drainMillis?: number | undefined;
  /**
   * How often every open graphql-ws connection is checked again (gateway/graphql/ws-sessions.ts): closed with
   * 4401 when its token expired or its user was deleted, with 4403 when the viewer's access changed,
   * even if it only listens. @default 30000
   */
  authRecheckMillis?: number | undefined;
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

/** Validation stops after this many errors (each costs a scan of the document for its location). */
export const MAX_VALIDATION_ERRORS = 10;

const SHARE_KEY = Symbol('humpback.shareKey');
const SINK = Symbol('humpback.sink');
type SharedExecutionArgs = ExecutionArgs & { [SHARE_KEY]?: string; [SINK]?: SubscriptionSink };

/** Starts Apollo Server (HTTP) and graphql-ws (WebSocket) on one port, at /graphql. */
export async function createGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const { config, services, bus, logger } = options;
  const limits = resolveLimits(options.limits);
  const { maxComplexity, maxBodyBytes } = limits;
  const allowedOrigins = options.allowedOrigins ?? (config.development ? '*' : []);
  const mask = { development: config.development, logger };
  const validationRules = [costLimitRule(limits)];

  const schema = await buildGatewaySchema();
  const hub = new SubscriptionHub(bus, logger);
  await hub.start();

  const metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // hashing every GraphQL answer buys nothing: POST responses are not cached
  const httpServer = http.createServer(app);
  let phase: 'starting' | 'serving' | 'draining' = 'starting';

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    let ready = phase === 'serving';
    if (ready && options.readiness) {
      try {
        ready = await options.readiness();
      } catch (err) {
        logger.warn({ err }, 'readiness check failed');
        ready = false;
      }
    }
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : phase === 'draining' ? 'draining' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    metrics.subscriptionExecutions.set(shared.size);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // ---- WebSocket: graphql-ws --------------------------------------------------------------
  const shared = new SharedSubscriptions(
    (args) => graphqlSubscribe(args) as ReturnType<ConstructorParameters<typeof SharedSubscriptions>[0]>,
    (result) => maskResult(result, mask),
    logger,
  );
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: maxBodyBytes });
  const wsContext = (extra: WsExtra): GatewayContext =>
    createContext({
      viewer: extra['viewer'] as Viewer | undefined,
      services,
      hub,
      clientKey: clientAddress(extra.request, config),
      logger,
    });
  const originAllowed = (request: http.IncomingMessage): boolean => {
    const origin = request.headers.origin;
    if (!origin || allowedOrigins === '*') return true;
    if (allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  };
  const sessions = new WsSessions(services, options.authRecheckMillis ?? 30_000, logger);
  const wsCleanup = serveGraphqlWs(
    makeServer<Record<string, unknown> | undefined, WsExtra>({
      schema,
      onConnect: async (ctx: WsContext<Record<string, unknown> | undefined, WsExtra>) => {
        if (!originAllowed(ctx.extra.request)) return false; // graphql-ws closes with 4403
        const raw = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
        const token = bearerToken(typeof raw === 'string' ? raw : undefined);
        const viewer = token ? await services.auth.verify(token) : undefined;
        if (!token || !viewer) {
          ctx.extra.socket.close(WS_CLOSE.unauthorized, 'Unauthorized');
          return false;
        }
        ctx.extra['viewer'] = viewer;
        ctx.extra['token'] = token;
        await sessions.open(ctx.extra.socket, token, viewer);
        metrics.wsConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        sessions.closed(ctx.extra.socket);
        if (ctx.extra['viewer']) metrics.wsConnections.dec();
      },
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws has registered this operation already, beside every other one still running on the
        // socket (it forgets each when it completes, is completed by the client or fails)
        if (Object.keys(ctx.subscriptions).length > limits.maxOperationsPerSocket) {
          return [
            clientError(
              ErrorCode.RATE_LIMITED,
              `at most ${limits.maxOperationsPerSocket} operations may run at once on one connection; ` +
                'complete one first',
              { maxOperationsPerSocket: limits.maxOperationsPerSocket },
            ),
          ];
        }
        // A connection outlives its token: each new operation re-checks it (cached, so cheap).
        const token = ctx.extra['token'];
        const current = typeof token === 'string' ? await services.auth.verify(token) : undefined;
        if (!current) {
          ctx.extra.socket.close(WS_CLOSE.unauthorized, 'Token expired');
          return [
            new GraphQLError('token expired: log in again', { extensions: { code: 'UNAUTHENTICATED' } }),
          ];
        }
        ctx.extra['viewer'] = current;
        const tooLarge =
          documentSizeError(payload.query, limits.maxDocumentBytes) ??
          variablesError(payload.variables, {
            maxDepth: limits.maxVariablesDepth,
            maxBytes: limits.maxVariablesBytes,
          });
        if (tooLarge) return [tooLarge];
        let document;
        try {
          document = parse(payload.query, { maxTokens: limits.maxTokens });
        } catch (err) {
          return [
            withCode(
              err instanceof GraphQLError ? err : new GraphQLError(String(err)),
              'GRAPHQL_PARSE_FAILED',
            ),
          ];
        }
        const errors = validate(schema, document, [...specifiedRules, ...validationRules], {
          maxErrors: MAX_VALIDATION_ERRORS,
        });
        if (errors.length > 0) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
        if (!getOperationAST(document, payload.operationName)) {
          return [
            new GraphQLError(
              payload.operationName
                ? `Unknown operation named "${payload.operationName}".`
                : 'Must provide operation name if query contains multiple operations.',
              { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } },
            ),
          ];
        }
        const tooComplex = complexityError({
          schema,
          document,
          operationName: payload.operationName,
          variables: payload.variables,
          max: maxComplexity,
        });
        if (tooComplex) return [tooComplex];
        const viewer = ctx.extra['viewer'] as Viewer | undefined;
        const args: SharedExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: wsContext(ctx.extra),
        };
        // Clients with the same document, variables and access scope share one execution.
        args[SHARE_KEY] = JSON.stringify([
          viewer?.admin ? '*' : (viewer?.userId ?? ''),
          payload.operationName ?? null,
          payload.variables ?? null,
          payload.query,
        ]);
        // Results of the shared execution go straight to the socket, serialised once for all clients.
        const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
        const sendRaw = ctx.extra.sendRaw;
        args[SINK] = {
          next: (_result, json) => {
            metrics.deliveries.inc();
            sendRaw(`${prefix}${json}}`);
          },
        };
        return args;
      },
      execute: async (args) => {
        metrics.operations.inc({ transport: 'ws', type: 'execute' });
        return maskResult(await graphqlExecute(args), mask);
      },
      subscribe: async (args: SharedExecutionArgs) => {
        metrics.operations.inc({ transport: 'ws', type: 'subscribe' });
        const key = args[SHARE_KEY];
        if (key === undefined) return maskResult((await graphqlSubscribe(args)) as ExecutionResult, mask);
        return shared.subscribe(key, args, args[SINK]);
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        metrics.deliveries.inc();
        return rawPayload(ctx.extra, result);
      },
    }),
    wsServer,
    {
      ...options.ws,
      logger,
      // the message, its payload and `variables` sit above the variables' own levels
      maxMessageDepth: limits.maxVariablesDepth + 3,
      tooDeep: (extra) =>
        extra['viewer'] ? [variablesTooDeep(limits.maxVariablesDepth).toJSON()] : undefined,
    },
  );

  // ---- HTTP: Apollo Server ----------------------------------------------------------------
  const apollo = new ApolloServer<GatewayContext>({
    // Apollo still parses, validates (with our rules), runs the plugins and formats errors; only
    // execution goes to the query executor (graphql-jit for repeated queries).
    gateway: localExecutor(schema, createQueryExecutor(schema)),
    // our own shutdown (gateway/main.ts) handles SIGINT/SIGTERM in order
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    introspection: true,
    includeStacktraceInErrorResponses: config.development,
    parseOptions: { maxTokens: limits.maxTokens },
    validationRules,
    validationOptions: { maxErrors: MAX_VALIDATION_ERRORS },
    formatError: (formatted, error) => formatError(formatted, error, mask),
    plugins: [
      // cache hints are not used, and the plugin instruments every field resolution
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: options.drainMillis ?? 10_000 }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
      limitsPlugin(limits),
      metricsPlugin(metrics),
    ],
  });
  await apollo.start();

  app.use(
    '/graphql',
    express.json({
      limit: maxBodyBytes,
      // the body object and `variables` sit above the variables' own levels
      verify: (_req, _res, body) => {
        if (jsonNestsDeeper(body, limits.maxVariablesDepth + 2)) {
          throw Object.assign(variablesTooDeep(limits.maxVariablesDepth), { status: 400 });
        }
      },
    }),
    (req, res, next) => {
      // express 5 leaves req.body unset for bodies it did not parse; Apollo wants the property to exist
      // so it can answer (CSRF refusal, "bad request") itself.
      if (!('body' in req)) (req as { body?: unknown }).body = undefined;
      // The query text's size, before Apollo parses it (a hook of Apollo's that throws there makes a 500).
      const query =
        req.method === 'GET' ? req.query['query'] : (req.body as { query?: unknown } | undefined)?.query;
      const tooLong =
        typeof query === 'string' ? documentSizeError(query, limits.maxDocumentBytes) : undefined;
      if (tooLong) {
        res.status(400).json({ errors: [{ message: tooLong.message, extensions: tooLong.extensions }] });
        return;
      }
      next();
    },
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const token = bearerToken(req.headers.authorization);
        const viewer = token ? await services.auth.verify(token) : undefined;
        return createContext({
          viewer,
          services,
          hub,
          clientKey: clientAddress(req, config),
          logger,
        });
      },
    }),
  );
  options.configureApp?.(app);
  app.use(
    (
      err: Error & { status?: number; type?: string },
      _req: express.Request,
      res: express.Response,
      next: express.NextFunction,
    ) => {
      if (res.headersSent) return next(err);
      if (err instanceof GraphQLError) {
        res.status(400).json({ errors: [{ message: err.message, extensions: err.extensions }] });
        return;
      }
      const status = err.status ?? 500;
      if (status >= 500) logger.error({ err }, 'http request failed');
      res.status(status).json({
        errors: [
          {
            message:
              status === 413
                ? `request body larger than ${maxBodyBytes} bytes`
                : status < 500
                  ? err.message
                  : 'Internal server error',
            extensions: { code: status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR' },
          },
        ],
      });
    },
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.listen.port, config.listen.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  phase = 'serving';
  const address = httpServer.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/graphql`;
  logger.info({ url }, 'gateway listening');

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
        sessions.stop();
        await apollo.stop(); // drains WebSockets (1001) and HTTP, then closes the server
        await hub.close();
      })();
      return closing;
    },
  };
}

/**
 * Apollo Server's hook for running operations elsewhere ("gateway" mode) used for a fixed local
 * schema: the executor receives the document Apollo parsed and validated.
 */
function localExecutor(
  schema: GraphQLSchema,
  execute: ReturnType<typeof createQueryExecutor>,
): ApolloServerOptionsWithGateway<GatewayContext>['gateway'] {
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    async load() {
      return {
        executor: (requestContext) =>
          execute({
            document: requestContext.document,
            operation: requestContext.operation,
            operationName: requestContext.request.operationName,
            variables: requestContext.request.variables,
            contextValue: requestContext.context,
          }),
      };
    },
    async stop() {},
  };
}

interface Metrics {
  registry: Registry;
  operations: Counter<'transport' | 'type'>;
  durations: Histogram<'type' | 'outcome'>;
  wsConnections: Gauge;
  deliveries: Counter;
  subscriptionExecutions: Gauge;
}

function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'humpback_' });
  return {
    registry,
    operations: new Counter({
      name: 'humpback_graphql_operations_total',
      help: 'GraphQL operations started, by transport and kind',
      labelNames: ['transport', 'type'],
      registers: [registry],
    }),
    durations: new Histogram({
      name: 'humpback_graphql_request_duration_seconds',
      help: 'HTTP GraphQL request duration, by operation type and outcome',
      labelNames: ['type', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'humpback_ws_connections',
      help: 'Authenticated graphql-ws connections',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'humpback_subscription_deliveries_total',
      help: 'Subscription results sent to graphql-ws clients',
      registers: [registry],
    }),
    subscriptionExecutions: new Gauge({
      name: 'humpback_subscription_executions',
      help: 'Distinct subscription executions shared by the connected clients',
      registers: [registry],
    }),
  };
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      metrics.operations.inc({ transport: 'http', type: 'request' });
      return {
        async willSendResponse(requestContext) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const type = requestContext.operation?.operation ?? 'unknown';
          const outcome = requestContext.errors?.length ? 'error' : 'ok';
          metrics.durations.observe({ type, outcome }, seconds);
        },
      };
    },
  };
}

/**
 * The limits Apollo does not check itself (it parses with `maxTokens` and validates with
 * costLimitRule; the query text's size is checked before Apollo sees it): the variables and the
 * complexity, before the operation runs. Apollo answers an error thrown in didResolveOperation with
 * formatError and the error's status.
 */
function limitsPlugin(limits: Limits): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          const error =
            variablesError(request.variables, {
              maxDepth: limits.maxVariablesDepth,
              maxBytes: limits.maxVariablesBytes,
            }) ??
            complexityError({
              schema,
              document,
              operationName: request.operationName,
              variables: request.variables,
              max: limits.maxComplexity,
            });
          if (error) throw withHttpStatus(error, 400);
        },
      };
    },
  };
}
