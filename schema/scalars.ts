import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

/** ISO 8601 date-time (`2026-11-22T03:00:00.000Z`). */
export const DateTimeScalar = DateTimeResolver;
/** Any JSON value. */
export const JSONScalar = JSONResolver;
