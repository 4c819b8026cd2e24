/**
 * GraphQL over WebSocket (graphql-ws): who may connect, the same limits as HTTP before an operation
 * runs, and subscriptions shared by clients with the same document, variables and access.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  execute as graphqlExecute,
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  subscribe as graphqlSubscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { CloseCode, makeServer, type Context as WsContext, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import { ErrorCode } from '../../core/errors.js';
import type { Viewer } from '../../core/services.js';
import { bearerToken, createContext, type GatewayContext } from '../../resolvers/context.js';
import { clientAddress } from './client-ip.js';
import {
  clientError,
  complexityError,
  documentSizeError,
  maskResult,
  variablesError,
  variablesTooDeep,
  withCode,
} from './guards.js';
import { MAX_VALIDATION_ERRORS, type TransportDeps } from './limits.js';
import {
  SharedSubscriptions,
  variablesOnlyChooseEvents,
  type SharedResult,
  type SubscriptionSink,
} from './subscriptions.js';
import { WsSessions } from './ws-sessions.js';
import {
  rawPayload,
  serveGraphqlWs,
  textFrame,
  type WsExtra,
  type WsTransportOptions,
} from './ws-transport.js';

/** graphql-ws close codes beyond the library's own. */
export const WS_CLOSE = {
  /** Missing, bad or expired token in connectionParams.authorization. */
  unauthorized: 4401,
  /** The connection is not allowed (e.g. a browser page from a foreign origin). */
  forbidden: CloseCode.Forbidden,
} as const;

export interface WsDeps extends TransportDeps {
  allowedOrigins: readonly string[] | '*';
  authRecheckMillis: number;
  ws?: Omit<WsTransportOptions, 'logger' | 'maxMessageDepth' | 'tooDeep'> | undefined;
}

export interface GraphqlWs {
  shared: SharedSubscriptions;
  sessions: WsSessions;
  /** Takes an upgrade request for /graphql. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection (1001) and the WebSocket server. */
  dispose(): Promise<void>;
}

const SHARE_KEY = Symbol('humpback.shareKey');
const SINK = Symbol('humpback.sink');
const RESULT_KEY = Symbol('humpback.resultKey');
type SharedExecutionArgs = ExecutionArgs & {
  [SHARE_KEY]?: string;
  [SINK]?: SubscriptionSink;
  [RESULT_KEY]?: string;
};
type Ctx = WsContext<Record<string, unknown> | undefined, WsExtra>;

/** Serves graphql-ws at /graphql on the HTTP server. */
export function serveGraphqlOverWs(d: WsDeps): GraphqlWs {
  const { services, metrics, limits, mask } = d;
  const shared = new SharedSubscriptions(
    (args) => graphqlSubscribe(args) as ReturnType<ConstructorParameters<typeof SharedSubscriptions>[0]>,
    (result) => maskResult(result, mask),
    d.logger,
    (count) => metrics.deliveries.inc(count),
  );
  const sessions = new WsSessions(services, d.authRecheckMillis, d.logger);
  const documents = new DocumentCache();
  // The HTTP server's upgrades are routed by path in server.ts (/graphql here, /exec/ the console).
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: limits.maxBodyBytes });
  const cleanup = serveGraphqlWs(
    makeServer<Record<string, unknown> | undefined, WsExtra>({
      schema: d.schema,
      onConnect: (ctx) => connect(d, sessions, ctx),
      onClose: (ctx) => {
        sessions.closed(ctx.extra.socket);
        if (ctx.extra['viewer']) metrics.wsConnections.dec();
      },
      onSubscribe: async (ctx, id, payload) => {
        const checked = await checkOperation(d, ctx, payload, documents);
        return 'kind' in checked ? sharedArgs(d, ctx, id, payload, checked) : checked;
      },
      execute: async (args) => {
        metrics.operations.inc({ transport: 'ws', type: 'execute' });
        return maskResult(await graphqlExecute(args), mask);
      },
      subscribe: async (args: SharedExecutionArgs) => {
        metrics.operations.inc({ transport: 'ws', type: 'subscribe' });
        const key = args[SHARE_KEY];
        if (key === undefined) return maskResult((await graphqlSubscribe(args)) as ExecutionResult, mask);
        return shared.subscribe(key, args, args[SINK], args[RESULT_KEY]);
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        metrics.deliveries.inc();
        return rawPayload(ctx.extra, result);
      },
    }),
    wsServer,
    {
      ...d.ws,
      logger: d.logger,
      // the message, its payload and `variables` sit above the variables' own levels
      maxMessageDepth: limits.maxVariablesDepth + 3,
      tooDeep: (extra) =>
        extra['viewer'] ? [variablesTooDeep(limits.maxVariablesDepth).toJSON()] : undefined,
    },
  );
  return {
    shared,
    sessions,
    handleUpgrade: (req, socket, head) =>
      wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req)),
    dispose: () => cleanup.dispose(),
  };
}

function originAllowed(request: http.IncomingMessage, allowed: readonly string[] | '*'): boolean {
  const origin = request.headers.origin;
  if (!origin || allowed === '*') return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** A connection needs an allowed origin and a valid token; it is then checked again now and then. */
async function connect(d: WsDeps, sessions: WsSessions, ctx: Ctx): Promise<boolean> {
  if (!originAllowed(ctx.extra.request, d.allowedOrigins)) return false; // graphql-ws closes with 4403
  const raw = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
  const token = bearerToken(typeof raw === 'string' ? raw : undefined);
  const viewer = token ? await d.services.auth.verify(token) : undefined;
  if (!token || !viewer) {
    ctx.extra.socket.close(WS_CLOSE.unauthorized, 'Unauthorized');
    return false;
  }
  ctx.extra['viewer'] = viewer;
  ctx.extra['token'] = token;
  await sessions.open(ctx.extra.socket, token, viewer);
  d.metrics.wsConnections.inc();
  return true;
}

/**
 * Everything an operation must pass before it runs, as on HTTP: the socket's operation count, a token
 * still valid, sizes, parsing, validation, an operation to run, complexity. The parsed document, or
 * the errors to answer.
 */
async function checkOperation(
  d: WsDeps,
  ctx: Ctx,
  payload: SubscribePayload,
  documents: DocumentCache,
): Promise<DocumentNode | readonly GraphQLError[]> {
  const { limits } = d;
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
  const current = typeof token === 'string' ? await d.services.auth.verify(token) : undefined;
  if (!current) {
    ctx.extra.socket.close(WS_CLOSE.unauthorized, 'Token expired');
    return [new GraphQLError('token expired: log in again', { extensions: { code: 'UNAUTHENTICATED' } })];
  }
  ctx.extra['viewer'] = current;
  const tooLarge =
    documentSizeError(payload.query, limits.maxDocumentBytes) ??
    variablesError(payload.variables, {
      maxDepth: limits.maxVariablesDepth,
      maxBytes: limits.maxVariablesBytes,
    });
  if (tooLarge) return [tooLarge];
  const checked = documents.get(payload.query) ?? parseAndValidate(d, payload.query, documents);
  if (!('kind' in checked)) return checked;
  const document = checked;
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
    schema: d.schema,
    document,
    operationName: payload.operationName,
    variables: payload.variables,
    max: limits.maxComplexity,
  });
  return tooComplex ? [tooComplex] : document;
}

/**
 * Valid documents by their text: thousands of clients subscribing with the same document share one
 * parsed, validated AST (about 10 KiB each, tokens and locations) instead of holding a copy each. The
 * validation rules are the server's and do not depend on the viewer, so a valid text stays valid.
 */
class DocumentCache {
  private readonly valid = new Map<string, DocumentNode>();

  constructor(private readonly max = 500) {}

  get(text: string): DocumentNode | undefined {
    return this.valid.get(text);
  }

  set(text: string, document: DocumentNode): void {
    if (this.valid.size >= this.max) this.valid.delete(this.valid.keys().next().value as string);
    this.valid.set(text, document);
  }
}

function parseAndValidate(
  d: WsDeps,
  text: string,
  documents: DocumentCache,
): DocumentNode | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(text, { maxTokens: d.limits.maxTokens });
  } catch (err) {
    return [
      withCode(err instanceof GraphQLError ? err : new GraphQLError(String(err)), 'GRAPHQL_PARSE_FAILED'),
    ];
  }
  const errors = validate(d.schema, document, [...specifiedRules, ...d.validationRules], {
    maxErrors: MAX_VALIDATION_ERRORS,
  });
  if (errors.length > 0) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
  documents.set(text, document);
  return document;
}

/**
 * The execution arguments, with what lets clients of the same document, variables and access scope
 * share one execution whose results go straight to each socket, serialised once for all of them.
 */
function sharedArgs(
  d: WsDeps,
  ctx: Ctx,
  id: string,
  payload: SubscribePayload,
  document: DocumentNode,
): SharedExecutionArgs {
  const viewer = ctx.extra['viewer'] as Viewer | undefined;
  const contextValue: GatewayContext = createContext({
    viewer,
    services: d.services,
    hub: d.hub,
    clientKey: clientAddress(ctx.extra.request, d.config),
    logger: d.logger,
    baseUrl: `${'encrypted' in ctx.extra.request.socket ? 'https' : 'http'}://${ctx.extra.request.headers.host ?? 'localhost'}`,
  });
  const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  const sendFrame = ctx.extra.sendFrame;
  const frameOf = (json: string): Buffer => textFrame(`${prefix}${json}}`);
  // whose results these are: every admin's the same, a user's their own
  const scope = viewer?.admin ? '*' : (viewer?.userId ?? '');
  const shareKey = JSON.stringify([
    scope,
    payload.operationName ?? null,
    payload.variables ?? null,
    payload.query,
  ]);
  const { joinGroup } = ctx.extra;
  const operation = getOperationAST(document, payload.operationName);
  return {
    schema: d.schema,
    document,
    operationName: payload.operationName ?? null,
    variableValues: payload.variables ?? null,
    contextValue,
    [SHARE_KEY]: shareKey,
    // the same results of an event for every such execution, whatever their variables
    ...(operation && variablesOnlyChooseEvents(document, operation)
      ? {
          [RESULT_KEY]: JSON.stringify([scope, payload.operationName ?? null, payload.query]),
        }
      : {}),
    [SINK]: {
      // counted per result by SharedSubscriptions
      next: (result) => {
        // the whole frame once per result and subscription id, whoever else receives it
        sendFrame(result.shared(prefix, frameOf));
      },
      // clients of the execution with the same operation id: the same frame, written once for all
      join: () =>
        joinGroup(`${shareKey}\u0000${id}`, (send) => ({
          next: (result: SharedResult) => send(result.shared(prefix, groupFrame(prefix))),
        })),
    },
  };
}

/** A group's frame maker: a function of the prefix only (it outlives the client that made the group). */
const groupFrame =
  (prefix: string) =>
  (json: string): Buffer =>
    textFrame(`${prefix}${json}}`);
