/**
 * Start-up checks of the services a process depends on: each answers undefined when the service
 * answers, or the reason it does not, so the entry point can name the variable to fix (exit 2)
 * instead of failing later with a stack trace.
 */
import { Redis } from 'ioredis';
import { ConfigError } from './config.js';
import { openZookeeperClient } from './zookeeper.js';

/** Why Redis at `url` does not answer a PING within `timeoutMs`, or undefined. */
export async function redisUnreachable(url: string, timeoutMs = 3000): Promise<string | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    const e = (lastError ?? (err as Error)) as Error & { code?: string };
    return e.code ?? e.message;
  } finally {
    redis.disconnect();
  }
}

/** Why no ZooKeeper server of `connectionString` accepts a session within `timeoutMs`, or undefined. */
export function zookeeperUnreachable(
  connectionString: string,
  timeoutMs = 5000,
): Promise<string | undefined> {
  const client = openZookeeperClient(connectionString, Math.max(timeoutMs, 4000), 200, undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.close();
      resolve(`no answer within ${timeoutMs / 1000} s`);
    }, timeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
      client.close();
      resolve(undefined);
    });
    client.connect();
  });
}

/** One ConfigError for every check that failed (`[variable, value, what, reason | undefined]`). */
export function unreachableError(
  checks: ReadonlyArray<readonly [variable: string, value: string, what: string, reason: string | undefined]>,
): ConfigError | undefined {
  const errors = checks
    .filter((c) => c[3] !== undefined)
    .map(([variable, value, what, reason]) => ConfigError.unreachable(variable, value, what, reason!));
  return errors.length > 0 ? ConfigError.all(errors) : undefined;
}
