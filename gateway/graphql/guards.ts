import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { ErrorCode, HumpbackError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { isRedisUnavailable } from '../../core/redis-client.js';
import { measureDocument, measureVariables } from './cost.js';

/** Codes a client may see as they are; anything else is reported as INTERNAL_SERVER_ERROR. */
const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

export const QUERY_TOO_COMPLEX = 'GRAPHQL_VALIDATION_FAILED';

/** Limits on what a document may ask, checked by costLimitRule before graphql's own rules run. */
export interface CostLimits {
  /** Deepest field nesting an operation may have (introspection fields do not count). */
  maxDepth: number;
  /** Most selections the document may make with every fragment spread expanded in place. */
  maxSelections: number;
  /** Most pairs of fields answering at the same place in the response (see DocumentShape.merges). */
  maxFieldMerges: number;
  /** Most operations in one document. */
  maxOperations: number;
}

/**
 * Refuses documents over the limits, measured once per fragment (gateway/graphql/cost.ts), so no
 * document costs more than a walk over its own text. A refused document is not validated further:
 * the rule answers at the Document's enter with null, and graphql's visitor (visitInParallel hands
 * back the first result that is not undefined; `visit` treats null as deleting the node) then ends
 * the whole pass, so graphql's own rules, whose work on such a document grows with its square
 * (OverlappingFieldsCanBeMerged), never see it. It may stand anywhere in the list of rules.
 */
export function costLimitRule(limits: Partial<CostLimits>): ValidationRule {
  const maxDepth = limits.maxDepth ?? Infinity;
  const maxSelections = limits.maxSelections ?? Infinity;
  const maxFieldMerges = limits.maxFieldMerges ?? Infinity;
  const maxOperations = limits.maxOperations ?? Infinity;
  // the merge count expands fragments: it only runs when the expanded size is bounded
  const countMergesUpTo = Number.isFinite(maxFieldMerges) ? maxSelections : -1;
  return (context: ValidationContext) => ({
    Document(node) {
      const shape = measureDocument(node, { countMergesUpTo });
      const refuse = (message: string, extensions: Record<string, unknown>) =>
        context.reportError(
          new GraphQLError(message, { extensions: { code: QUERY_TOO_COMPLEX, ...extensions } }),
        );
      let refused = false;
      if (shape.operations > maxOperations) {
        refuse(`the document has ${shape.operations} operations; at most ${maxOperations} are allowed`, {
          operations: shape.operations,
          maxOperations,
        });
        refused = true;
      }
      if (shape.depth > maxDepth) {
        refuse(`operation is ${shape.depth} levels deep; at most ${maxDepth} are allowed`, {
          depth: shape.depth,
          maxDepth,
        });
        refused = true;
      }
      if (shape.selections > maxSelections) {
        refuse(
          `the document makes ${count(shape.selections)} selections once its fragment spreads are expanded; ` +
            `at most ${maxSelections} are allowed`,
          { selections: shape.selections, maxSelections },
        );
        refused = true;
      } else if (shape.merges && shape.merges.pairs > maxFieldMerges) {
        const { pairs, worstPath, worstCount } = shape.merges;
        refuse(
          `the document asks for the same fields at the same place too often: ${pairs} pairs of fields to ` +
            `merge (\`${worstPath}\` is asked for ${worstCount} times); at most ${maxFieldMerges} pairs are allowed`,
          { fieldMerges: pairs, maxFieldMerges },
        );
        refused = true;
      }
      return refused ? null : undefined;
    },
  });
}

const count = (n: number): string => (n < 1e15 ? String(n) : 'more than 10^15');

/** A query text over `maxBytes` (UTF-8), refused before it is parsed. */
export function documentSizeError(query: string, maxBytes: number): GraphQLError | undefined {
  // a UTF-8 byte takes at most one UTF-16 unit, and a unit at most 3 bytes
  if (query.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(query);
  if (bytes <= maxBytes) return undefined;
  return new GraphQLError(`the document is ${bytes} bytes long; at most ${maxBytes} are allowed`, {
    extensions: { code: 'GRAPHQL_PARSE_FAILED' },
  });
}

/**
 * A refusal made at the GraphQL edge itself (before any resolver runs), with its code: what the
 * domain throws as a HumpbackError, the transports need as a GraphQLError.
 */
export function clientError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/**
 * The refusal of variables nested more than `maxDepth` levels deep (also given for request bodies
 * and messages found too deep before they are parsed).
 */
export function variablesTooDeep(maxDepth: number): GraphQLError {
  return clientError(
    ErrorCode.BAD_USER_INPUT,
    `variables are nested more than ${maxDepth} levels deep; at most ${maxDepth} are allowed`,
    { maxVariablesDepth: maxDepth },
  );
}

/** Variables nested deeper than `maxDepth` levels or larger than `maxBytes` of JSON. */
export function variablesError(
  variables: unknown,
  limits: { maxDepth: number; maxBytes: number },
): GraphQLError | undefined {
  if (variables === undefined || variables === null) return undefined;
  const { depth, bytes } = measureVariables(variables, limits);
  if (depth > limits.maxDepth) return variablesTooDeep(limits.maxDepth);
  if (bytes > limits.maxBytes) {
    return clientError(
      ErrorCode.BAD_USER_INPUT,
      `variables are larger than ${limits.maxBytes} bytes of JSON; at most ${limits.maxBytes} are allowed`,
      { maxVariablesBytes: limits.maxBytes },
    );
  }
  return undefined;
}

/**
 * The operation's complexity (type-graphql `complexity` options, 1 per field otherwise), or an error
 * when it exceeds `max`. Undefined means fine. The document must have passed costLimitRule: the
 * complexity walk expands fragments, and only the selection limit bounds it.
 */
export function complexityError(input: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
  max: number;
}): GraphQLError | undefined {
  // Documents come from Apollo's parse cache (the same object for the same query text), so the
  // complexity is computed once per document, operation and variables.
  let perDocument = complexityCache.get(input.document);
  if (!perDocument) complexityCache.set(input.document, (perDocument = new Map()));
  const key = `${input.operationName ?? ''}\u0000${input.variables ? JSON.stringify(input.variables) : ''}`;
  let complexity = perDocument.get(key);
  if (complexity === undefined) {
    const computed = computeComplexity(input);
    if (computed === undefined || computed instanceof GraphQLError) return computed;
    complexity = computed;
    if (perDocument.size < 100) perDocument.set(key, complexity);
  }
  if (complexity <= input.max) return undefined;
  return new GraphQLError(`operation complexity ${complexity} exceeds the limit of ${input.max}`, {
    extensions: { code: QUERY_TOO_COMPLEX, complexity, maxComplexity: input.max },
  });
}

const complexityCache = new WeakMap<DocumentNode, Map<string, number>>();

function computeComplexity(input: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
}): number | GraphQLError | undefined {
  const operation = getOperationAST(input.document, input.operationName);
  if (!operation) return undefined;
  // bad variables: execution reports them with graphql's own messages
  if (getVariableValues(input.schema, operation.variableDefinitions ?? [], input.variables ?? {}).errors) {
    return undefined;
  }
  try {
    return getComplexity({
      schema: input.schema,
      query: input.document,
      ...(input.operationName ? { operationName: input.operationName } : {}),
      variables: input.variables ?? {},
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (err) {
    // e.g. its own node limit: never let an operation through unmeasured
    return new GraphQLError(
      `the operation's complexity cannot be measured: ${err instanceof Error ? err.message : String(err)}`,
      { extensions: { code: QUERY_TOO_COMPLEX } },
    );
  }
}

/** The error with `code` when it has none (graphql's parse and validation errors over graphql-ws). */
export function withCode(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions['code'] !== undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/** The same error with the HTTP status Apollo should answer it with (Apollo strips `http` from what it sends). */
export function withHttpStatus(error: GraphQLError, status: number): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status } } });
}

/**
 * Apollo's own refusals of a malformed request (a persisted-query hash that does not match its query,
 * an unsupported persisted-query version) carry an HTTP 4xx status but no code.
 */
function isRequestError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError) || error.originalError) return false;
  if (error.extensions['code'] !== undefined) return false;
  const status = (error.extensions['http'] as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Clearer words for some of Apollo's request errors. */
const REQUEST_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  'provided sha does not match query':
    'extensions.persistedQuery.sha256Hash is not the SHA-256 of the query: send the hex SHA-256 of the exact query text',
};

/** Whether a client may see this error's message and code as they are. */
export function isClientError(error: unknown, formatted?: GraphQLFormattedError): boolean {
  if (error instanceof HumpbackError) return true;
  const code =
    formatted?.extensions?.['code'] ?? (error instanceof GraphQLError ? error.extensions['code'] : undefined);
  if (typeof code === 'string' && CLIENT_CODES.has(code)) return true;
  // graphql-js's own request errors (bad variables, unknown fields) carry no original error
  return error instanceof GraphQLError && !error.originalError && code === undefined;
}

/** The original error behind a GraphQLError that wraps a resolver's throw. */
export function unwrap(error: unknown): unknown {
  return error instanceof GraphQLError && error.originalError ? unwrap(error.originalError) : error;
}

export interface MaskOptions {
  development: boolean;
  logger?: Logger | undefined;
}

const TOO_MANY_VARIABLE_ERRORS = 'Too many errors processing variables';

const STORE_UNAVAILABLE_MESSAGE = 'the gateway cannot reach its store (Redis) right now; try again shortly';

interface ValidationErrorLike {
  property?: string;
  constraints?: Record<string, string>;
  children?: ValidationErrorLike[];
}

/**
 * type-graphql's "Argument Validation Error" says nothing useful and echoes the whole input (passwords
 * included) in `validationErrors`. This turns it into one message naming each bad field
 * (`input.password: password must be longer than or equal to 8 characters`) and keeps only the field
 * names and messages.
 */
export function describeValidation(
  extensions: Record<string, unknown> | undefined,
): { message: string; extensions: Record<string, unknown> } | undefined {
  const errors = extensions?.['validationErrors'];
  if (!Array.isArray(errors)) return undefined;
  const fields: Array<{ field: string; messages: string[] }> = [];
  const walk = (list: readonly ValidationErrorLike[], prefix: string): void => {
    for (const e of list) {
      const field = prefix && e.property ? `${prefix}.${e.property}` : (e.property ?? prefix);
      const messages = Object.values(e.constraints ?? {});
      if (messages.length > 0) fields.push({ field, messages });
      if (e.children?.length) walk(e.children, field);
    }
  };
  walk(errors as ValidationErrorLike[], '');
  const message = fields.map((f) => `${f.field}: ${f.messages.join(', ')}`).join('; ') || 'invalid input';
  return { message, extensions: { code: ErrorCode.BAD_USER_INPUT, fields } };
}

/** formatError for Apollo: unknown errors become INTERNAL_SERVER_ERROR without details or stack. */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  options: MaskOptions,
): GraphQLFormattedError {
  const original = unwrap(error);
  const validation = describeValidation(formatted.extensions);
  if (validation) return { ...formatted, ...validation };
  if (isRedisUnavailable(original)) {
    return {
      ...formatted,
      message: STORE_UNAVAILABLE_MESSAGE,
      extensions: { code: ErrorCode.STORE_UNAVAILABLE },
    };
  }
  if (isRequestError(original)) {
    return {
      message: REQUEST_ERROR_MESSAGES[original.message] ?? original.message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: 'BAD_REQUEST' },
    };
  }
  if (original instanceof GraphQLError && original.message.startsWith(TOO_MANY_VARIABLE_ERRORS)) {
    // graphql-js throws this after 50 bad variable values instead of listing them; it is the client's.
    return {
      message: 'too many invalid variable values (more than 50): fix the variables and send again',
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    };
  }
  if (isClientError(original, formatted)) {
    if (options.development) return formatted;
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  options.logger?.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
  return {
    message: options.development ? formatted.message : 'Internal server error',
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: {
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      ...(options.development && original instanceof Error
        ? { stacktrace: original.stack?.split('\n') }
        : {}),
    },
  };
}

/** The same masking for results sent over graphql-ws (which has no formatError of its own). */
export function maskResult(result: ExecutionResult, options: MaskOptions): ExecutionResult {
  if (!result.errors || result.errors.length === 0) return result;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const original = unwrap(error);
      const validation = describeValidation(error.extensions);
      if (validation) {
        return new GraphQLError(validation.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          extensions: validation.extensions,
        });
      }
      if (isRedisUnavailable(original)) {
        return new GraphQLError(STORE_UNAVAILABLE_MESSAGE, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          extensions: { code: ErrorCode.STORE_UNAVAILABLE },
        });
      }
      if (isClientError(original)) {
        return original instanceof GraphQLError && original !== error
          ? new GraphQLError(original.message, {
              nodes: error.nodes,
              source: error.source,
              positions: error.positions,
              path: error.path,
              extensions: original.extensions,
            })
          : error;
      }
      options.logger?.error(
        { err: original, path: error.path },
        'unexpected error in a GraphQL subscription',
      );
      return new GraphQLError(options.development ? error.message : 'Internal server error', {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      });
    }),
  };
}
