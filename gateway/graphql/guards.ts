import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { ErrorCode, HumpbackError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { isRedisUnavailable } from '../../core/redis-client.js';

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

/** Refuses operations nested deeper than `maxDepth` fields (introspection fields do not count). */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext) => {
    const depthOf = (set: SelectionSetNode, depth: number, seen: Set<string>): number => {
      let deepest = depth;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value.startsWith('__')) continue;
          const d = selection.selectionSet ? depthOf(selection.selectionSet, depth + 1, seen) : depth + 1;
          deepest = Math.max(deepest, d);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, depth, seen));
        } else {
          const name = selection.name.value;
          const fragment = context.getFragment(name);
          if (!fragment || seen.has(name)) continue;
          deepest = Math.max(deepest, depthOf(fragment.selectionSet, depth, new Set([...seen, name])));
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, 0, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`operation is ${depth} levels deep; at most ${maxDepth} are allowed`, {
              nodes: [node],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
            }),
          );
        }
      },
    };
  };
}

/**
 * The operation's complexity (type-graphql `complexity` options, 1 per field otherwise), or an error
 * when it exceeds `max`. Undefined means fine.
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
    if (computed === undefined) return undefined;
    complexity = computed;
    if (perDocument.size < 100) perDocument.set(key, complexity);
  }
  if (complexity <= input.max) return undefined;
  return new GraphQLError(`operation complexity ${complexity} exceeds the limit of ${input.max}`, {
    extensions: { code: QUERY_TOO_COMPLEX, complexity, maxComplexity: input.max, http: { status: 400 } },
  });
}

const complexityCache = new WeakMap<DocumentNode, Map<string, number>>();

function computeComplexity(input: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
}): number | undefined {
  let complexity: number;
  try {
    complexity = getComplexity({
      schema: input.schema,
      query: input.document,
      ...(input.operationName ? { operationName: input.operationName } : {}),
      variables: input.variables ?? {},
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch {
    // bad variables and the like: execution reports them properly
    return undefined;
  }
  return complexity;
}

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
