/**
 * Whether this gateway is the one that runs the deployment-wide loops (node watcher, scheduler).
 * Implementations: always (one gateway), a Redis lease (several gateways on one Redis, no
 * ZooKeeper), ZooKeeper leader election (gateway/leader/).
 */
export interface Leadership {
  isLeader(): boolean;
  /** Called with the new value whenever it changes; returns a function that removes the listener. */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Gives up leadership (if held) and stops campaigning. */
  close(): Promise<void>;
}
