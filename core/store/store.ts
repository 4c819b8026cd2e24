import type { ContainerConfig } from '../container-config.js';

/**
 * Desired state (users, groups, metas, node labels, webhook outbox, settings) and the cluster cache
 * (nodes, containers). Two implementations, Redis and embedded, pass one contract suite
 * (test/integration/store.contract.test.ts).
 */

export interface UserRecord {
  /** The username in lower case: unique by construction. */
  id: string;
  username: string;
  passwordHash: string;
  admin: boolean;
  createdAt: string;
}

export interface GroupRecord {
  id: string;
  name: string;
  description?: string | undefined;
  clusterMode: boolean;
  /** ip or hostname, optionally :port (default 8500); kept in lower case. */
  servers: string[];
  /** User ids that may see and change this group (admins always may). */
  owners: string[];
  /**
   * Host directories (absolute) that non-admins' containers in this group may bind, set by admins;
   * absent or empty: none (gateway/container-policy.ts).
   */
  allowedHostPaths?: string[] | undefined;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookSetting {
  url: string;
  secretToken?: string | undefined;
}

export interface MetaRecord {
  id: string;
  groupId: string;
  /** The config's name; cluster containers are CLUSTER-<groupId[:8]>-<name>-<index>. */
  name: string;
  image: string;
  imageTag: string;
  instances: number;
  config: ContainerConfig;
  constraints: string[];
  webhooks: WebhookSetting[];
  removeDelay: boolean;
  recovery: boolean;
  createdAt: string;
  updatedAt: string;
  /**
   * Why the scheduler could not bring the meta to its instance count the last time it tried (none when
   * it could). Written by the leader, cleared by the next complete pass.
   */
  lastFailure?: { message: string; at: string } | undefined;
}

export interface NodeLabelsRecord {
  /** Node id. */
  id: string;
  labels: Record<string, string>;
}

export type NodeStatus = 'PENDING' | 'HEALTHY' | 'UNHEALTHY' | 'DISCONNECTED';
export type ContainerState = 'CREATED' | 'RUNNING' | 'PAUSED' | 'RESTARTING' | 'EXITED' | 'DEAD' | 'REMOVING';

/** A node as the cluster cache knows it. */
export interface NodeRecord {
  /** The agent's node key (a UUID). */
  id: string;
  name: string;
  ip: string;
  /** host:port of the agent's REST API. */
  apiAddr: string;
  status: NodeStatus;
  cpus: number;
  memoryBytes: number;
  cpuPercent?: number | undefined;
  memoryUsedBytes?: number | undefined;
  engineLabels: Record<string, string>;
  dockerVersion?: string | undefined;
  os?: string | undefined;
  arch?: string | undefined;
  updatedAt: string;
  /**
   * When the node took its current status (ISO time; set by the cache writer). A gateway that becomes
   * leader counts a lost node's migration delay from here, not from its own start.
   */
  statusSince?: string | undefined;
}

/** A container as the cluster cache knows it. */
export interface ContainerRecord {
  id: string;
  name: string;
  nodeId: string;
  image: string;
  state: ContainerState;
  status: string;
  labels: Record<string, string>;
  groupId?: string | undefined;
  metaId?: string | undefined;
  index?: number | undefined;
  createdAt: string;
}

export type MetaEventType =
  | 'CreateMetaEvent'
  | 'RemoveMetaEvent'
  | 'OperateMetaEvent'
  | 'UpdateMetaEvent'
  | 'UpgradeMetaEvent'
  | 'MigrateMetaEvent'
  | 'RecoveryMetaEvent';

/** One webhook request to make, written before delivery is tried (the outbox). */
export interface WebhookDeliveryRecord {
  id: string;
  metaId: string;
  groupId: string;
  event: MetaEventType;
  url: string;
  secretToken?: string | undefined;
  /** The exact request body that is signed and sent. */
  body: string;
  attempts: number;
  /** The last attempt's HTTP status; only when the destination was allowed and answered. */
  statusCode?: number | undefined;
  delivered: boolean;
  /**
   * Why the last attempt failed, in our own words ("refused: 127.0.0.1 is a loopback address",
   * "no answer within 5 s", "answered 503"); never the receiver's or the system's message.
   */
  error?: string | undefined;
  lastAttemptAt?: string | undefined;
  nextAttemptAt: string;
  createdAt: string;
}

export interface SettingRecord {
  id: string;
  value: string;
}

/** Documents by collection. */
export interface Collections {
  users: UserRecord;
  groups: GroupRecord;
  metas: MetaRecord;
  nodeLabels: NodeLabelsRecord;
  webhookDeliveries: WebhookDeliveryRecord;
  settings: SettingRecord;
  /** cluster cache: rebuilt from the agents, so the embedded store does not persist it */
  nodes: NodeRecord;
  /** cluster cache: rebuilt from the agents, so the embedded store does not persist it */
  containers: ContainerRecord;
}

export type CollectionName = keyof Collections;

/** Collections that are only a cache of what the engines say. */
export const CACHE_COLLECTIONS: readonly CollectionName[] = ['nodes', 'containers'];

export interface AuditEntry {
  id: string;
  at: string;
  userId: string | null;
  operation: string;
  /** Arguments with secrets (passwords, tokens) removed. */
  args: Record<string, unknown>;
  outcome: 'ok' | 'error';
  error?: string | undefined;
}

/** Thrown by `create` when the id is taken. */
export class StoreConflictError extends Error {
  constructor(
    readonly collection: CollectionName,
    readonly id: string,
  ) {
    super(`${collection} ${id} already exists`);
    this.name = 'StoreConflictError';
  }
}

export interface Store {
  /** False while the store's server cannot be reached (readiness); stores without one omit it. */
  isConnected?(): boolean;
  get<C extends CollectionName>(collection: C, id: string): Promise<Collections[C] | undefined>;
  list<C extends CollectionName>(collection: C): Promise<Collections[C][]>;
  /** Inserts a new document; throws StoreConflictError when the id exists. */
  create<C extends CollectionName>(collection: C, id: string, doc: Collections[C]): Promise<void>;
  /** Inserts or replaces. */
  put<C extends CollectionName>(collection: C, id: string, doc: Collections[C]): Promise<void>;
  /** Inserts or replaces many at once (cache resyncs). */
  putMany<C extends CollectionName>(
    collection: C,
    docs: ReadonlyArray<readonly [string, Collections[C]]>,
  ): Promise<void>;
  /**
   * Atomic read-modify-write: `fn` sees the current document (or undefined) and returns the new one,
   * or undefined to delete it. `fn` may run more than once under contention; it must be pure.
   * Returns what was written.
   */
  update<C extends CollectionName>(
    collection: C,
    id: string,
    fn: (current: Collections[C] | undefined) => Collections[C] | undefined,
  ): Promise<Collections[C] | undefined>;
  /** Returns whether something was deleted. */
  delete(collection: CollectionName, id: string): Promise<boolean>;
  deleteMany(collection: CollectionName, ids: readonly string[]): Promise<void>;
  /** Removes every document of a collection (used for cache rebuilds). */
  clear(collection: CollectionName): Promise<void>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /**
   * Newest first, in append order. `before` is the id of an entry (usually the last one of the
   * previous page): only entries appended before it are returned; an id not, or no longer, in the
   * log gives an empty page. The log keeps the newest 10,000 entries by default.
   */
  listAudit(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]>;

  close(): Promise<void>;
}
