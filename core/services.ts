import type { ContainerAction } from './domain.js';
import type { ContainerConfig } from './container-config.js';
import type {
  AuditEntry,
  ContainerRecord,
  GroupRecord,
  ImageJobRecord,
  RegistryRecord,
  MetaRecord,
  NodeRecord,
  UserRecord,
  WebhookDeliveryRecord,
  WebhookSetting,
} from './store/store.js';
import type { ContainerState, NodeStatus } from './domain.js';
import type { RegistryAuthLookup } from './registry-auth.js';

/**
 * What resolvers call. Services do the work (store, agents, scheduler); resolvers check access and
 * map results. Services throw HumpbackError (core/errors.ts) for anything a client should see.
 */

/** Who is asking: resolved from the bearer token. */
export interface Viewer {
  userId: string;
  username: string;
  admin: boolean;
}

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

export interface AuthService {
  /** Throws UNAUTHENTICATED on a bad pair, RATE_LIMITED when tried too often. */
  login(username: string, password: string, clientKey: string): Promise<{ token: string; user: UserRecord }>;
  /** undefined when the token is missing, bad or expired. */
  verify(token: string): Promise<Viewer | undefined>;
  createUser(input: { username: string; password: string; admin: boolean }): Promise<UserRecord>;
  listUsers(): Promise<UserRecord[]>;
  /** `by`: the user asking, who cannot delete themselves (BAD_USER_INPUT). false when there is no such user. */
  deleteUser(id: string, by?: Viewer): Promise<boolean>;
}

export interface NewGroup {
  name: string;
  description?: string | undefined;
  clusterMode: boolean;
  servers: string[];
  allowedHostPaths?: string[] | undefined;
}

/** Changes to a group; absent fields stay as they are. */
export interface GroupChanges {
  name?: string | undefined;
  description?: string | undefined;
  clusterMode?: boolean | undefined;
  servers?: string[] | undefined;
  allowedHostPaths?: string[] | undefined;
  owners?: string[] | undefined;
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
}

export interface ImageService {
  list(nodeId: string): Promise<ImageInfo[]>;
  pull(nodeId: string, image: string): Promise<ImageInfo>;
  remove(nodeId: string, image: string, force: boolean): Promise<boolean>;
}

export interface CreateMetaInput {
  groupId: string;
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
  metas: MetaService;
  audit: AuditService;
  registries: RegistryService;
  imageJobs: ImageJobService;
}
