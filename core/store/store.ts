import type { ContainerState, MetaEventType, NodeStatus, NotificationEvent } from '../domain.js';
import type { ContainerConfig } from '../container-config.js';
import type { UsageRange, UsageSample, UsageWrite } from './usage.js';

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
  /**
   * Raised when the password changes or admin rights are taken away: login tokens carry the epoch
   * they were issued in and stop working when it is raised. Absent: 0 (stores from before).
   */
  sessionEpoch?: number | undefined;
}

export interface GroupRecord {
  id: string;
  name: string;
  description?: string | undefined;
  clusterMode: boolean;
  /** ip or hostname, optionally :port (default 8500); kept in lower case. */
  servers: string[];
  /** User ids that are this group's OWNERs directly (admins always are). */
  owners: string[];
  /** Roles teams have in this group; absent in stores from before teams (none). */
  grants?: GroupGrantRecord[] | undefined;
  /** Readable by every logged-in user; absent: false. */
  public?: boolean | undefined;
  /**
   * Host directories (absolute) that non-admins' containers in this group may bind, set by admins;
   * absent or empty: none (core/container-policy.ts).
   */
  allowedHostPaths?: string[] | undefined;
  createdAt: string;
  updatedAt: string;
}

/** A team's role in a group (core/authorization.ts says what each role may do). */
export interface GroupGrantRecord {
  teamId: string;
  role: 'OWNER' | 'OPERATOR' | 'VIEWER';
}

/** A named set of users, given roles in groups by grants. */
export interface TeamRecord {
  id: string;
  name: string;
  /** User ids. */
  members: string[];
  createdAt: string;
}

/** A long-lived token for scripts and CI; only the SHA-256 of the token is kept. */
export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  scopes: Array<'READ' | 'WRITE' | 'ADMIN'>;
  /** SHA-256 of the whole token, hex. */
  tokenHash: string;
  createdAt: string;
  lastUsedAt?: string | undefined;
  expiresAt?: string | undefined;
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
  /** Why the node is UNHEALTHY (the node watcher's last failed check); absent otherwise. */
  statusReason?: string | undefined;
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

/** Where notifications go (addNotificationChannel). */
export interface NotificationChannelRecord {
  id: string;
  kind: 'webhook' | 'email';
  /** A URL (webhook) or an email address. */
  target: string;
  events: NotificationEvent[];
  /** Webhooks: the key their requests are signed with. */
  secretToken?: string | undefined;
  createdAt: string;
}

/** One notification to deliver to one channel, written before delivery is tried (the outbox). */
export interface NotificationDeliveryRecord {
  id: string;
  channelId: string;
  kind: NotificationChannelRecord['kind'];
  target: string;
  secretToken?: string | undefined;
  event: NotificationEvent;
  /** The mail's subject (also in the webhook body). */
  subject: string;
  /** The webhook's exact body (JSON); the mail's text is made from it. */
  body: string;
  attempts: number;
  delivered: boolean;
  /** Why the last attempt failed, in our own words. */
  error?: string | undefined;
  lastAttemptAt?: string | undefined;
  nextAttemptAt: string;
  createdAt: string;
}

export interface SettingRecord {
  id: string;
  value: string;
}

// ---- registries and image jobs (issue 10)

/** A private registry; `secret` is the password encrypted with the gateway's secret key. */
export interface RegistryRecord {
  id: string;
  name: string;
  /** As given: `http(s)://host[:port]` or `host[:port]`. */
  url: string;
  /** `host[:port]`, lower case: what image names start with. */
  host: string;
  username?: string | undefined;
  /** AES-256-GCM of the password (gateway/registry/secret-box.ts); never leaves the gateway. */
  secret?: string | undefined;
  insecure: boolean;
  createdAt: string;
}

export type ImageJobKind = 'BUILD' | 'LOAD' | 'COMMIT' | 'PUSH' | 'PULL';
export type ImageJobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** One build, load, commit, push or pull on a node, with its log. */
export interface ImageJobRecord {
  id: string;
  kind: ImageJobKind;
  status: ImageJobStatus;
  nodeId: string;
  /** The image made, pushed or pulled (a build's or commit's tag, a load's first loaded image). */
  image?: string | undefined;
  /** Who started it. */
  userId: string;
  log: string[];
  /** Docker's words when it failed. */
  error?: string | undefined;
  /** 0..1, the last progress reported. */
  progress?: number | undefined;
  createdAt: string;
  finishedAt?: string | undefined;
  /** When the gateway running it last wrote it; a RUNNING job whose beat goes stale lost its gateway. */
  beatAt?: string | undefined;
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
  // Accounts and tenancy (issue 13)
  teams: TeamRecord;
  apiTokens: ApiTokenRecord;
  // Notifications (issue 12)
  notificationChannels: NotificationChannelRecord;
  notificationDeliveries: NotificationDeliveryRecord;
  // registries and image jobs (issue 10)
  registries: RegistryRecord;
  imageJobs: ImageJobRecord;
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

/** Newest audit entries a store keeps by default. */
export const DEFAULT_AUDIT_LIMIT = 10_000;
/** Bytes (of entries as JSON) the audit log of a store holds at most by default. */
export const DEFAULT_AUDIT_MAX_BYTES = 16 * 1024 * 1024;

/** The size an audit entry counts for in the store's byte limit: its JSON, in UTF-8 bytes. */
export function auditEntryBytes(entry: AuditEntry): number {
  return Buffer.byteLength(JSON.stringify(entry));
}

/** Thrown by `appendAudit` for an entry that alone is larger than the audit log may be. */
export class AuditEntryTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`audit entry of ${bytes} bytes is larger than the audit log's limit of ${maxBytes} bytes`);
    this.name = 'AuditEntryTooLargeError';
  }
}

/**
 * One key of `countAttempt` (e.g. a username or a client address) and how it backs off. A key at
 * `count` counted attempts, the last one at `at`, with `count >= free`, waits until
 * `at + min(maxDelayMs, baseDelayMs * 2^(count - free))`: the free attempts go through at once, and
 * each further one waits twice as long as the one before, up to the cap.
 */
export interface AttemptLimit {
  key: string;
  /** Attempts counted before the key has to wait. */
  free: number;
  /** The first wait, in milliseconds. */
  baseDelayMs: number;
  /** The longest wait, in milliseconds. */
  maxDelayMs: number;
  /** A key is forgotten this long after its last counted attempt and its wait are over. */
  windowMs: number;
}

/** What `countAttempt` decided. */
export type AttemptOutcome =
  | {
      outcome: 'counted';
      /** Each key's count including this attempt, in the order of the limits. */
      counts: number[];
    }
  | {
      outcome: 'wait';
      /** Milliseconds until the longest wait of the keys is over (> 0). */
      retryAfterMs: number;
    };

/** The wait of a key at `count` attempts (0 while it has free attempts left). */
export function attemptDelayMs(limit: Omit<AttemptLimit, 'key'>, count: number): number {
  if (count < limit.free) return 0;
  return Math.min(limit.maxDelayMs, limit.baseDelayMs * 2 ** (count - limit.free));
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

  /**
   * Appends to the audit log, then drops its oldest entries while it holds more than its entry limit
   * (10,000 by default) or more than its byte limit (16 MiB of entries as JSON by default, see
   * `auditEntryBytes`). Throws AuditEntryTooLargeError, writing nothing, for an entry larger than
   * the byte limit by itself.
   */
  appendAudit(entry: AuditEntry): Promise<void>;
  /**
   * Newest first, in append order. `before` is the id of an entry (usually the last one of the
   * previous page): only entries appended before it are returned; an id not, or no longer, in the
   * log gives an empty page.
   */
  listAudit(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]>;

  /**
   * One attempt at a throttled action (a login), counted against every key at once, atomically, and
   * the same for every gateway sharing the store. When a key still has to wait (see AttemptLimit),
   * nothing is counted and the answer says how long; otherwise every key counts one more attempt.
   * `now` is milliseconds since the epoch.
   */
  countAttempt(limits: readonly AttemptLimit[], now: number): Promise<AttemptOutcome>;
  /**
   * After a counted attempt succeeded: `reset` keys are forgotten (a username after its right
   * password), `release` keys count that attempt no more (a client address: successes are not held
   * against it). A key that is not counted is left alone.
   */
  settleAttempt(keys: { reset: readonly string[]; release: readonly string[] }): Promise<void>;

  /**
   * Usage history (core/store/usage.ts): writes each point into its series and range, replacing a
   * point with the same `at`; a series keeps at most its range's point count, none older than its
   * span before its newest, and expires when it was not written for its span.
   */
  addUsage(points: readonly UsageWrite[]): Promise<void>;
  /** Each series' points of `range` with `at >= since`, oldest first ([] for an unknown series). */
  usageHistory(series: readonly string[], range: UsageRange, since: number): Promise<UsageSample[][]>;
  /** Forgets series at every range (a removed container's). */
  deleteUsage(series: readonly string[]): Promise<void>;

  close(): Promise<void>;
}
