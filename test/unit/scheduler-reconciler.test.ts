import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBus } from '../../core/bus.js';
import type { ContainerConfig } from '../../core/container-config.js';
import { ErrorCode, HumpbackError } from '../../core/errors.js';
import { clusterIdentity } from '../../core/labels.js';
import { EmbeddedStore } from '../../core/store/embedded-store.js';
import type { ContainerRecord, GroupRecord, NodeRecord } from '../../core/store/store.js';
import type { NodeStatus } from '../../core/domain.js';
import { ClusterCache } from '../../gateway/cluster/cluster-cache.js';
import type { ContainerAction } from '../../core/domain.js';
import { CHANNEL, type MetaEventMessage } from '../../core/bus/channels.js';
import type { Clock } from '../../scheduler/clock.js';
import { KeyedQueue } from '../../scheduler/meta-queue.js';
import { ClusterMetaService } from '../../scheduler/meta-service.js';
import type { SchedulerAgent } from '../../scheduler/reconciler.js';
import { SPEC_LABEL } from '../../scheduler/meta-spec.js';
import { Scheduler } from '../../scheduler/scheduler.js';
import type { HookPayload } from '../../scheduler/webhook-payload.js';

/** A clock whose time moves only when told; timers fire on `advance`. */
class ManualClock implements Clock {
  private t = Date.parse('2026-11-22T00:00:00Z');
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): () => void {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
  }
}

class MemoryBus implements EventBus {
  private readonly handlers = new Map<string, Set<(m: unknown) => void>>();
  readonly published: Array<{ channel: string; message: unknown }> = [];
  async publish(channel: string, message: unknown): Promise<void> {
    this.published.push({ channel, message });
    for (const h of this.handlers.get(channel) ?? []) h(structuredClone(message));
  }
  async publishMany(channel: string, messages: readonly unknown[]): Promise<void> {
    for (const m of messages) await this.publish(channel, m);
  }
  async subscribe(channel: string, handler: (m: unknown) => void): Promise<() => Promise<void>> {
    const set = this.handlers.get(channel) ?? new Set();
    set.add(handler);
    this.handlers.set(channel, set);
    return async () => void set.delete(handler);
  }
  async close(): Promise<void> {}
  events(): string[] {
    return this.published
      .filter((p) => p.channel === CHANNEL.metaEvent)
      .map((p) => (p.message as MetaEventMessage).event);
  }
}

/** Agents of a fake cluster: containers live in the ClusterCache, as the node watcher would keep them. */
class FakeCluster {
  readonly cache = new ClusterCache();
  private seq = 0;
  /** Nodes whose creates fail. */
  readonly failingNodes = new Set<string>();
  /** Images whose creates fail everywhere. */
  readonly missingImages = new Set<string>();
  creates = 0;
  /** Container ids inspected for webhook State details, in order. */
  readonly inspected: string[] = [];
  /** Whether the agents also offer createContainerDetailed (NodeAgent does). */
  detailedCreates = false;
  readonly operations: Array<{ id: string; action: ContainerAction }> = [];
  /** Containers that stay on an engine while its node is lost (what the engine still runs). */
  private readonly hidden = new Map<string, ContainerRecord[]>();

  constructor(nodes: number, groupId: string) {
    const group: GroupRecord = {
      id: groupId,
      name: 'g',
      clusterMode: true,
      servers: [],
      owners: [],
      createdAt: '',
      updatedAt: '',
    };
    for (let i = 1; i <= nodes; i++) {
      const node = this.node(i, 'HEALTHY');
      this.cache.upsertNode(node);
      group.servers.push(node.ip);
    }
    this.cache.setGroups([group]);
  }

  node(i: number, status: NodeStatus, labels: Record<string, string> = {}): NodeRecord {
    return {
      id: `node-${i}`,
      name: `host-${i}`,
      ip: `10.1.0.${i}`,
      apiAddr: `10.1.0.${i}:8500`,
      status,
      cpus: 4,
      memoryBytes: 8 * 2 ** 30,
      engineLabels: labels,
      os: 'linux',
      arch: 'amd64',
      updatedAt: '',
    };
  }

  setStatus(nodeId: string, status: NodeStatus): void {
    const node = this.cache.getNode(nodeId)!;
    this.cache.upsertNode({ ...node, status });
  }

  agentFor = (node: NodeRecord): SchedulerAgent => {
    const agent = this.plainAgent(node);
    if (!this.detailedCreates) return agent;
    return {
      ...agent,
      createContainerDetailed: async (nodeId: string, config: ContainerConfig) => {
        const container = await agent.createContainer(nodeId, config);
        return {
          container,
          detail: {
            pid: 2000 + this.creates,
            exitCode: 0,
            error: '',
            oomKilled: false,
            startedAt: '2026-11-22T00:00:01.5Z',
            finishedAt: '0001-01-01T00:00:00Z',
          },
        };
      },
    };
  };

  private plainAgent = (node: NodeRecord) => ({
    createContainer: async (nodeId: string, config: ContainerConfig): Promise<ContainerRecord> => {
      await new Promise((r) => setImmediate(r));
      if (this.failingNodes.has(node.id)) throw new Error(`engine on ${node.name} refuses`);
      if (this.missingImages.has(config.image)) throw new Error(`no such image ${config.image}`);
      if (this.cache.containersOfNode(nodeId).some((c) => c.name === config.name))
        throw new Error('409 name in use');
      this.creates++;
      const labels = config.labels ?? {};
      const id = clusterIdentity(labels);
      const c: ContainerRecord = {
        id: `c${++this.seq}`.padEnd(12, '0'),
        name: config.name,
        nodeId,
        image: config.image,
        state: 'RUNNING',
        status: 'Up',
        labels,
        groupId: id?.groupId,
        metaId: id?.metaId,
        index: id?.index,
        createdAt: new Date(Date.parse('2026-11-22T00:00:00Z') + this.seq * 1000).toISOString(),
      };
      return c;
    },
    operateContainer: async (id: string, action: ContainerAction) => {
      this.operations.push({ id, action });
    },
    removeContainer: async (_id: string) => {
      await new Promise((r) => setImmediate(r));
    },
    containerStateDetail: async (id: string) => {
      this.inspected.push(id);
      return {
        pid: 1000 + this.inspected.length,
        exitCode: 0,
        error: '',
        oomKilled: false,
        startedAt: '2026-11-22T00:00:00.123456789Z',
        finishedAt: '0001-01-01T00:00:00Z',
      };
    },
  });

  sink = {
    containers: async (upsert: readonly ContainerRecord[], remove: readonly string[]) => {
      for (const c of upsert) this.cache.upsertContainer(c);
      for (const id of remove) this.cache.removeContainer(id);
    },
  };

  /** Containers of a meta by node id. */
  spread(metaId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.cache.containersOfMeta(metaId)) out[c.nodeId] = (out[c.nodeId] ?? 0) + 1;
    return out;
  }

  indexes(metaId: string): number[] {
    return this.cache
      .containersOfMeta(metaId)
      .map((c) => c.index!)
      .sort((a, b) => a - b);
  }
}

const GROUP = '0123456789abcdef-group';
const config = (over: Partial<ContainerConfig> = {}): ContainerConfig => ({
  name: 'web',
  image: 'humpback-test/busybox:latest',
  command: ['sleep', '3600'],
  ...over,
});

describe('scheduler: metas on a fake cluster', () => {
  let dir: string;
  let store: EmbeddedStore;
  let cluster: FakeCluster;
  let bus: MemoryBus;
  let clock: ManualClock;
  let scheduler: Scheduler;
  let metas: ClusterMetaService;

  async function setup(
    nodes = 3,
    options: { migrateDelaySeconds?: number; removeDelaySeconds?: number } = {},
  ) {
    cluster = new FakeCluster(nodes, GROUP);
    bus = new MemoryBus();
    clock = new ManualClock();
    await store.put('groups', GROUP, cluster.cache.listGroups()[0]!);
    scheduler = new Scheduler({
      store,
      cluster: cluster.cache,
      sink: cluster.sink,
      agentFor: (node) => cluster.agentFor(node),
      bus,
      clock,
      migrateDelaySeconds: options.migrateDelaySeconds ?? 45,
      recoveryIntervalSeconds: 120,
      removeDelaySeconds: options.removeDelaySeconds ?? 0,
    });
    await scheduler.start();
    await scheduler.queue.idle();
    metas = new ClusterMetaService({ store, scheduler, clock });
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hb-sched-'));
    store = await EmbeddedStore.open(dir);
  });

  afterEach(async () => {
    await scheduler?.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports in meta events only the instances of HEALTHY nodes, with one inspect's State per container and state", async () => {
    await setup();
    const payloads = () =>
      bus.published
        .filter((p) => p.channel === CHANNEL.metaEvent)
        .map((p) => (p.message as MetaEventMessage).payload as HookPayload);
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    const ids = cluster.cache.containersOfMeta(meta.id).map((c) => c.id);
    const created = payloads().at(-1)!;
    expect(created.HookContainers.map((h) => h.Container.Id).sort()).toEqual([...ids].sort());
    expect(created.HookContainers.map((h) => h.Container.Status!.StartedAt)).toEqual(
      Array(3).fill('2026-11-22T00:00:00.123456789Z'),
    );
    expect(new Set(created.HookContainers.map((h) => h.Container.Status!.Pid))).toEqual(
      new Set([1001, 1002, 1003]),
    );
    expect([...cluster.inspected].sort()).toEqual([...ids].sort());
    // the same states: no inspect again, the same details
    await metas.update(meta.id, { removeDelay: true });
    expect(cluster.inspected).toHaveLength(3);
    expect(
      payloads()
        .at(-1)!
        .HookContainers.map((h) => h.Container.Status!.Pid)
        .sort(),
    ).toEqual([1001, 1002, 1003]);
    // a lost node's instance is not reported (humpback-center: healthy engines only)
    const onNode1 = cluster.cache.containersOfMeta(meta.id).find((c) => c.nodeId === 'node-1')!;
    cluster.setStatus('node-1', 'UNHEALTHY');
    await metas.update(meta.id, { removeDelay: false });
    const update = payloads().at(-1)!;
    expect(update.HookContainers.map((h) => h.Container.Id).sort()).toEqual(
      ids.filter((id) => id !== onNode1.id).sort(),
    );
    // a container whose state changed is inspected once more
    cluster.cache.upsertContainer({
      ...cluster.cache.containersOfMeta(meta.id).find((c) => c.nodeId === 'node-2')!,
      state: 'EXITED',
    });
    await metas.update(meta.id, { removeDelay: true });
    expect(cluster.inspected).toHaveLength(4);
  });

  it("takes the State details of a new instance from its create's answer, inspecting only after a change", async () => {
    await setup();
    cluster.detailedCreates = true;
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    const created = bus.published
      .filter((p) => p.channel === CHANNEL.metaEvent)
      .map((p) => (p.message as MetaEventMessage).payload as HookPayload)
      .at(-1)!;
    expect(created.HookContainers.map((h) => h.Container.Status!.Pid).sort()).toEqual([2001, 2002, 2003]);
    expect(created.HookContainers.map((h) => h.Container.Status!.StartedAt)).toEqual(
      Array(3).fill('2026-11-22T00:00:01.5Z'),
    );
    expect(cluster.inspected).toEqual([]);
    // a container whose state changed since its create is inspected
    const one = cluster.cache.containersOfMeta(meta.id)[0]!;
    cluster.cache.upsertContainer({ ...one, state: 'EXITED' });
    await metas.update(meta.id, { removeDelay: true });
    expect(cluster.inspected).toEqual([one.id]);
  });

  it('creates 6 instances 2 per node, named CLUSTER-<group8>-<name>-<index>', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 6, config: config() });
    expect(Object.values(cluster.spread(meta.id))).toEqual([2, 2, 2]);
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3, 4, 5, 6]);
    const names = cluster.cache.containersOfMeta(meta.id).map((c) => c.name);
    expect(names).toContain('CLUSTER-01234567-web-1');
    const c = cluster.cache.containersOfMeta(meta.id)[0]!;
    expect(c.labels['humpback.meta']).toBe(meta.id);
    expect(meta).toMatchObject({ image: 'humpback-test/busybox', imageTag: 'latest', instances: 6 });
    expect(bus.events()).toEqual(['CreateMetaEvent']);
  });

  it('scales to 9 and back to 3 without touching running instances', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 6, config: config() });
    const before = new Set(cluster.cache.containersOfMeta(meta.id).map((c) => c.id));
    await metas.update(meta.id, { instances: 9 });
    expect(Object.values(cluster.spread(meta.id))).toEqual([3, 3, 3]);
    const after = cluster.cache.containersOfMeta(meta.id);
    expect(after.filter((c) => before.has(c.id))).toHaveLength(6);
    await metas.update(meta.id, { instances: 3 });
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3]);
    expect(cluster.cache.containersOfMeta(meta.id).every((c) => before.has(c.id))).toBe(true);
    expect(bus.events()).toEqual(['CreateMetaEvent', 'UpdateMetaEvent', 'UpdateMetaEvent']);
  });

  it('places by constraint on engine labels and recreates when constraints change', async () => {
    await setup();
    cluster.cache.upsertNode(cluster.node(2, 'HEALTHY', { disk: 'ssd' }));
    const meta = await metas.create({
      groupId: GROUP,
      instances: 2,
      config: config(),
      constraints: ['engine.labels.disk==ssd'],
    });
    expect(cluster.spread(meta.id)).toEqual({ 'node-2': 2 });
    await metas.update(meta.id, { constraints: ['node.hostname!=host-2'] });
    const spread = cluster.spread(meta.id);
    expect(spread['node-2']).toBeUndefined();
    expect(cluster.indexes(meta.id)).toEqual([1, 2]);
  });

  it('places by node labels from setNodeLabels (the store)', async () => {
    await setup();
    await store.put('nodeLabels', 'node-3', { id: 'node-3', labels: { zone: 'east' } });
    const meta = await metas.create({
      groupId: GROUP,
      instances: 2,
      config: config(),
      constraints: ['node.labels.zone==east'],
    });
    expect(cluster.spread(meta.id)).toEqual({ 'node-3': 2 });
  });

  it('rejects bad constraints with BAD_USER_INPUT and writes nothing', async () => {
    await setup();
    await expect(
      metas.create({ groupId: GROUP, instances: 1, config: config(), constraints: ['node.colour==red'] }),
    ).rejects.toMatchObject({ extensions: { code: ErrorCode.BAD_USER_INPUT } });
    expect(await metas.list(GROUP)).toHaveLength(0);
  });

  it('recreates instances when the config changes', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    const before = new Set(cluster.cache.containersOfMeta(meta.id).map((c) => c.id));
    await metas.update(meta.id, { config: config({ env: ['A=1'] }) });
    const after = cluster.cache.containersOfMeta(meta.id);
    expect(after).toHaveLength(3);
    expect(after.some((c) => before.has(c.id))).toBe(false);
    expect(new Set(after.map((c) => c.labels[SPEC_LABEL])).size).toBe(1);
  });

  it('retries a failed create on another node', async () => {
    await setup();
    cluster.failingNodes.add('node-1');
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3]);
    expect(cluster.spread(meta.id)['node-1']).toBeUndefined();
  });

  it('says why instances could not be created, until a pass creates them', async () => {
    await setup();
    cluster.missingImages.add('reg:5000/app:1');
    const meta = await metas.create({
      groupId: GROUP,
      instances: 2,
      config: config({ image: 'reg:5000/app:1' }),
    });
    expect(cluster.indexes(meta.id)).toEqual([]);
    expect(meta.lastFailure?.message).toMatch(
      /^instance \d: .*no such image reg:5000\/app:1.* \(and 1 more\)$/,
    );
    expect((await store.get('metas', meta.id))?.lastFailure).toEqual(meta.lastFailure);

    cluster.missingImages.clear();
    const fixed = await metas.update(meta.id, { instances: 3 });
    await scheduler.queue.idle();
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3]);
    expect((await store.get('metas', fixed.id))?.lastFailure).toBeUndefined();
  });

  it('upgrades all instances on the same nodes and refuses the same tag', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    const nodesBefore = cluster.cache
      .containersOfMeta(meta.id)
      .map((c) => `${c.index}@${c.nodeId}`)
      .sort();
    const upgraded = await metas.upgrade(meta.id, 'v2');
    expect(upgraded.imageTag).toBe('v2');
    const after = cluster.cache.containersOfMeta(meta.id);
    expect(after.every((c) => c.image === 'humpback-test/busybox:v2')).toBe(true);
    expect(after.map((c) => `${c.index}@${c.nodeId}`).sort()).toEqual(nodesBefore);
    await expect(metas.upgrade(meta.id, 'v2')).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
    expect(bus.events()).toContain('UpgradeMetaEvent');
  });

  it('rolls an upgrade with a failing tag back, all or nothing', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    const placement = cluster.cache
      .containersOfMeta(meta.id)
      .map((c) => `${c.index}@${c.nodeId}`)
      .sort();
    // The second instance's node cannot get the new image: the first must be rolled back too.
    let n = 0;
    const original = cluster.agentFor;
    cluster.agentFor = (node) => {
      const agent = original(node);
      return {
        ...agent,
        createContainer: async (nodeId: string, cfg: ContainerConfig) => {
          if (cfg.image.endsWith(':broken') && ++n === 2) throw new Error('pull access denied');
          return agent.createContainer(nodeId, cfg);
        },
      };
    };
    await expect(metas.upgrade(meta.id, 'broken')).rejects.toThrow(/rolled back to latest/);
    const after = cluster.cache.containersOfMeta(meta.id);
    expect(after.every((c) => c.image === 'humpback-test/busybox:latest')).toBe(true);
    expect(after.map((c) => `${c.index}@${c.nodeId}`).sort()).toEqual(placement);
    expect((await metas.get(meta.id))!.imageTag).toBe('latest');
  });

  it('operates every instance and removes the meta with its containers', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 2, config: config() });
    await metas.operate(meta.id, 'STOP');
    expect(cluster.operations.map((o) => o.action)).toEqual(['STOP', 'STOP']);
    expect(await metas.remove(meta.id)).toBe(true);
    expect(cluster.cache.containersOfMeta(meta.id)).toHaveLength(0);
    expect(await metas.get(meta.id)).toBeUndefined();
    expect(bus.events()).toEqual(['CreateMetaEvent', 'OperateMetaEvent', 'RemoveMetaEvent']);
    expect(await metas.remove(meta.id)).toBe(false);
  });

  it('migrates a lost node after the delay, same names and indexes', async () => {
    await setup(3, { migrateDelaySeconds: 45 });
    const meta = await metas.create({ groupId: GROUP, instances: 6, config: config() });
    const lost = cluster.cache.containersOfNode('node-1').map((c) => c.index);
    cluster.setStatus('node-1', 'DISCONNECTED');
    scheduler.nodeStatus('node-1', 'DISCONNECTED');
    await clock.advance(44_000);
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(6);
    await clock.advance(2_000);
    await scheduler.queue.idle();
    const live = cluster.cache.containersOfMeta(meta.id).filter((c) => c.nodeId !== 'node-1');
    expect(live.map((c) => c.index).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(live.filter((c) => lost.includes(c.index)).every((c) => c.name.endsWith(`-${c.index}`))).toBe(
      true,
    );
    expect(bus.events()).toContain('MigrateMetaEvent');

    // The node comes back after the migration: its stale copies go.
    cluster.setStatus('node-1', 'HEALTHY');
    scheduler.nodeStatus('node-1', 'HEALTHY');
    await new Promise((r) => setTimeout(r, 10));
    await scheduler.queue.idle();
    expect(cluster.cache.containersOfNode('node-1').filter((c) => c.metaId === meta.id)).toHaveLength(0);
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('cancels migration when the node returns in time, and holds it while discovery is down', async () => {
    await setup(3, { migrateDelaySeconds: 45 });
    await metas.create({ groupId: GROUP, instances: 3, config: config() });
    cluster.setStatus('node-2', 'DISCONNECTED');
    scheduler.nodeStatus('node-2', 'DISCONNECTED');
    await clock.advance(30_000);
    cluster.setStatus('node-2', 'HEALTHY');
    scheduler.nodeStatus('node-2', 'HEALTHY');
    await clock.advance(60_000);
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(3);

    scheduler.freezeMigrations();
    cluster.setStatus('node-3', 'DISCONNECTED');
    scheduler.nodeStatus('node-3', 'DISCONNECTED');
    await clock.advance(100_000);
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(3);
    scheduler.thawMigrations();
    await clock.advance(46_000);
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(4);
  });

  it('answers META_BUSY while a meta migrates', async () => {
    await setup(3, { migrateDelaySeconds: 1 });
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = cluster.agentFor;
    cluster.agentFor = (node) => ({
      ...original(node),
      createContainer: async (nodeId: string, cfg: ContainerConfig) => {
        await gate;
        return original(node).createContainer(nodeId, cfg);
      },
    });
    cluster.setStatus('node-1', 'DISCONNECTED');
    scheduler.nodeStatus('node-1', 'DISCONNECTED');
    await clock.advance(1_000);
    let error: unknown;
    try {
      await metas.update(meta.id, { instances: 5 });
    } catch (e) {
      error = e;
    }
    expect((error as HumpbackError).code).toBe(ErrorCode.META_BUSY);
    release();
    await scheduler.queue.idle();
    await metas.update(meta.id, { instances: 5 });
    expect(cluster.cache.containersOfMeta(meta.id).filter((c) => c.nodeId !== 'node-1')).toHaveLength(5);
  });

  it('recovery recreates an instance removed by hand and removes surplus', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    const victim = cluster.cache.containersOfMeta(meta.id).find((c) => c.index === 1)!;
    cluster.cache.removeContainer(victim.id);
    await clock.advance(120_000);
    await new Promise((r) => setTimeout(r, 10));
    await scheduler.queue.idle();
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3]);
    expect(bus.events()).toContain('RecoveryMetaEvent');

    // A stray fourth copy (a duplicate index) is removed by the next pass.
    const copy = {
      ...cluster.cache.containersOfMeta(meta.id)[0]!,
      id: 'dup000000000',
      createdAt: '2020-01-01T00:00:00Z',
    };
    cluster.cache.upsertContainer({ ...copy, nodeId: copy.nodeId === 'node-1' ? 'node-2' : 'node-1' });
    await scheduler.recoveryPass();
    expect(cluster.cache.getContainer('dup000000000')).toBeUndefined();
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3]);
  });

  it('keeps an instance with the 0-based index of earlier versions and renames it on its next recreate', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 2, config: config() });
    // What an earlier version left: index 0 where index 2 would be now.
    const two = cluster.cache.containersOfMeta(meta.id).find((c) => c.index === 2)!;
    cluster.cache.removeContainer(two.id);
    const legacy: ContainerRecord = {
      ...two,
      id: 'legacy000000',
      name: 'CLUSTER-01234567-web-0',
      index: 0,
      labels: { ...two.labels, 'humpback.index': '0' },
    };
    cluster.cache.upsertContainer(legacy);
    await scheduler.recoveryPass();
    expect(cluster.cache.getContainer('legacy000000')).toBeDefined();
    expect(cluster.indexes(meta.id)).toEqual([0, 1]);

    await metas.upgrade(meta.id, 'v2');
    expect(cluster.cache.getContainer('legacy000000')).toBeUndefined();
    expect(cluster.indexes(meta.id)).toEqual([1, 2]);
    expect(
      cluster.cache
        .containersOfMeta(meta.id)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['CLUSTER-01234567-web-1', 'CLUSTER-01234567-web-2']);
  });

  it("adopts a v1 center's instances (no spec label) into the meta with the same ids", async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 2, config: config() });
    const [one, two] = cluster.cache.containersOfMeta(meta.id).sort((a, b) => a.index! - b.index!);
    // What v1 left: the same ids from its env, no humpback.* labels at all.
    cluster.cache.removeContainer(two!.id);
    cluster.cache.upsertContainer({ ...two!, id: 'v1inst000000', labels: {} });
    await scheduler.recoveryPass();
    expect(cluster.cache.getContainer('v1inst000000')).toBeDefined();
    expect(cluster.cache.getContainer(one!.id)).toBeDefined();
    expect(cluster.indexes(meta.id)).toEqual([1, 2]);
  });

  it('delays removal of surplus instances when the meta asks for it', async () => {
    await setup(3, { removeDelaySeconds: 30 });
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config(), removeDelay: true });
    await metas.update(meta.id, { instances: 1 });
    expect(cluster.cache.containersOfMeta(meta.id)).toHaveLength(3);
    await clock.advance(31_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(cluster.indexes(meta.id)).toEqual([1]);
  });

  it('rebuilds from labels without recreating anything', async () => {
    await setup();
    const meta = await metas.create({ groupId: GROUP, instances: 4, config: config() });
    const snapshot = cluster.cache.containersOfMeta(meta.id);
    // Lose the cache, then fill it again from what the engines report.
    for (const c of snapshot) cluster.cache.removeContainer(c.id);
    for (const c of snapshot) cluster.cache.upsertContainer(c);
    await scheduler.recoveryPass();
    expect(cluster.creates).toBe(4);
  });

  it('validates input', async () => {
    await setup();
    await expect(metas.create({ groupId: GROUP, instances: 0, config: config() })).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
    await expect(metas.create({ groupId: 'nope', instances: 1, config: config() })).rejects.toMatchObject({
      extensions: { code: ErrorCode.NOT_FOUND },
    });
    await expect(
      metas.create({ groupId: GROUP, instances: 1, config: config(), webhooks: [{ url: 'ftp://x' }] }),
    ).rejects.toMatchObject({ extensions: { code: ErrorCode.BAD_USER_INPUT } });
    // What an agent would refuse is refused before anything is stored or scheduled.
    await expect(
      metas.create({ groupId: GROUP, instances: 1, config: config({ env: ['=x'], memoryMB: 3 }) }),
    ).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
      message: expect.stringMatching(
        /config\.env\.0: .*; config\.memoryMB: must be 0 \(no limit\) or at least 6 MB/,
      ),
    });
    expect(await store.list('metas')).toEqual([]);
    expect(cluster.creates).toBe(0);
    await metas.create({ groupId: GROUP, instances: 1, config: config() });
    await expect(metas.create({ groupId: GROUP, instances: 1, config: config() })).rejects.toMatchObject({
      extensions: { code: ErrorCode.CONFLICT },
    });
  });

  it('a follower forwards mutations to the leader over the bus', async () => {
    await setup();
    const follower = new Scheduler({
      store,
      cluster: cluster.cache,
      agentFor: (node) => cluster.agentFor(node),
      bus,
      clock,
      leadership: { isLeader: () => false, onChange: () => () => undefined, close: async () => undefined },
    });
    await follower.start();
    const followerMetas = new ClusterMetaService({ store, scheduler: follower, clock });
    const meta = await followerMetas.create({ groupId: GROUP, instances: 3, config: config() });
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3]);
    await expect(followerMetas.upgrade(meta.id, 'latest')).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
    await follower.close();
  });
});

/** Leadership the test hands over and takes back. */
class ManualLeadership {
  private readonly listeners = new Set<(leader: boolean) => void>();
  constructor(private leader: boolean) {}
  isLeader = (): boolean => this.leader;
  onChange = (listener: (leader: boolean) => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };
  close = async (): Promise<void> => undefined;
  /** Changes leadership and lets the scheduler react. */
  async set(leader: boolean): Promise<void> {
    this.leader = leader;
    for (const l of this.listeners) l(leader);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('scheduler: leadership', () => {
  let dir: string;
  let store: EmbeddedStore;
  let scheduler: Scheduler | undefined;

  /** A scheduler on a fake cluster of 3 whose leadership the test controls. */
  async function world(
    leader: boolean,
    delays: { migrateDelaySeconds: number; recoveryIntervalSeconds: number },
  ) {
    const cluster = new FakeCluster(3, GROUP);
    await store.put('groups', GROUP, cluster.cache.listGroups()[0]!);
    const clock = new ManualClock();
    const leadership = new ManualLeadership(leader);
    scheduler = new Scheduler({
      store,
      cluster: cluster.cache,
      sink: cluster.sink,
      agentFor: (n) => cluster.agentFor(n),
      clock,
      leadership,
      ...delays,
    });
    await scheduler.start();
    const metas = new ClusterMetaService({ store, scheduler, clock });
    return { cluster, clock, leadership, scheduler, metas };
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hb-sched-lead-'));
    store = await EmbeddedStore.open(dir);
  });

  afterEach(async () => {
    await scheduler?.close();
    scheduler = undefined;
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a follower neither reconciles nor migrates; on taking over it converges what was left', async () => {
    const { cluster, clock, leadership, scheduler, metas } = await world(false, {
      migrateDelaySeconds: 1,
      recoveryIntervalSeconds: 5,
    });
    // No bus: a follower leaves the work to the leader; the desired state is stored.
    const meta = await metas.create({ groupId: GROUP, instances: 4, config: config() });
    expect(cluster.creates).toBe(0);
    await clock.advance(60_000);
    expect(cluster.creates).toBe(0);

    await leadership.set(true);
    await scheduler.queue.idle();
    expect(cluster.indexes(meta.id)).toEqual([1, 2, 3, 4]);

    // Stepping down stops migrations.
    await leadership.set(false);
    cluster.setStatus('node-1', 'DISCONNECTED');
    scheduler.nodeStatus('node-1', 'DISCONNECTED');
    await clock.advance(10_000);
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(4);
  });

  it('runs what it forwarded to a leader that is gone as soon as it leads, not after forwardTimeoutMs', async () => {
    const cluster = new FakeCluster(3, GROUP);
    await store.put('groups', GROUP, cluster.cache.listGroups()[0]!);
    const clock = new ManualClock();
    const leadership = new ManualLeadership(false);
    // the bus carries the command, but no leader is left to answer it
    scheduler = new Scheduler({
      store,
      cluster: cluster.cache,
      sink: cluster.sink,
      agentFor: (n) => cluster.agentFor(n),
      bus: new MemoryBus(),
      clock,
      leadership,
      recoveryIntervalSeconds: 600,
    });
    await scheduler.start();
    const metas = new ClusterMetaService({ store, scheduler, clock });
    let answered: { id: string; instances: number } | undefined;
    const creating = metas
      .create({ groupId: GROUP, instances: 2, config: config() })
      .then((m) => (answered = m));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBeUndefined();

    // The manual clock never reaches the 60 s forward timeout: only the takeover can answer.
    await leadership.set(true);
    const meta = await creating;
    await scheduler.queue.idle();
    expect(cluster.indexes(meta.id)).toEqual([1, 2]);
  });

  it("counts a lost node's migration delay from when it was lost, not from the takeover", async () => {
    const { cluster, clock, leadership, scheduler, metas } = await world(true, {
      migrateDelaySeconds: 45,
      recoveryIntervalSeconds: 600,
    });
    const meta = await metas.create({ groupId: GROUP, instances: 3, config: config() });
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(3);

    // The previous leader saw node-1 go 40 s ago, then died; this gateway takes over now.
    await leadership.set(false);
    const lostAt = new Date(clock.now() - 40_000).toISOString();
    cluster.cache.upsertNode({
      ...cluster.cache.getNode('node-1')!,
      status: 'UNHEALTHY',
      statusSince: lostAt,
    });
    await leadership.set(true);
    await scheduler.queue.idle();

    await clock.advance(4_000);
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(3);
    await clock.advance(2_000);
    await scheduler.queue.idle();
    expect(cluster.creates).toBe(4);
    const live = cluster.cache.containersOfMeta(meta.id).filter((c) => c.nodeId !== 'node-1');
    expect(live.map((c) => c.index).sort()).toEqual([1, 2, 3]);
  });
});

describe('per-meta queue', () => {
  it('serializes one key and runs different keys in parallel', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
    };
    await Promise.all([q.run('a', step('a1', 20)), q.run('a', step('a2', 1)), q.run('b', step('b1', 5))]);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
  });

  it('keeps going after a failure', async () => {
    const q = new KeyedQueue();
    await expect(q.run('a', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(q.run('a', async () => 1)).resolves.toBe(1);
    await q.idle();
    expect(q.busy('a')).toBe(false);
  });
});
