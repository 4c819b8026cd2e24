/**
 * Publish/subscribe between the processes of one deployment: in-process for a single gateway,
 * Redis pub/sub when several gateways share a Redis. Messages are JSON-serialisable values, and
 * read-only once published: a bus may hand the publisher's own value to every local handler (another
 * gateway gets its JSON copy), so neither the publisher nor a handler may change it afterwards.
 */
export interface EventBus {
  /** False while the bus's server cannot be reached (readiness); in-process buses omit it. */
  isConnected?(): boolean;
  publish(channel: string, message: unknown): Promise<void>;
  /**
   * Publishes `messages` in their order as one unit (one write to the server): handlers get each one
   * as if it had been published alone, and nothing published after the call comes between them.
   */
  publishMany(channel: string, messages: readonly unknown[]): Promise<void>;
  /** Returns a function that ends the subscription. */
  subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
