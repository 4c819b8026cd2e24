import {
  execute,
  getVariableValues,
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  visit,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { createListJson, IRREGULAR, markJsonPaths, type JsonPaths } from './list-json.js';

export interface ExecuteRequest {
  document: DocumentNode;
  /** The operation Apollo resolved from the document; undefined when it found none. */
  operation: OperationDefinitionNode | undefined;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | undefined;
  contextValue: unknown;
}

export interface QueryExecutorOptions {
  /**
   * How often a document must have been executed before it is compiled: compiling costs far more
   * than one execution, so one-off documents are not worth it (and a client sending ever new
   * documents cannot make the server compile each of them).
   * @default 2
   */
  compileAfter?: number | undefined;
}

/** A compiled operation: with its cacheable lists rewritten (list-json.ts) when it has any. */
type Compiled = { query: CompiledQuery; rewritten?: { query: CompiledQuery; paths: JsonPaths } };
type Entry = { hits: number; compiled: Map<string, Compiled | null> };

/**
 * Executes parsed, validated operations: queries run as graphql-jit code compiled once per
 * document and operation; mutations, documents seen once and anything graphql-jit cannot compile
 * run on graphql-js. Variables are coerced by graphql-js first in every case, so their errors are
 * exactly graphql-js's (which Apollo turns into BAD_USER_INPUT with status 400). Compiled queries
 * write lists of plain fields from each item's cached JSON (list-json.ts): answer them with
 * list-json's `stringifyResult`.
 */
export function createQueryExecutor(
  schema: GraphQLSchema,
  options: QueryExecutorOptions = {},
): (request: ExecuteRequest) => Promise<ExecutionResult> {
  const compileAfter = options.compileAfter ?? 2;
  // Keyed by the document object: Apollo's document store hands out the same object for the same
  // query text, and entries go away with the documents it evicts.
  const entries = new WeakMap<DocumentNode, Entry>();
  const lists = createListJson(schema);

  const compiledFor = (request: ExecuteRequest, operation: OperationDefinitionNode) => {
    let entry = entries.get(request.document);
    if (!entry) entries.set(request.document, (entry = { hits: 0, compiled: new Map() }));
    const key = operation.name?.value ?? '';
    const known = entry.compiled.get(key);
    if (known !== undefined) return known;
    if (++entry.hits < compileAfter) return null;
    let compiled: Compiled | null = null;
    // graphql-jit's result objects would take an alias `__proto__` for their prototype and drop it
    if (aliasesProto(request.document)) {
      entry.compiled.set(key, null);
      return null;
    }
    const compile = (on: GraphQLSchema, document: DocumentNode) => {
      try {
        const result = compileQuery(on, document, operation.name?.value);
        if (isCompiledQuery(result)) return result;
      } catch {
        // whatever graphql-jit cannot compile keeps running on graphql-js
      }
      return undefined;
    };
    const query = compile(schema, request.document);
    if (query) {
      compiled = { query };
      const rewritten = lists.rewrite(request.document, operation);
      const rewrittenQuery = rewritten && compile(lists.schema, rewritten.document);
      if (rewrittenQuery) compiled.rewritten = { query: rewrittenQuery, paths: rewritten.paths };
    }
    entry.compiled.set(key, compiled);
    return compiled;
  };

  return async (request) => {
    const { operation } = request;
    const runOnGraphqlJs = () =>
      execute({
        schema,
        document: request.document,
        operationName: request.operationName ?? null,
        variableValues: request.variables ?? null,
        contextValue: request.contextValue,
      });
    if (operation?.operation === 'subscription') return { errors: [subscriptionOverHttp()] };
    if (!operation || operation.operation !== 'query') return runOnGraphqlJs();
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
    if (coerced.errors) return { errors: coerced.errors };
    const compiled = compiledFor(request, operation);
    if (!compiled) return runOnGraphqlJs();
    const variables = request.variables ?? {};
    if (compiled.rewritten) {
      const result = await compiled.rewritten.query.query(undefined, request.contextValue, variables);
      if (!result.errors?.some((e) => e.originalError === IRREGULAR)) {
        if (result.data) markJsonPaths(result.data, compiled.rewritten.paths);
        return withGraphqlJsErrors(result);
      }
      // out of the ordinary: the plain compiled query gives graphql-jit's own errors and nulls
    }
    return withGraphqlJsErrors(await compiled.query.query(undefined, request.contextValue, variables));
  };
}

function aliasesProto(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field: (node) => {
      if (node.alias?.value === '__proto__') found = true;
    },
  });
  return found;
}

const withGraphqlJsErrors = (result: ExecutionResult): ExecutionResult =>
  result.errors?.length ? { ...result, errors: result.errors.map(asGraphqlJsError) } : result;

/** A subscription sent as an HTTP request: graphql-js would run its resolver as a query and fail. */
function subscriptionOverHttp(): GraphQLError {
  return new GraphQLError(
    'subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) at this URL, not over HTTP',
    { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
  );
}

/**
 * graphql-jit's errors lack what graphql-js's always have (e.g. `extensions` is undefined rather
 * than `{}`, which Apollo's error formatting reads): rebuild them as graphql-js errors so that
 * formatError sees the same thing from both engines.
 */
function asGraphqlJsError(error: GraphQLError): GraphQLError {
  const rebuilt = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions ?? undefined,
  });
  // graphql-js derives locations from AST nodes, which graphql-jit's errors do not carry
  (rebuilt as { locations: GraphQLError['locations'] }).locations = error.locations;
  return rebuilt;
}
