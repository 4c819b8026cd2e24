import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { Leadership } from '../../core/leadership.js';
import { REDIS_CLIENT_OPTIONS } from '../../core/redis-client.js';

/** Small helper the implementations share: listeners and change notification. */
export class LeadershipState {
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly logger?: Logger) {}

  get value(): boolean {
    return this.leader;
  }

  set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    for (const l of [...this.listeners]) {
      try {
        l(leader);
      } catch (err) {
        this.logger?.error({ err }, 'leadership listener failed');
      }
    }
  }

  add(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The only gateway of a deployment: always the leader. */
export class AlwaysLeader implements Leadership {
  isLeader(): boolean {
    return true;
  }

  onChange(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}

export interface RedisLeaseOptions {
  /** A dedicated connection (it is closed by close() when `ownsClient`). */
  redis: Redis;
  ownsClient?: boolean | undefined;
  /** @default 'humpback:leader' */
  key?: string | undefined;
  /** How long a lease lasts without renewal. @default 10_000 */
  ttlMs?: number | undefined;
  /** How often the holder renews and the others try to take it. @default ttlMs / 3 */
  renewMs?: number | undefined;
  /** This gateway's identity in the lease. @default a random UUID */
  id?: string | undefined;
  logger?: Logger | undefined;
}

// Renew or release only a lease we still hold: compare-and-act in one step.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Leader by Redis lease: `SET key id NX PX ttl` to take it, a compare-and-PEXPIRE to renew. The
 * holder steps down as soon as a renewal fails or cannot be confirmed within the lease, so two
 * gateways never both believe they lead for longer than one renewal period.
 */
export class RedisLeaseLeadership implements Leadership {
  readonly id: string;
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly renewMs: number;
  private readonly state: LeadershipState;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly options: RedisLeaseOptions) {
    this.id = options.id ?? randomUUID();
    this.key = options.key ?? 'humpback:leader';
    this.ttlMs = options.ttlMs ?? 10_000;
    this.renewMs = options.renewMs ?? Math.max(50, Math.floor(this.ttlMs / 3));
    this.state = new LeadershipState(options.logger);
  }

  /** Tries once right away, then keeps campaigning/renewing in the background. */
  async start(): Promise<void> {
    await this.tick();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule());
    }, this.renewMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    const started = Date.now();
    try {
      if (this.state.value) {
        const renewed = await this.options.redis.eval(RENEW, 1, this.key, this.id, String(this.ttlMs));
        if (Number(renewed) !== 1 || Date.now() - started > this.ttlMs) {
          this.options.logger?.warn({ key: this.key }, 'lost the leader lease');
          this.state.set(false);
        }
      } else {
        const got = await this.options.redis.set(this.key, this.id, 'PX', this.ttlMs, 'NX');
        if (got === 'OK') {
          this.options.logger?.info({ key: this.key, id: this.id }, 'took the leader lease');
          this.state.set(true);
        }
      }
    } catch (err) {
      this.options.logger?.warn({ err, key: this.key }, 'leader lease check failed');
      if (this.state.value) this.state.set(false);
    }
  }

  isLeader(): boolean {
    return this.state.value;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.state.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.ticking;
    if (this.state.value) {
      try {
        await this.options.redis.eval(RELEASE, 1, this.key, this.id);
      } catch (err) {
        this.options.logger?.warn({ err }, 'could not release the leader lease; it expires by itself');
      }
      this.state.set(false);
    }
    if (this.options.ownsClient) this.options.redis.disconnect();
  }
}

/** Opens a Redis lease on its own connection and takes part in the election right away. */
export async function openRedisLeadership(
  redisUrl: string,
  options: Omit<RedisLeaseOptions, 'redis' | 'ownsClient'> = {},
): Promise<RedisLeaseLeadership> {
  const redis = new Redis(redisUrl, { ...REDIS_CLIENT_OPTIONS, lazyConnect: false });
  // Without a listener ioredis prints every failed reconnect; the lease itself reports losing leadership.
  redis.on('error', (err: Error) =>
    options.logger?.debug({ err: err.message }, 'redis lease connection error'),
  );
  const leadership = new RedisLeaseLeadership({ ...options, redis, ownsClient: true });
  await leadership.start();
  return leadership;
}
