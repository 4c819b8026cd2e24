import { Redis, type RedisOptions } from 'ioredis';
import { componentLogger, logger as rootLogger, type Logger } from '../logger.js';
import { REDIS_CLIENT_OPTIONS } from '../redis-client.js';
import type { EventBus } from '../bus.js';
import { redactUrl } from '../store/redis-store.js';

type Handler = (message: unknown) => void;

export interface RedisBusOptions {
  /** Prepended to every channel name on Redis. @default 'hb:' */
  channelPrefix?: string | undefined;
  /** Name of the subscriber connection in CLIENT LIST. @default 'humpback-bus-sub' */
  connectionName?: string | undefined;
  /** Extra ioredis options for both connections. */
  redisOptions?: RedisOptions | undefined;
  logger?: Logger | undefined;
}

interface ChannelState {
  handlers: Set<Handler>;
  /** Settles when Redis has confirmed the SUBSCRIBE. */
  ready: Promise<unknown>;
}

/**
 * The bus between gateways sharing a Redis: one connection publishes, one subscribes (a subscribed
 * connection can do nothing else). Messages are JSON. Each Redis channel is subscribed once however
 * many local handlers listen; handlers run in the order messages arrive.
 *
 * After a dropped connection ioredis reconnects and subscribes again by itself, but Redis pub/sub does
 * not keep messages: whatever was published meanwhile is lost. `onReconnect` tells listeners when to
 * resynchronise.
 */
export class RedisBus implements EventBus {
  private readonly channels = new Map<string, ChannelState>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly prefix: string;
  private readonly log: Logger;
  private closed = false;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    options: RedisBusOptions,
  ) {
    this.prefix = options.channelPrefix ?? 'hb:';
    this.log = componentLogger(options.logger ?? rootLogger, 'redis-bus');
    sub.on('message', (channel: string, text: string) => this.deliver(channel, text));
    let connected = true;
    sub.on('close', () => {
      if (!this.closed && connected) this.log.warn('bus subscriber connection lost; reconnecting');
      connected = false;
    });
    sub.on('ready', () => {
      if (connected || this.closed) return;
      connected = true;
      // ioredis has queued the re-SUBSCRIBEs before emitting 'ready'; the PING's reply comes after
      // theirs, so listeners run once the channels are live again.
      this.sub.ping().then(
        () => {
          this.log.info('bus subscriber reconnected');
          for (const listener of this.reconnectListeners) listener();
        },
        (err: unknown) => this.log.warn({ err }, 'bus subscriber not ready after reconnect'),
      );
    });
  }

  /** Opens both connections; fails if Redis cannot be reached. */
  static async open(url: string, options: RedisBusOptions = {}): Promise<RedisBus> {
    const log = componentLogger(options.logger ?? rootLogger, 'redis-bus');
    // The publishes of one tick (a node's batch of events) go out in one write and one round trip.
    const pub = new Redis(url, {
      ...REDIS_CLIENT_OPTIONS,
      enableAutoPipelining: true,
      ...options.redisOptions,
    });
    const sub = new Redis(url, {
      ...REDIS_CLIENT_OPTIONS,
      connectionName: options.connectionName ?? 'humpback-bus-sub',
      ...options.redisOptions,
      autoResubscribe: true,
    });
    let lastError: Error | undefined;
    for (const conn of [pub, sub]) {
      conn.on('error', (err: Error) => {
        lastError = err;
        log.warn({ err: err.message }, 'redis connection error');
      });
    }
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (err) {
      pub.disconnect();
      sub.disconnect();
      const reason = (lastError ?? (err as Error)).message;
      throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${reason}`, { cause: err });
    }
    return new RedisBus(pub, sub, options);
  }

  isConnected(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  async publish(channel: string, message: unknown): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const text = JSON.stringify(message);
    if (text === undefined) throw new TypeError(`cannot publish ${typeof message} on ${channel}: not JSON`);
    await this.pub.publish(this.prefix + channel, text);
  }

  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('bus is closed');
    const name = this.prefix + channel;
    const entry: Handler = (message) => handler(message);
    let state = this.channels.get(name);
    if (!state) {
      state = { handlers: new Set(), ready: this.sub.subscribe(name) };
      this.channels.set(name, state);
    }
    state.handlers.add(entry);
    try {
      await state.ready;
    } catch (err) {
      state.handlers.delete(entry);
      if (state.handlers.size === 0 && this.channels.get(name) === state) this.channels.delete(name);
      throw err;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const current = this.channels.get(name);
      if (current !== state) return;
      current.handlers.delete(entry);
      if (current.handlers.size > 0) return;
      this.channels.delete(name);
      // Commands on one connection run in order, so a SUBSCRIBE sent after this one still wins.
      if (!this.closed) await this.sub.unsubscribe(name);
    };
  }

  /**
   * Calls `listener` each time the subscriber connection is back, and subscribed again, after a loss:
   * messages published meanwhile are gone, so listeners should resynchronise. Returns a remover.
   */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    await Promise.all([
      this.sub.quit().catch(() => this.sub.disconnect()),
      this.pub.quit().catch(() => this.pub.disconnect()),
    ]);
  }

  private deliver(channel: string, text: string): void {
    const state = this.channels.get(channel);
    if (!state) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      this.log.warn({ err, channel }, 'dropping a bus message that is not JSON');
      return;
    }
    for (const handler of state.handlers) {
      try {
        handler(message);
      } catch (err) {
        this.log.error({ err, channel }, 'bus handler threw');
      }
    }
  }
}
