import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { JSONResolver } from 'graphql-scalars';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function toIso(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  // Records keep their times as ISO strings already: pass them through (this is on the hot path).
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return new Date(value).toISOString();
  throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
}

function parseIso(value: unknown): string {
  if (typeof value !== 'string' || !ISO.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError(`DateTime expects an ISO 8601 date-time such as 2026-11-22T03:00:00.000Z`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return new Date(value).toISOString();
}

/** ISO 8601 date-time (`2026-11-22T03:00:00.000Z`), always in UTC on output. */
export const DateTimeScalar = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An ISO 8601 date-time in UTC, e.g. `2026-11-22T03:00:00.000Z`.',
  serialize: toIso,
  parseValue: parseIso,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime expects a string', { nodes: [ast] });
    return parseIso(ast.value);
  },
});

/** Any JSON value. */
export const JSONScalar = JSONResolver;
