import type { ContainerAction } from './domain.js';
import type { ContainerConfig } from './container-config.js';
import type {
  ApiTokenRecord,
  AuditEntry,
  GroupGrantRecord,
  TeamRecord,
  ContainerRecord,
  GroupRecord,
  ImageJobRecord,
  RegistryRecord,
  MetaRecord,
  NodeRecord,
  NotificationChannelRecord,
  UserRecord,
  WebhookDeliveryRecord,
  WebhookSetting,
} from './store/store.js';
import type { ContainerState, NodeStatus, NotificationEvent } from './domain.js';
import type { RegistryAuthLookup } from './registry-auth.js';
import type { UsageRange, UsageSample, UsageSubject } from './store/usage.js';

/**
 * What resolvers call. Services do the work (store, agents, scheduler); resolvers check access and
 * map results. Services throw HumpbackError (core/errors.ts) for anything a client should see.
 */

/** Who is asking: resolved from the bearer token. */
export interface Viewer {
  userId: string;
  username: string;
  admin: boolean;
  /** The teams the user is a member of (their grants give roles in groups). */
  teamIds?: readonly string[] | undefined;
  /** Set when the caller sent an API token: its id and its highest scope (READ: no mutations). */
  token?: { id: string; scope: TokenScope } | undefined;
}

/** What an API token may do: READ queries and subscriptions; WRITE also mutations; ADMIN also an admin's. */
export type TokenScope = 'READ' | 'WRITE' | 'ADMIN';

export interface ContainerFilter {
  /** Only containers on nodes of these groups (undefined: no restriction). */
  groupIds?: readonly string[] | undefined;
  nodeId?: string | undefined;
  metaId?: string | undefined;
  state?: ContainerState | undefined;
  /** Only containers whose name or image contains this text (case-insensitive). */
  search?: string | undefined;
}

export interface Page<T> {
  nodes: T[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  sizeBytes: number;
}

/** One sample of a running container's resource use, as its engine reports it. */
export interface ContainerStats {
  /** When Docker took the sample (ISO time). */
  at: string;
  /** CPU use in percent of one CPU (200 = two CPUs busy). */
  cpuPercent: number;
  /** Memory in use, page cache excluded. */
  memoryUsageBytes: number;
  /** The container's memory limit (the node's memory when it has none). */
  memoryLimitBytes: number;
  networkRxBytes: number;
  networkTxBytes: number;
}

/** One line of a container's output. */
export interface LogLine {
  /** Docker's timestamp (RFC 3339, nanoseconds kept). */
  at: string;
  stream: 'STDOUT' | 'STDERR';
  line: string;
}

/** A port binding: the one Docker made for a running container, else the one asked for. */
export interface PortBinding {
  privatePort: number;
  /** null while Docker has not bound one (a port asked with 0 on a container not running). */
  publicPort: number | null;
  type: string;
  ip: string | null;
}

export interface MountInfo {
  source: string;
  destination: string;
  readOnly: boolean;
  /** bind, volume, tmpfs, ... */
  type: string;
}

/** What the engine's inspect says of a container beyond the cache's record. */
export interface ContainerDetails {
  command: string[];
  env: string[];
  ports: PortBinding[];
  mounts: MountInfo[];
  restartCount: number;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  hostname: string | null;
  networkMode: string | null;
}

/** An exec session ready to be attached once at `url`. */
export interface ExecSessionInfo {
  id: string;
  url: string;
  expiresAt: string;
}

/**
 * Live container streams, one engine stream per container however many clients follow it (closed
 * when the last leaves): what the `containerLogs` and `containerStats` subscriptions read.
 */
export interface ContainerStreamService {
  /** The lines from `tail`/`since`, then new lines as they are printed, until the iterator returns. */
  logs(
    containerId: string,
    from: { tail?: number | undefined; since?: string | undefined },
  ): Promise<AsyncIterableIterator<LogLine>>;
  /** One sample per engine reading until the iterator returns. */
  stats(containerId: string): Promise<AsyncIterableIterator<ContainerStats>>;
  /** Engine streams open now and ever opened, of each kind (for tests and metrics). */
  counts(): Record<'logs' | 'stats', { open: number; opened: number }>;
}

/** An attached exec session, as the exec WebSocket carries it. */
export interface ExecConnection {
  /** Bytes to the process's stdin. */
  input(data: Buffer): void;
  /** Resizes the process's TTY. */
  resize(cols: number, rows: number): void;
  /** Bytes from the process's stdout and stderr. */
  onOutput(fn: (data: Buffer) => void): void;
  /** The session ended (`exit <code>` when the process exited). */
  onEnd(fn: (reason: string) => void): void;
  close(): void;
}

/** Console sessions: one-time tickets for the exec WebSocket, bound to the user who asked. */
export interface ExecService {
  /** `baseUrl`: the gateway as the client reached it (`http(s)://host`), for the session's URL. */
  start(
    viewer: Viewer,
    containerId: string,
    options: { command: string[]; tty: boolean; baseUrl: string },
  ): Promise<ExecSessionInfo>;
  /** Uses session `id`'s ticket (once); `presentedBy`: the user of other credentials sent along. */
  connect(id: string, ticket: string, presentedBy?: string): Promise<ExecConnection>;
}

export interface AuthService {
  /** Throws UNAUTHENTICATED on a bad pair, RATE_LIMITED when tried too often. */
  login(username: string, password: string, clientKey: string): Promise<{ token: string; user: UserRecord }>;
  /** undefined when the token is missing, bad or expired. */
  verify(token: string): Promise<Viewer | undefined>;
  createUser(input: { username: string; password: string; admin: boolean }): Promise<UserRecord>;
  listUsers(): Promise<UserRecord[]>;
  /** `by`: the user asking, who cannot delete themselves (BAD_USER_INPUT). false when there is no such user. */
  deleteUser(id: string, by?: Viewer): Promise<boolean>;
  /** The viewer's own password; the old one must be right (BAD_USER_INPUT). Ends their login tokens. */
  changePassword(userId: string, oldPassword: string, newPassword: string): Promise<void>;
  /** An admin's reset; ends the user's login tokens. NOT_FOUND for no such user. */
  setUserPassword(userId: string, password: string): Promise<void>;
  /** Taking admin away ends the user's login tokens; `by` cannot take their own. */
  setUserAdmin(userId: string, admin: boolean, by: Viewer): Promise<UserRecord>;
  /**
   * Called (on every gateway) when tokens may have stopped working: a revoked API token, a changed
   * password, a demotion, a deleted user, changed teams or grants. Returns the unsubscribe.
   */
  onAccessChanged?(listener: () => void): () => void;
}

/** API tokens: the token itself is shown once, at creation. */
export interface TokenService {
  create(
    viewer: Viewer,
    input: { name: string; scopes: readonly TokenScope[]; expiresInDays?: number | undefined },
  ): Promise<{ token: string; record: ApiTokenRecord }>;
  /** The viewer's own tokens, newest first. */
  list(userId: string): Promise<ApiTokenRecord[]>;
  /** The viewer's own token (admins: anyone's); NOT_FOUND otherwise. */
  revoke(viewer: Viewer, id: string): Promise<void>;
}

/** Teams of users and the roles they are granted in groups. */
export interface TeamService {
  list(): Promise<TeamRecord[]>;
  get(id: string): Promise<TeamRecord | undefined>;
  create(name: string): Promise<TeamRecord>;
  delete(id: string): Promise<boolean>;
  addMember(teamId: string, userId: string): Promise<TeamRecord>;
  removeMember(teamId: string, userId: string): Promise<TeamRecord>;
  /** Gives the team `role` in the group (replacing the role it had). */
  grant(groupId: string, teamId: string, role: GroupGrantRecord['role']): Promise<GroupRecord>;
  revoke(groupId: string, teamId: string): Promise<GroupRecord>;
}

export interface NewGroup {
  name: string;
  /** A Humpback v1 group's GroupId, to adopt its containers; default a new one. */
  id?: string | undefined;
  description?: string | undefined;
  clusterMode: boolean;
  servers: string[];
  allowedHostPaths?: string[] | undefined;
  /** Readable by every user. @default false */
  public?: boolean | undefined;
}

/** Changes to a group; absent fields stay as they are. */
export interface GroupChanges {
  name?: string | undefined;
  description?: string | undefined;
  clusterMode?: boolean | undefined;
  servers?: string[] | undefined;
  allowedHostPaths?: string[] | undefined;
  owners?: string[] | undefined;
  public?: boolean | undefined;
  /** Must be true to turn cluster mode off (that removes the group's cluster containers). */
  confirmRemoveClusterContainers?: boolean | undefined;
}

export interface GroupService {
  list(): Promise<GroupRecord[]>;
  get(id: string): Promise<GroupRecord | undefined>;
  create(input: NewGroup, owner: Viewer): Promise<GroupRecord>;
  update(id: string, input: GroupChanges): Promise<GroupRecord>;
  delete(id: string): Promise<boolean>;
  addServer(groupId: string, address: string): Promise<GroupRecord>;
  removeServer(groupId: string, address: string): Promise<GroupRecord>;
}

export interface NodeService {
  list(filter: { groupId?: string | undefined; status?: NodeStatus | undefined }): Promise<NodeRecord[]>;
  /** By id, ip or hostname (case-insensitive). */
  get(idOrAddress: string): Promise<NodeRecord | undefined>;
  /** Node labels set by operators (used by constraints `node.labels.X`). */
  labels(nodeId: string): Promise<Record<string, string>>;
  setLabels(nodeId: string, labels: Record<string, string>): Promise<NodeRecord>;
  /** Group ids whose servers include this node. */
  groupsOf(nodeId: string): Promise<string[]>;
}

export interface ContainerService {
  list(
    filter: ContainerFilter,
    page: { first: number; after?: string | undefined },
  ): Promise<Page<ContainerRecord>>;
  /** Full id or unique prefix; an ambiguous prefix throws BAD_USER_INPUT. */
  get(idOrPrefix: string): Promise<ContainerRecord | undefined>;
  create(nodeId: string, config: ContainerConfig): Promise<ContainerRecord>;
  operate(id: string, action: ContainerAction): Promise<ContainerRecord>;
  remove(id: string, force: boolean): Promise<boolean>;
  logs(id: string, tail: number): Promise<string[]>;
  /** One sample of a running container's CPU, memory and network use, from its agent. */
  stats(id: string): Promise<ContainerStats>;
  /** The engine's inspect of the container (cached for a moment: fields of one query share it). */
  details(id: string): Promise<ContainerDetails>;
  /** Single mode: renames the container (the name must be free on its node). */
  rename(id: string, name: string): Promise<ContainerRecord>;
  /** Single mode: recreates the container on another tag of its image with the same config. */
  upgrade(id: string, imageTag: string): Promise<ContainerRecord>;
}

export interface ImageService {
  list(nodeId: string): Promise<ImageInfo[]>;
  pull(nodeId: string, image: string): Promise<ImageInfo>;
  remove(nodeId: string, image: string, force: boolean): Promise<boolean>;
}

/** A volume on a node, as Docker reports it; `usedBy` the containers that mount it. */
export interface VolumeInfo {
  name: string;
  nodeId: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  mountpoint?: string | undefined;
  sizeBytes?: number | undefined;
  usedBy: ContainerRecord[];
  createdAt?: string | undefined;
}

export interface NewVolume {
  name: string;
  driver?: string | undefined;
  options?: Record<string, string> | undefined;
  labels?: Record<string, string> | undefined;
  /** An NFS export: Docker's local driver with type=nfs. */
  nfs?: { server: string; path: string; options?: string | undefined } | undefined;
}

export interface VolumeService {
  /** Every volume on the node's engine, also those made outside Humpback. */
  list(nodeId: string): Promise<VolumeInfo[]>;
  /** undefined when the node has no volume of that name. */
  get(nodeId: string, name: string): Promise<VolumeInfo | undefined>;
  create(nodeId: string, input: NewVolume): Promise<VolumeInfo>;
  /** CONFLICT while a container uses it, unless `force` (then as Docker allows). */
  remove(nodeId: string, name: string, force: boolean): Promise<boolean>;
  /** Deletes its content; CONFLICT while a container uses it. */
  clear(nodeId: string, name: string): Promise<boolean>;
  /** A tar of the volume (or of `path` in it), streamed from the node; abort `signal` to stop. */
  archive(
    nodeId: string,
    name: string,
    path: string | undefined,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>>;
  /**
   * Unpacks the upload `uploadId` of user `userId` (a tar from `POST /uploads`) into the volume (or
   * into `path` in it); the upload is deleted once it is in.
   */
  restore(
    nodeId: string,
    name: string,
    upload: { uploadId: string; userId: string },
    path: string | undefined,
  ): Promise<boolean>;
}

export interface CreateMetaInput {
  groupId: string;
  /** A Humpback v1 meta's MetaId (a UUID), to adopt its containers; default a new one. */
  id?: string | undefined;
  instances: number;
  config: ContainerConfig;
  constraints?: string[] | undefined;
  webhooks?: WebhookSetting[] | undefined;
  removeDelay?: boolean | undefined;
  recovery?: boolean | undefined;
}

export interface UpdateMetaInput {
  instances?: number | undefined;
  config?: ContainerConfig | undefined;
  constraints?: string[] | undefined;
  webhooks?: WebhookSetting[] | undefined;
  removeDelay?: boolean | undefined;
  recovery?: boolean | undefined;
}

/** Cluster mode (scheduler/): metas of N instances placed by the scheduler. */
export interface MetaService {
  list(groupId: string): Promise<MetaRecord[]>;
  get(id: string): Promise<MetaRecord | undefined>;
  create(input: CreateMetaInput): Promise<MetaRecord>;
  update(id: string, input: UpdateMetaInput): Promise<MetaRecord>;
  /** Same tag: BAD_USER_INPUT. All-or-nothing with rollback. */
  upgrade(id: string, imageTag: string): Promise<MetaRecord>;
  operate(id: string, action: ContainerAction): Promise<MetaRecord>;
  remove(id: string): Promise<boolean>;
  deliveries(metaId: string, first: number): Promise<WebhookDeliveryRecord[]>;
}

export interface AuditService {
  record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;
  /**
   * Counts a request refused before its caller was authenticated (no valid token, a throttled
   * login): written as one small summary per interval, never with the request's arguments.
   */
  recordRefusal(refusal: { operation: string; code: string; clientKey: string }): Promise<void>;
  list(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]>;
}

/** Usage history of nodes, containers and metas (written by the leader's UsageRecorder). */
export interface UsageService {
  /** The subject's points of the range, oldest first ([] when none were recorded). */
  history(subject: UsageSubject, range: UsageRange): Promise<UsageSample[]>;
  /** Each subject's newest HOUR point if it is at most `maxAgeMs` old (for /metrics). */
  latest(subjects: readonly UsageSubject[], maxAgeMs: number): Promise<Array<UsageSample | undefined>>;
}

/** Notification channels (admins add and remove them). */
export interface NotificationService {
  list(): Promise<NotificationChannelRecord[]>;
  /** Checks kind, target and events (BAD_USER_INPUT naming the field). */
  add(input: {
    kind: string;
    target: string;
    events: readonly NotificationEvent[];
    secretToken?: string | undefined;
  }): Promise<NotificationChannelRecord>;
  remove(id: string): Promise<boolean>;
}

// ---- registries and image jobs (issue 10)

/** What addRegistry / updateRegistry take; on update an absent username or password stays as stored. */
export interface RegistryInput {
  name: string;
  url: string;
  username?: string | null | undefined;
  password?: string | null | undefined;
  insecure?: boolean | null | undefined;
}

/** A registry as clients see it: never its password. */
export type RegistryInfo = Omit<RegistryRecord, 'secret'>;

export interface RegistryTagInfo {
  name: string;
  digest: string;
  sizeBytes: number | undefined;
  /** ISO time. */
  created: string | undefined;
}

export interface RegistryRepositoryInfo {
  name: string;
  tags: RegistryTagInfo[];
}

export interface RegistryService {
  list(): Promise<RegistryInfo[]>;
  /** Checks the credentials against the registry's `/v2/` first: BAD_USER_INPUT (nothing stored) when refused. */
  add(input: RegistryInput): Promise<RegistryInfo>;
  update(id: string, input: RegistryInput): Promise<RegistryInfo>;
  remove(id: string): Promise<boolean>;
  /** The catalog, filtered by `search` (in the name, case-insensitive), at most `first` repositories. */
  repositories(
    id: string,
    options: { search?: string | undefined; first: number },
  ): Promise<RegistryRepositoryInfo[]>;
  /** Deletes the tag's manifest (the registry must allow deletes). false when there is no such tag. */
  deleteTag(id: string, repository: string, tag: string): Promise<boolean>;
  /** The stored credentials of the registry an image's name starts with. */
  credentialsFor: RegistryAuthLookup;
}

/** One event of a job: the job as it stands, with the log line or progress that changed. */
export interface ImageJobEvent {
  job: ImageJobRecord;
  line?: string | undefined;
  progress?: number | undefined;
}

export interface BuildInput {
  uploadId: string;
  tag: string;
  dockerfile?: string | undefined;
  buildArgs?: Record<string, string> | undefined;
}

/** Image jobs run on a node's agent; each start answers the job (QUEUED or RUNNING) at once. */
export interface ImageJobService {
  /** Newest first; `nodeIds` restricts to those nodes (what the viewer may read). */
  list(filter: {
    nodeId?: string | undefined;
    nodeIds?: ReadonlySet<string> | undefined;
    first: number;
  }): Promise<ImageJobRecord[]>;
  get(id: string): Promise<ImageJobRecord | undefined>;
  build(nodeId: string, input: BuildInput, viewer: Viewer): Promise<ImageJobRecord>;
  load(nodeId: string, uploadId: string, viewer: Viewer): Promise<ImageJobRecord>;
  commit(containerId: string, tag: string, viewer: Viewer): Promise<ImageJobRecord>;
  push(nodeId: string, image: string, viewer: Viewer): Promise<ImageJobRecord>;
  pull(nodeId: string, image: string, viewer: Viewer): Promise<ImageJobRecord>;
  /** The job as it stands first (its log so far), then live events; ends after SUCCEEDED or FAILED. */
  watch(id: string): AsyncIterableIterator<ImageJobEvent>;
}

export interface Services {
  auth: AuthService;
  groups: GroupService;
  nodes: NodeService;
  containers: ContainerService;
  images: ImageService;
  volumes: VolumeService;
  metas: MetaService;
  audit: AuditService;
  tokens: TokenService;
  teams: TeamService;
  usage: UsageService;
  notifications: NotificationService;
  registries: RegistryService;
  imageJobs: ImageJobService;
  streams: ContainerStreamService;
  exec: ExecService;
}
