import { componentLogger, logger as rootLogger, type Logger } from '../logger.js';
import type { EventBus } from '../bus.js';
import { messagesText, messageText } from './json-text.js';

type Handler = (message: unknown) => void;

/**
 * The bus of a single gateway: in-process. Each message is copied through JSON once per publish, so
 * subscribers see what another gateway's RedisBus would deliver (a Date as its ISO text, no undefined
 * fields), and a test on this bus catches a message JSON would change. Handlers run asynchronously
 * (never inside `publish`), in publish order; a throwing handler is logged and does not stop the others.
 */
export class LocalBus implements EventBus {
  private readonly channels = new Map<string, Set<Handler>>();
  private readonly log: Logger;
  private closed = false;

  constructor(options: { logger?: Logger | undefined } = {}) {
    this.log = componentLogger(options.logger ?? rootLogger, 'local-bus');
  }

  async publish(channel: string, message: unknown): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const text = messageText(channel, message);
    const handlers = this.channels.get(channel);
    if (!handlers || handlers.size === 0) return;
    this.deliver(channel, handlers, [JSON.parse(text)]);
  }

  async publishMany(channel: string, messages: readonly unknown[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const text = messagesText(channel, messages);
    const handlers = this.channels.get(channel);
    if (!handlers || handlers.size === 0 || messages.length === 0) return;
    this.deliver(channel, handlers, JSON.parse(text) as unknown[]);
  }

  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('bus is closed');
    // Wrapped so one function subscribed twice gets two independent subscriptions.
    const entry: Handler = (message) => handler(message);
    let handlers = this.channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.channels.set(channel, handlers);
    }
    handlers.add(entry);
    return async () => {
      const current = this.channels.get(channel);
      if (!current) return;
      current.delete(entry);
      if (current.size === 0) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
  }

  private deliver(channel: string, handlers: Set<Handler>, copies: unknown[]): void {
    // Microtasks run in the order they were queued, which keeps publish order per channel and overall.
    queueMicrotask(() => {
      for (const copy of copies) {
        for (const handler of handlers) {
          try {
            handler(copy);
          } catch (err) {
            this.log.error({ err, channel }, 'bus handler threw');
          }
        }
      }
    });
  }
}
