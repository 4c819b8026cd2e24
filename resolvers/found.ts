import { notFound } from '../core/errors.js';

/**
 * The record an operation is about, read again by its resolver after the operation's rule
 * (resolvers/operation-rules.ts) allowed it; NOT_FOUND when it went away in between.
 */
export async function found<T>(record: Promise<T | undefined>, what: string, id: string): Promise<T> {
  const value = await record;
  if (value === undefined) throw notFound(what, id);
  return value;
}
