import type { EventBus } from '../bus.js';
import type { Logger } from '../logger.js';
import { LocalBus } from './local-bus.js';
import { RedisBus } from './redis-bus.js';

export interface OpenBusConfig {
  /** Set: Redis pub/sub, shared by every gateway on that Redis. Unset: in-process. */
  redisUrl?: string | undefined;
  logger?: Logger | undefined;
}

/** Opens the bus the configuration asks for (GatewayConfig fits). */
export async function openBus(config: OpenBusConfig): Promise<EventBus> {
  if (config.redisUrl) return RedisBus.open(config.redisUrl, { logger: config.logger });
  return new LocalBus({ logger: config.logger });
}
