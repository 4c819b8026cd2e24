import type {
  ApiTokenRecord,
  TeamRecord,
  AuditEntry as AuditRecord,
  ContainerRecord,
  GroupRecord,
  MetaRecord,
  NodeRecord,
  UserRecord,
  WebhookDeliveryRecord,
} from '../core/store/store.js';
import type { AuditEntry } from '../schema/audit-entry.type.js';
import type { VolumeInfo } from '../core/services.js';
import type { Volume } from '../schema/volume.type.js';
import type { Container } from '../schema/container.type.js';
import { AuditOutcome, type ContainerState } from '../schema/enums.js';
import type { Group } from '../schema/group.type.js';
import { toLabels } from '../schema/label.type.js';
import type { Meta } from '../schema/meta.type.js';
import type { Node } from '../schema/node.type.js';
import type { User } from '../schema/user.type.js';
import type { ApiToken } from '../schema/api-token.type.js';
import type { TokenScope } from '../schema/accounts.enums.js';
import type { Team } from '../schema/team.type.js';
import type { WebhookDelivery } from '../schema/webhook-delivery.type.js';

// Records → GraphQL objects. Plain objects are enough: field resolvers read what they need from them.

export const toUser = (u: UserRecord): User => ({
  id: u.id,
  username: u.username,
  admin: u.admin,
  createdAt: u.createdAt,
});

export const toApiToken = (t: ApiTokenRecord): ApiToken => ({
  id: t.id,
  name: t.name,
  scopes: t.scopes as TokenScope[],
  createdAt: t.createdAt,
  lastUsedAt: t.lastUsedAt,
  expiresAt: t.expiresAt,
});

/** Members are mapped by the user list given (a member deleted since shows by id alone). */
export const toTeam = (t: TeamRecord, users: ReadonlyMap<string, UserRecord>): Team => ({
  id: t.id,
  name: t.name,
  members: t.members.map((id) => {
    const user = users.get(id);
    return user ? toUser(user) : { id, username: id, admin: false };
  }),
});

export const toGroup = (g: GroupRecord): Group => ({
  id: g.id,
  name: g.name,
  description: g.description,
  clusterMode: g.clusterMode,
  servers: g.servers,
  owners: g.owners,
  public: g.public ?? false,
  allowedHostPaths: g.allowedHostPaths ?? [],
  createdAt: g.createdAt,
  updatedAt: g.updatedAt,
});

/** A Node as the schema shows it; engineLabels mapped here, operator labels by a field resolver. */
export type NodeObject = Node & { engineLabels: ReturnType<typeof toLabels> };

export const toNode = (n: NodeRecord): NodeObject => ({
  id: n.id,
  name: n.name,
  ip: n.ip,
  apiAddr: n.apiAddr,
  status: n.status,
  statusReason: n.statusReason ?? null,
  cpus: n.cpus,
  memoryBytes: n.memoryBytes,
  cpuPercent: n.cpuPercent,
  memoryUsedBytes: n.memoryUsedBytes,
  dockerVersion: n.dockerVersion,
  os: n.os,
  arch: n.arch,
  updatedAt: n.updatedAt,
  engineLabels: toLabels(n.engineLabels),
});

/** A Container whose labels are mapped only when asked for: container lists are the hot path. */
class ContainerObject implements Container {
  readonly id: string;
  readonly name: string;
  readonly nodeId: string;
  readonly image: string;
  readonly state: ContainerState;
  readonly status: string;
  readonly groupId: string | undefined;
  readonly metaId: string | undefined;
  readonly index: number | undefined;
  readonly createdAt: string;

  constructor(private readonly record: ContainerRecord) {
    this.id = record.id;
    this.name = record.name;
    this.nodeId = record.nodeId;
    this.image = record.image;
    this.state = record.state;
    this.status = record.status;
    this.groupId = record.groupId;
    this.metaId = record.metaId;
    this.index = record.index;
    this.createdAt = record.createdAt;
  }

  get labels() {
    return toLabels(this.record.labels);
  }
}

// One object per record (records are replaced, never changed, when a container changes): lists
// answered from each item's cached JSON (gateway/graphql/list-json.ts) find it again by identity.
const containerObjects = new WeakMap<ContainerRecord, ContainerObject>();

export const toContainer = (c: ContainerRecord): Container => {
  let object = containerObjects.get(c);
  if (!object) containerObjects.set(c, (object = new ContainerObject(c)));
  return object;
};

export const toVolume = (v: VolumeInfo): Volume => ({
  name: v.name,
  nodeId: v.nodeId,
  driver: v.driver,
  options: toLabels(v.options),
  labels: toLabels(v.labels),
  mountpoint: v.mountpoint,
  sizeBytes: v.sizeBytes,
  usedBy: v.usedBy.map(toContainer),
  createdAt: v.createdAt,
});

export const toMeta = (m: MetaRecord): Meta => ({
  id: m.id,
  groupId: m.groupId,
  name: m.name,
  image: m.image,
  imageTag: m.imageTag,
  instances: m.instances,
  constraints: m.constraints,
  config: m.config,
  // never the secret token
  webhooks: m.webhooks.map((w) => ({ url: w.url, hasSecretToken: Boolean(w.secretToken) })),
  removeDelay: m.removeDelay,
  recovery: m.recovery,
  createdAt: m.createdAt,
  updatedAt: m.updatedAt,
  lastFailure: m.lastFailure ?? null,
});

export const toWebhookDelivery = (d: WebhookDeliveryRecord): WebhookDelivery => ({
  id: d.id,
  event: d.event,
  url: d.url,
  attempts: d.attempts,
  statusCode: d.statusCode,
  delivered: d.delivered,
  error: d.error,
  lastError: d.error,
  lastAttemptAt: d.lastAttemptAt,
  createdAt: d.createdAt,
});

export const toAuditEntry = (a: AuditRecord): AuditEntry => ({
  id: a.id,
  at: a.at,
  userId: a.userId,
  operation: a.operation,
  args: a.args,
  outcome: a.outcome === 'ok' ? AuditOutcome.OK : AuditOutcome.ERROR,
  error: a.error,
});
