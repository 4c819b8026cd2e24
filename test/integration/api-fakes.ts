import { randomUUID } from 'node:crypto';
import type { EventBus } from '../../core/bus.js';
import { badInput, conflict, notFound } from '../../core/errors.js';
import { AttemptCounters } from '../../core/store/attempt-counters.js';
import {
  USAGE_RANGES,
  withSample,
  type UsageRange,
  type UsageSample,
  type UsageWrite,
} from '../../core/store/usage.js';
import {
  StoreConflictError,
  type AttemptLimit,
  type AttemptOutcome,
  type AuditEntry,
  type CollectionName,
  type Collections,
  type ContainerRecord,
  type GroupRecord,
  type MetaRecord,
  type NodeRecord,
  type Store,
  type WebhookDeliveryRecord,
} from '../../core/store/store.js';
import { StoreAuditService } from '../../gateway/services/audit-service.js';
import { StoreAuthService } from '../../gateway/services/auth-service.js';
import { StoreTeamService } from '../../gateway/services/team-service.js';
import { StoreUsageService } from '../../gateway/services/usage-service.js';
import { StoreNotificationService } from '../../gateway/services/notification-service.js';
import { assertClusterOffConfirmed } from '../../gateway/services/group-service.js';
import type {
  ContainerDetails,
  ContainerFilter,
  ContainerService,
  GroupService,
  ImageInfo,
  ImageService,
  NewVolume,
  VolumeInfo,
  VolumeService,
  MetaService,
  NodeService,
  Services,
} from '../../core/services.js';

/**
 * In-memory fakes of the gateway services, for proving the API layer (access, mapping, transport)
 * without Docker or Redis. The real services have their own tests.
 */

/** A minimal in-memory Store (no persistence). */
export class MemoryStore implements Store {
  private readonly data = new Map<CollectionName, Map<string, unknown>>();
  private readonly audit: AuditEntry[] = [];
  private readonly attempts = new AttemptCounters();

  private col(c: CollectionName): Map<string, unknown> {
    let m = this.data.get(c);
    if (!m) this.data.set(c, (m = new Map()));
    return m;
  }
  async get<C extends CollectionName>(c: C, id: string): Promise<Collections[C] | undefined> {
    return structuredClone(this.col(c).get(id)) as Collections[C] | undefined;
  }
  async list<C extends CollectionName>(c: C): Promise<Collections[C][]> {
    return [...this.col(c).values()].map((v) => structuredClone(v)) as Collections[C][];
  }
  async create<C extends CollectionName>(c: C, id: string, doc: Collections[C]): Promise<void> {
    if (this.col(c).has(id)) throw new StoreConflictError(c, id);
    this.col(c).set(id, structuredClone(doc));
  }
  async put<C extends CollectionName>(c: C, id: string, doc: Collections[C]): Promise<void> {
    this.col(c).set(id, structuredClone(doc));
  }
  async putMany<C extends CollectionName>(
    c: C,
    docs: ReadonlyArray<readonly [string, Collections[C]]>,
  ): Promise<void> {
    for (const [id, doc] of docs) this.col(c).set(id, structuredClone(doc));
  }
  async update<C extends CollectionName>(
    c: C,
    id: string,
    fn: (current: Collections[C] | undefined) => Collections[C] | undefined,
  ): Promise<Collections[C] | undefined> {
    const next = fn(structuredClone(this.col(c).get(id)) as Collections[C] | undefined);
    if (next === undefined) this.col(c).delete(id);
    else this.col(c).set(id, structuredClone(next));
    return next;
  }
  async delete(c: CollectionName, id: string): Promise<boolean> {
    return this.col(c).delete(id);
  }
  async deleteMany(c: CollectionName, ids: readonly string[]): Promise<void> {
    for (const id of ids) this.col(c).delete(id);
  }
  async clear(c: CollectionName): Promise<void> {
    this.col(c).clear();
  }
  async appendAudit(entry: AuditEntry): Promise<void> {
    this.audit.push(structuredClone(entry));
  }
  async listAudit(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]> {
    let end = this.audit.length;
    if (options.before !== undefined)
      end = Math.max(
        0,
        this.audit.findIndex((e) => e.id === options.before),
      );
    return this.audit.slice(Math.max(0, end - options.limit), end).reverse();
  }
  async countAttempt(limits: readonly AttemptLimit[], now: number): Promise<AttemptOutcome> {
    return this.attempts.count(limits, now);
  }
  async settleAttempt(keys: { reset: readonly string[]; release: readonly string[] }): Promise<void> {
    this.attempts.settle(keys);
  }
  private readonly usage = new Map<string, UsageSample[]>();
  async addUsage(points: readonly UsageWrite[]): Promise<void> {
    for (const p of points) {
      const key = `${p.range}:${p.series}`;
      this.usage.set(key, withSample(this.usage.get(key) ?? [], p.range, { ...p.sample }));
    }
  }
  async usageHistory(series: readonly string[], range: UsageRange, since: number): Promise<UsageSample[][]> {
    return series.map((s) => (this.usage.get(`${range}:${s}`) ?? []).filter((p) => p.at >= since));
  }
  async deleteUsage(series: readonly string[]): Promise<void> {
    for (const s of series) for (const r of USAGE_RANGES) this.usage.delete(`${r}:${s}`);
  }
  async close(): Promise<void> {}
}

/** An EventBus in one process; handlers run in a microtask, like the real local bus. */
export class MemoryBus implements EventBus {
  private readonly handlers = new Map<string, Set<(m: unknown) => void>>();
  subscriptions = 0;
  async publish(channel: string, message: unknown): Promise<void> {
    const set = this.handlers.get(channel);
    if (!set) return;
    const copy: unknown = JSON.parse(JSON.stringify(message));
    queueMicrotask(() => {
      for (const h of set) h(copy);
    });
  }
  async publishMany(channel: string, messages: readonly unknown[]): Promise<void> {
    for (const m of messages) await this.publish(channel, m);
  }
  async subscribe(channel: string, handler: (m: unknown) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    this.subscriptions++;
    return async () => {
      set.delete(handler);
    };
  }
  async close(): Promise<void> {
    this.handlers.clear();
  }
}

const now = () => new Date().toISOString();

export class FakeGroups implements GroupService {
  readonly groups = new Map<string, GroupRecord>();
  /** The metas turning cluster mode off would remove (the real service's confirmation rule). */
  constructor(private readonly metas: MetaService) {}
  async list() {
    return [...this.groups.values()];
  }
  async get(id: string) {
    return this.groups.get(id);
  }
  async create(
    input: { name: string; description?: string | undefined; clusterMode: boolean; servers: string[] },
    owner: { userId: string },
  ) {
    const group: GroupRecord = {
      id: randomUUID(),
      name: input.name,
      description: input.description,
      clusterMode: input.clusterMode,
      servers: input.servers.map((s) => s.toLowerCase()),
      owners: [owner.userId],
      createdAt: now(),
      updatedAt: now(),
    };
    this.groups.set(group.id, group);
    return group;
  }
  async update(
    id: string,
    input: Partial<GroupRecord> & { confirmRemoveClusterContainers?: boolean | undefined },
  ) {
    const group = this.groups.get(id);
    if (!group) throw notFound('group', id);
    assertClusterOffConfirmed(group, input, await this.metas.list(id));
    const next: GroupRecord = { ...group, updatedAt: now() };
    if (input.name !== undefined) next.name = input.name;
    if (input.description !== undefined) next.description = input.description;
    if (input.clusterMode !== undefined) next.clusterMode = input.clusterMode;
    if (input.servers !== undefined) next.servers = input.servers;
    if (input.owners !== undefined) next.owners = input.owners;
    this.groups.set(id, next);
    return next;
  }
  async delete(id: string) {
    return this.groups.delete(id);
  }
  async addServer(groupId: string, address: string) {
    const group = this.groups.get(groupId);
    if (!group) throw notFound('group', groupId);
    if (group.servers.includes(address.toLowerCase())) throw conflict(`${address} is already in the group`);
    group.servers = [...group.servers, address.toLowerCase()];
    return group;
  }
  async removeServer(groupId: string, address: string) {
    const group = this.groups.get(groupId);
    if (!group) throw notFound('group', groupId);
    group.servers = group.servers.filter((s) => s !== address.toLowerCase());
    return group;
  }
}

export class FakeNodes implements NodeService {
  readonly nodes = new Map<string, NodeRecord>();
  readonly nodeLabels = new Map<string, Record<string, string>>();
  constructor(private readonly groups: FakeGroups) {}
  add(partial: Partial<NodeRecord> & { id: string; ip: string; name: string }): NodeRecord {
    const node: NodeRecord = {
      apiAddr: `${partial.ip}:8500`,
      status: 'HEALTHY',
      cpus: 2,
      memoryBytes: 4 * 2 ** 30,
      engineLabels: {},
      updatedAt: now(),
      ...partial,
    };
    this.nodes.set(node.id, node);
    return node;
  }
  groupsOfSync(nodeId: string): string[] {
    const node = this.nodes.get(nodeId);
    if (!node) return [];
    return [...this.groups.groups.values()]
      .filter((g) => g.servers.some((s) => s === node.ip || s === node.name.toLowerCase()))
      .map((g) => g.id);
  }
  async list(filter: { groupId?: string | undefined; status?: string | undefined }) {
    return [...this.nodes.values()].filter(
      (n) =>
        (!filter.groupId || this.groupsOfSync(n.id).includes(filter.groupId)) &&
        (!filter.status || n.status === filter.status),
    );
  }
  async get(idOrAddress: string) {
    const key = idOrAddress.toLowerCase();
    return (
      this.nodes.get(idOrAddress) ??
      [...this.nodes.values()].find((n) => n.ip === key || n.name.toLowerCase() === key)
    );
  }
  async labels(nodeId: string) {
    return this.nodeLabels.get(nodeId) ?? {};
  }
  async setLabels(nodeId: string, labels: Record<string, string>) {
    this.nodeLabels.set(nodeId, labels);
    return this.nodes.get(nodeId)!;
  }
  async groupsOf(nodeId: string) {
    return this.groupsOfSync(nodeId);
  }
}

export class FakeContainers implements ContainerService {
  readonly containers: ContainerRecord[] = [];
  /** Set to make every call throw this (to test error masking). */
  failWith: Error | undefined;
  constructor(private readonly nodes: FakeNodes) {}
  add(partial: Partial<ContainerRecord> & { id: string; nodeId: string; name: string }): ContainerRecord {
    const c: ContainerRecord = {
      image: 'humpback-test/busybox:latest',
      state: 'RUNNING',
      status: 'Up 1 minute',
      labels: {},
      createdAt: now(),
      ...partial,
    };
    this.containers.push(c);
    return c;
  }
  private matches(c: ContainerRecord, f: ContainerFilter): boolean {
    if (f.nodeId && c.nodeId !== f.nodeId) return false;
    if (f.metaId && c.metaId !== f.metaId) return false;
    if (f.state && c.state !== f.state) return false;
    if (f.groupIds) {
      const groups = this.nodes.groupsOfSync(c.nodeId);
      if (c.groupId) groups.push(c.groupId);
      if (!groups.some((g) => f.groupIds!.includes(g))) return false;
    }
    return true;
  }
  async list(filter: ContainerFilter, page: { first: number; after?: string | undefined }) {
    if (this.failWith) throw this.failWith;
    const all = this.containers.filter((c) => this.matches(c, filter));
    const start = page.after ? Number(Buffer.from(page.after, 'base64url').toString()) + 1 : 0;
    const nodes = all.slice(start, start + page.first);
    const endIndex = start + nodes.length - 1;
    return {
      nodes,
      totalCount: all.length,
      endCursor: nodes.length ? Buffer.from(String(endIndex)).toString('base64url') : null,
      hasNextPage: endIndex + 1 < all.length,
    };
  }
  async get(idOrPrefix: string) {
    if (this.failWith) throw this.failWith;
    const found = this.containers.filter((c) => c.id.startsWith(idOrPrefix));
    if (found.length > 1) throw badInput(`container prefix ${idOrPrefix} is ambiguous`, 'id');
    return found[0];
  }
  async create(nodeId: string, config: { name: string; image: string }) {
    if (this.containers.some((c) => c.name === config.name))
      throw conflict(`container name ${config.name} is in use`);
    return this.add({ id: randomUUID().replace(/-/g, ''), nodeId, name: config.name, image: config.image });
  }
  async operate(id: string, action: string) {
    const c = this.containers.find((x) => x.id === id);
    if (!c) throw notFound('container', id);
    c.state = action === 'STOP' || action === 'KILL' ? 'EXITED' : action === 'PAUSE' ? 'PAUSED' : 'RUNNING';
    return c;
  }
  async remove(id: string) {
    const i = this.containers.findIndex((x) => x.id === id);
    if (i < 0) return false;
    this.containers.splice(i, 1);
    return true;
  }
  async logs(id: string, tail: number) {
    return [`log of ${id}`, `tail ${tail}`];
  }
  async stats(id: string) {
    return {
      at: '2026-11-22T00:00:00.000Z',
      cpuPercent: id.length,
      memoryUsageBytes: 1024,
      memoryLimitBytes: 4096,
      networkRxBytes: 0,
      networkTxBytes: 0,
    };
  }
  async details(): Promise<ContainerDetails> {
    throw new Error('not in this fake');
  }
  async rename(): Promise<ContainerRecord> {
    throw new Error('not in this fake');
  }
  async upgrade(): Promise<ContainerRecord> {
    throw new Error('not in this fake');
  }
}

/** The live streams and the console are not in the fakes: they need real engines. */
const noStreams: Services['streams'] = {
  logs: () => Promise.reject(new Error('not in this fake')),
  stats: () => Promise.reject(new Error('not in this fake')),
  counts: () => ({ logs: { open: 0, opened: 0 }, stats: { open: 0, opened: 0 } }),
};
const noExec: Services['exec'] = {
  start: () => Promise.reject(new Error('not in this fake')),
  connect: () => Promise.reject(new Error('not in this fake')),
};

export class FakeImages implements ImageService {
  async list(): Promise<ImageInfo[]> {
    return [{ id: 'sha256:1', tags: ['humpback-test/busybox:latest'], sizeBytes: 1_000_000 }];
  }
  async pull(_nodeId: string, image: string): Promise<ImageInfo> {
    return { id: 'sha256:2', tags: [image], sizeBytes: 1 };
  }
  async remove(): Promise<boolean> {
    return true;
  }
}

/** Volumes per node in memory; a volume `used-<group>` is used by a container of that group. */
export class FakeVolumes implements VolumeService {
  readonly volumes = new Map<string, VolumeInfo>();
  async list(nodeId: string): Promise<VolumeInfo[]> {
    return [...this.volumes.values()].filter((v) => v.nodeId === nodeId);
  }
  /** Every name is a volume of nobody's (unless made): the rules, not the fake, decide. */
  async get(nodeId: string, name: string): Promise<VolumeInfo | undefined> {
    return (
      this.volumes.get(`${nodeId}/${name}`) ?? {
        name,
        nodeId,
        driver: 'local',
        options: {},
        labels: {},
        usedBy: [],
      }
    );
  }
  async create(nodeId: string, input: NewVolume): Promise<VolumeInfo> {
    const v: VolumeInfo = { name: input.name, nodeId, driver: 'local', options: {}, labels: {}, usedBy: [] };
    this.volumes.set(`${nodeId}/${input.name}`, v);
    return v;
  }
  async remove(nodeId: string, name: string): Promise<boolean> {
    return this.volumes.delete(`${nodeId}/${name}`);
  }
  async clear(): Promise<boolean> {
    return true;
  }
  async archive(): Promise<ReadableStream<Uint8Array>> {
    return new Blob([]).stream();
  }
  async restore(): Promise<boolean> {
    return true;
  }
}

export class FakeMetas implements MetaService {
  readonly metas = new Map<string, MetaRecord>();
  readonly deliveryRecords: WebhookDeliveryRecord[] = [];
  async list(groupId: string) {
    return [...this.metas.values()].filter((m) => m.groupId === groupId);
  }
  async get(id: string) {
    return this.metas.get(id);
  }
  async create(input: Parameters<MetaService['create']>[0]) {
    const [image, tag] = input.config.image.split(':');
    const meta: MetaRecord = {
      id: randomUUID(),
      groupId: input.groupId,
      name: input.config.name,
      image: image!,
      imageTag: tag ?? 'latest',
      instances: input.instances,
      config: input.config,
      constraints: input.constraints ?? [],
      webhooks: input.webhooks ?? [],
      removeDelay: input.removeDelay ?? false,
      recovery: input.recovery ?? true,
      createdAt: now(),
      updatedAt: now(),
    };
    this.metas.set(meta.id, meta);
    return meta;
  }
  async update(id: string, input: Parameters<MetaService['update']>[1]) {
    const meta = this.metas.get(id);
    if (!meta) throw notFound('meta', id);
    if (input.instances !== undefined) meta.instances = input.instances;
    if (input.webhooks !== undefined) meta.webhooks = input.webhooks;
    return meta;
  }
  async upgrade(id: string, imageTag: string) {
    const meta = this.metas.get(id);
    if (!meta) throw notFound('meta', id);
    if (meta.imageTag === imageTag) throw badInput('the meta already runs this tag', 'imageTag');
    meta.imageTag = imageTag;
    return meta;
  }
  async operate(id: string) {
    const meta = this.metas.get(id);
    if (!meta) throw notFound('meta', id);
    return meta;
  }
  async remove(id: string) {
    return this.metas.delete(id);
  }
  async deliveries(metaId: string, first: number) {
    return this.deliveryRecords.filter((d) => d.metaId === metaId).slice(0, first);
  }
}

export interface FakeWorld {
  services: Services;
  store: MemoryStore;
  bus: MemoryBus;
  groups: FakeGroups;
  nodes: FakeNodes;
  containers: FakeContainers;
  metas: FakeMetas;
  auth: StoreAuthService;
}

/** A service the fakes do not have: every call says so (tests/integration/registries.test.ts has the real ones). */
function notInFakes<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: () => async () => {
      throw new Error(`${what} are not part of the fake world`);
    },
  });
}

/** Fake services with a real StoreAuthService and StoreAuditService on a MemoryStore. */
export async function createFakeWorld(
  options: { adminPassword?: string; maxFailedLogins?: number; tokenTtlSeconds?: number } = {},
): Promise<FakeWorld> {
  const store = new MemoryStore();
  const auth = await StoreAuthService.open({
    store,
    config: { jwtSecret: undefined, adminPassword: options.adminPassword ?? 'admin-password' },
    bcryptRounds: 4,
    maxFailedLogins: options.maxFailedLogins ?? 5,
    // long enough that a test never outlasts it by accident
    loginBackoffMs: 60_000,
    tokenTtlSeconds: options.tokenTtlSeconds,
  });
  const metas = new FakeMetas();
  const groups = new FakeGroups(metas);
  const nodes = new FakeNodes(groups);
  const containers = new FakeContainers(nodes);
  const services: Services = {
    auth,
    groups,
    nodes,
    containers,
    images: new FakeImages(),
    volumes: new FakeVolumes(),
    metas,
    audit: new StoreAuditService(store),
    tokens: auth.tokens,
    teams: new StoreTeamService({ store, onChange: () => auth.accessChanged() }),
    usage: new StoreUsageService(store),
    notifications: new StoreNotificationService(store),
    registries: notInFakes<Services['registries']>('registries'),
    imageJobs: notInFakes<Services['imageJobs']>('image jobs'),
    streams: noStreams,
    exec: noExec,
  };
  return { services, store, bus: new MemoryBus(), groups, nodes, containers, metas, auth };
}
