/**
 * GraphQL over HTTP: Apollo Server with the gateway's limits, masking and metrics, mounted at
 * /graphql on the express app, and the app's last-resort error handler.
 */
import { ApolloServer, type ApolloServerOptionsWithGateway, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type http from 'node:http';
import express, { type Express } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Logger } from '../../core/logger.js';
import { bearerToken, createContext, type GatewayContext } from '../../resolvers/context.js';
import { clientAddress } from './client-ip.js';
import { jsonNestsDeeper } from './cost.js';
import { createQueryExecutor } from './executor.js';
import { stringifyResult } from './list-json.js';
import {
  complexityError,
  documentSizeError,
  formatError,
  variablesError,
  variablesTooDeep,
  withHttpStatus,
} from './guards.js';
import { MAX_VALIDATION_ERRORS, type Limits, type TransportDeps } from './limits.js';
import { metricsPlugin } from './metrics.js';

export interface HttpDeps extends TransportDeps {
  drainMillis: number;
  /** Runs when Apollo drains: closes the WebSocket side first. */
  drainWs: () => Promise<void>;
}

/** Apollo Server, started. */
export async function startApollo(d: HttpDeps): Promise<ApolloServer<GatewayContext>> {
  const apollo = new ApolloServer<GatewayContext>({
    // Apollo still parses, validates (with our rules), runs the plugins and formats errors; only
    // execution goes to the query executor (graphql-jit for repeated queries).
    gateway: localExecutor(d.schema, createQueryExecutor(d.schema)),
    // the executor leaves some lists as JSON text (list-json.ts)
    stringifyResult,
    // our own shutdown (gateway/main.ts) handles SIGINT/SIGTERM in order
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    introspection: true,
    includeStacktraceInErrorResponses: d.config.development,
    parseOptions: { maxTokens: d.limits.maxTokens },
    validationRules: d.validationRules,
    validationOptions: { maxErrors: MAX_VALIDATION_ERRORS },
    formatError: (formatted, error) => formatError(formatted, error, d.mask),
    plugins: [
      // cache hints are not used, and the plugin instruments every field resolution
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer: d.httpServer, stopGracePeriodMillis: d.drainMillis }),
      { serverWillStart: async () => ({ drainServer: d.drainWs }) },
      limitsPlugin(d.limits),
      metricsPlugin(d.metrics),
    ],
  });
  await apollo.start();
  return apollo;
}

/** Mounts Apollo at /graphql: body parsing with the size and nesting limits, then Apollo. */
export function mountGraphqlHttp(
  app: Express,
  apollo: ApolloServer<GatewayContext>,
  d: Pick<HttpDeps, 'config' | 'services' | 'hub' | 'logger' | 'limits'> & { config: object },
): void {
  const { limits } = d;
  const context = graphqlContext(d);
  app.use(
    '/graphql',
    express.json({
      limit: limits.maxBodyBytes,
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
    expressMiddleware(apollo, { context: ({ req }) => context(req) }),
  );
}

/**
 * The context of one GraphQL request over HTTP (the express route's and http-direct.ts's). The
 * scheme is the connection's, as express's req.protocol without 'trust proxy' (the gateway never
 * sets it).
 */
export function graphqlContext(
  d: Pick<HttpDeps, 'services' | 'hub' | 'logger'> & { config: object },
): (req: http.IncomingMessage) => Promise<GatewayContext> {
  return async (req) => {
    const token = bearerToken(req.headers.authorization);
    const viewer = token ? await d.services.auth.verify(token) : undefined;
    const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    return createContext({
      viewer,
      services: d.services,
      hub: d.hub,
      clientKey: clientAddress(req, d.config),
      logger: d.logger,
      baseUrl: `${scheme}://${req.headers.host ?? 'localhost'}`,
    });
  };
}

/** The app's last handler: body-parser and route errors as GraphQL-shaped JSON with a code. */
export function errorHandler(logger: Logger, maxBodyBytes: number): express.ErrorRequestHandler {
  const answer = errorAnswer(logger, maxBodyBytes);
  return (err: Error & { status?: number; type?: string }, _req, res, next) => {
    if (res.headersSent) return next(err);
    const { status, body } = answer(err);
    res.status(status).json(body);
  };
}

/** The status and JSON body errorHandler answers an error with (http-direct.ts answers the same). */
export function errorAnswer(
  logger: Logger,
  maxBodyBytes: number,
): (err: Error & { status?: number }) => { status: number; body: unknown } {
  return (err) => {
    if (err instanceof GraphQLError) {
      return { status: 400, body: { errors: [{ message: err.message, extensions: err.extensions }] } };
    }
    const status = err.status ?? 500;
    if (status >= 500) logger.error({ err }, 'http request failed');
    return {
      status,
      body: {
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
      },
    };
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
