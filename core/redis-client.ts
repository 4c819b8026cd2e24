import type { RedisOptions } from 'ioredis';

/**
 * Options of the gateway's Redis clients (store, bus, lease). While Redis is unreachable a command
 * fails at once instead of waiting in ioredis's offline queue (for up to a minute, then failing all
 * the same): requests answer STORE_UNAVAILABLE right away, /readyz turns 503, and background work
 * (resyncs, recovery passes) tries again on its next round. Commands already sent when the connection
 * drops get two reconnect attempts.
 */
export const REDIS_CLIENT_OPTIONS: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 2,
  connectTimeout: 2000,
};

/** Whether an error means "Redis cannot be reached" (not a bad command or a reply error). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /^Connection is closed\.?$/.test(err.message) ||
    err.message.startsWith("Stream isn't writeable")
  );
}
