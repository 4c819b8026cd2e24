/**
 * The discovery backends (ZooKeeper, etcd v3) behind one shape: agents keep a registration under
 * `<prefix>/<clusterName>/nodes/<node-key>` holding humpback-agent's `{"key","data"}` value, gateways
 * watch that folder and elect their leader in the same backend (shared/API.md "Discovery backends").
 * Implementations: agent/zookeeper-registration.ts, agent/etcd-registration.ts,
 * gateway/leader/zookeeper-discovery.ts, gateway/leader/etcd-discovery.ts (and their leaderships).
 */
import type { NodeRegistration } from './node-data.js';

export type RegistrationState =
  | { phase: 'connecting' }
  | { phase: 'registered'; since: Date; refreshedAt: Date }
  | { phase: 'disconnected'; since: Date }
  | { phase: 'closed' };

/** An agent's registration, kept up from `start()` until `close()`; trouble is logged, never thrown. */
export interface NodeRegistrar {
  start(): void;
  status(): RegistrationState;
  /** Removes the registration (if the backend answers within a few seconds) and disconnects. */
  close(): Promise<void>;
}

/**
 * Nodes appearing or changing (`nodeUp`), their registration going away (`nodeDown`: the agent's
 * session or lease expired), and the gateway's own connection (`connection`): while it is down
 * nothing can be concluded about the nodes, so the scheduler freezes migrations.
 */
export interface DiscoveryListener {
  nodeUp(registration: NodeRegistration): void;
  nodeDown(key: string): void;
  connection(connected: boolean): void;
}

/** A gateway's view of the registered nodes. */
export interface NodeDiscovery {
  /** Connects and starts watching; resolves after the first listing (or rejects if unreachable). */
  start(): Promise<void>;
  /** The nodes currently registered. */
  nodes(): NodeRegistration[];
  readonly isConnected: boolean;
  close(): Promise<void>;
}

function clusterPath(prefix: string, clusterName: string, leaf: string): string {
  return `${prefix}/${clusterName}/${leaf}`.replace(/\/+/g, '/').replace(/^(?!\/)/, '/');
}

/** The nodes folder for a cluster, where agents register: `<prefix>/<clusterName>/nodes`. */
export function nodesPath(prefix: string, clusterName: string): string {
  return clusterPath(prefix, clusterName, 'nodes');
}

/** The leader election folder for a cluster's gateways: `<prefix>/<clusterName>/leader`. */
export function electionPath(prefix: string, clusterName: string): string {
  return clusterPath(prefix, clusterName, 'leader');
}
