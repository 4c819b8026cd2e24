import type { Logger } from '../logger.js';
import { EmbeddedStore } from './embedded-store.js';
import { RedisStore } from './redis-store.js';
import type { Store } from './store.js';

export interface OpenStoreConfig {
  /** Set: the Redis store (production, several gateways). Unset: the embedded store in `dataDir`. */
  redisUrl?: string | undefined;
  /** Where the embedded store keeps its files. */
  dataDir: string;
  logger?: Logger | undefined;
}

/** Opens the store the configuration asks for (GatewayConfig fits). */
export async function openStore(config: OpenStoreConfig): Promise<Store> {
  if (config.redisUrl) return RedisStore.open(config.redisUrl, { logger: config.logger });
  return EmbeddedStore.open(config.dataDir, { logger: config.logger });
}
