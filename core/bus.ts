/**
 * Publish/subscribe between the processes of one deployment: in-process for a single gateway,
 * Redis pub/sub when several gateways share a Redis. Messages are JSON-serialisable values.
 */
export interface EventBus {
  /** False while the bus's server cannot be reached (readiness); in-process buses omit it. */
  isConnected?(): boolean;
  publish(channel: string, message: unknown): Promise<void>;
  /** Returns a function that ends the subscription. */
  subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
