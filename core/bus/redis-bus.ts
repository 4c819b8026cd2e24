import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { componentLogger, logger as rootLogger, type Logger } from '../logger.js';
import { REDIS_CLIENT_OPTIONS } from '../redis-client.js';
import type { EventBus } from '../bus.js';
import { redactUrl } from '../store/redis-store.js';
import { messagesText, messageText } from './json-text.js';

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

/**
 * The wire text of what a RedisBus publishes: `@`, the bus's id (ID_LENGTH characters), then `=` and
 * one message's JSON, or `*` and a JSON array of messages (publishMany). The id lets a bus drop its
 * own messages, which Redis sends back to it, without reading them. Text that does not start with `@`
 * is taken as one message's JSON (what a plain PUBLISH or an older gateway sends); JSON text never
 * starts with `@`. An older gateway drops these frames as not JSON: gateways sharing a Redis are
 * upgraded together.
 */
const FRAME = { start: '@', one: '=', many: '*' } as const;
/** 6 random bytes in base64url: 8 ASCII characters. */
const ID_LENGTH = 8;
const HEADER_LENGTH = 1 + ID_LENGTH;
const START_BYTE = FRAME.start.charCodeAt(0);
const ONE_BYTE = FRAME.one.charCodeAt(0);
const MANY_BYTE = FRAME.many.charCodeAt(0);

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
 * The bus's own messages reach its own handlers in-process, with the very value the publisher gave
 * (read-only, see EventBus), in publish order and never inside `publish`; Redis's echo of them is
 * dropped unread. They are delivered locally even when Redis refuses them (it is down): this
 * gateway's state already has the change they announce. `publish` still rejects then, since the other
 * gateways missed it (they resynchronise when their bus is back, `onReconnect`).
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
  /** `@<id>`: what starts the wire text of this bus's messages. */
  private readonly header: string;
  private readonly headerBytes: Buffer;
  private closed = false;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    options: RedisBusOptions,
  ) {
    this.prefix = options.channelPrefix ?? 'hb:';
    this.log = componentLogger(options.logger ?? rootLogger, 'redis-bus');
    this.header = FRAME.start + randomBytes(6).toString('base64url');
    this.headerBytes = Buffer.from(this.header, 'latin1');
    // Buffers: this bus's own messages are recognised by their first bytes and never decoded.
    sub.on('messageBuffer', (channel: Buffer, data: Buffer) => this.deliver(channel, data));
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
    const text = messageText(channel, message);
    const name = this.prefix + channel;
    this.deliverLocally(name, [message]);
    await this.pub.publish(name, this.header + FRAME.one + text);
  }

  async publishMany(channel: string, messages: readonly unknown[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    if (messages.length === 0) return;
    // One message goes out as itself: its receivers read no array.
    if (messages.length === 1) return this.publish(channel, messages[0]);
    const text = messagesText(channel, messages);
    const name = this.prefix + channel;
    this.deliverLocally(name, messages);
    await this.pub.publish(name, this.header + FRAME.many + text);
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

  /** Hands this bus's own messages to its handlers, after the publisher's call returns. */
  private deliverLocally(name: string, messages: readonly unknown[]): void {
    const state = this.channels.get(name);
    if (!state) return;
    // Microtasks run in the order they were queued: publish order, per channel and overall.
    queueMicrotask(() => {
      if (this.closed) return;
      for (const message of messages) this.dispatch(name, state, message);
    });
  }

  /** A message from Redis: another bus's (or plain JSON), decoded and handed to the handlers. */
  private deliver(channel: Buffer, data: Buffer): void {
    if (data.length > HEADER_LENGTH && this.headerBytes.compare(data, 0, HEADER_LENGTH) === 0) return;
    const name = channel.toString();
    const state = this.channels.get(name);
    if (!state) return;
    let messages: unknown[];
    try {
      messages = decodeFrame(data);
    } catch (err) {
      this.log.warn({ err, channel: name }, 'dropping a bus message that is not JSON');
      return;
    }
    for (const message of messages) this.dispatch(name, state, message);
  }

  private dispatch(channel: string, state: ChannelState, message: unknown): void {
    for (const handler of state.handlers) {
      try {
        handler(message);
      } catch (err) {
        this.log.error({ err, channel }, 'bus handler threw');
      }
    }
  }
}

/** The messages of one wire text (FRAME); throws when it is not JSON. */
function decodeFrame(data: Buffer): unknown[] {
  if (data[0] !== START_BYTE) return [JSON.parse(data.toString())];
  const json = data.toString('utf8', HEADER_LENGTH + 1);
  switch (data[HEADER_LENGTH]) {
    case ONE_BYTE:
      return [JSON.parse(json)];
    case MANY_BYTE: {
      const messages: unknown = JSON.parse(json);
      if (!Array.isArray(messages)) throw new SyntaxError('a batch of bus messages is not an array');
      return messages;
    }
    default:
      throw new SyntaxError('unknown bus message frame');
  }
}
