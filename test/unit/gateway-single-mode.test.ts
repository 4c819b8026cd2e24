import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventsOptions } from '../../agent/client.js';
import { AgentError, AgentUnreachableError } from '../../agent/client-errors.js';
import type { AgentContainer, AgentContainerStats, AgentEvent } from '../../agent/client-types.js';
import type { ContainerConfig } from '../../core/container-config.js';
import { LocalBus } from '../../core/bus/local-bus.js';
import { EmbeddedStore } from '../../core/store/embedded-store.js';
import { logger } from '../../core/logger.js';
import { ErrorCode, HumpbackError } from '../../core/errors.js';
import { AgentPool, containerRecord, type AgentApi } from '../../gateway/cluster/agent-pool.js';
import { CacheWriter, followCacheSync } from '../../gateway/cluster/cache-writer.js';
import { ClusterCache } from '../../gateway/cluster/cluster-cache.js';
import { NodeWatcher } from '../../gateway/cluster/node-watcher.js';
import { StoreGroupService } from '../../gateway/services/group-service.js';
import { CacheNodeService } from '../../gateway/services/node-service.js';
import { AgentContainerService } from '../../gateway/services/container-service.js';
import { CHANNEL, type ContainerStatusMessage, type NodeStatusMessage } from '../../core/bus/channels.js';
import type { NodeRegistration } from '../../core/node-data.js';

const notInFake = (): Promise<never> => Promise.reject(new Error('not in this fake'));

/** An agent with an in-memory "engine": enough Docker for the watcher and the services. */
class FakeAgent implements AgentApi {
  down = false;
  readonly containers = new Map<string, AgentContainer>();
  private readonly streams = new Set<{ onEvent: (e: AgentEvent) => void; options: EventsOptions }>();
  private seq = 0;

  constructor(
    readonly key: string,
    readonly ip: string,
  ) {}

  private guard(): void {
    if (this.down) throw new AgentUnreachableError(`http://${this.ip}:8500/v1/x`, new Error('ECONNREFUSED'));
  }

  emit(action: string, c: AgentContainer): void {
    const now = Date.now();
    const event: AgentEvent = {
      action,
      id: c.id,
      name: c.name,
      image: c.image,
      attributes: { name: c.name, image: c.image, ...c.labels },
      time: Math.floor(now / 1000),
      timeNano: now * 1e6,
    };
    for (const s of this.streams) s.onEvent(event);
  }

  /** The agent dies: calls fail and open streams drop. */
  kill(): void {
    this.down = true;
    for (const s of this.streams) s.options.onDisconnect?.(new Error('connection reset'));
  }

  async ping(): Promise<{ appVersion: string; dockerVersion: string }> {
    this.guard();
    return { appVersion: 'test', dockerVersion: '25.0' };
  }

  /** How often `/nodeinfo` was asked. */
  nodeInfoCalls = 0;

  async nodeInfo(): Promise<NodeRegistration> {
    this.nodeInfoCalls++;
    this.guard();
    return this.registration();
  }

  /** A status line and a stats line on every open stream, as an agent asked for them sends. */
  push(memoryUsed: number, stats: Array<AgentContainerStats & { id: string }>): void {
    for (const s of this.streams) {
      s.options.onStatus?.({ ...this.registration(), data: { ...this.registration().data, memoryUsed } });
      s.options.onStats?.(stats);
    }
  }

  /** What the streams asked for: the status and stats intervals. */
  streamIntervals(): Array<{ statusMs?: number | undefined; statsMs?: number | undefined }> {
    return [...this.streams].map(({ options: { statusMs, statsMs } }) => ({ statusMs, statsMs }));
  }

  private registration(): NodeRegistration {
    return {
      key: this.key,
      data: {
        id: 'engine',
        name: `host-${this.key}`,
        ip: this.ip,
        apiaddr: `${this.ip}:8500`,
        cpus: 2,
        memory: 2e9,
        storagedirver: 'vfs',
        kernelversion: '6',
        architecture: 'x86_64',
        operatingsystem: 'Debian',
        ostype: 'linux',
        lables: ['zone=a'],
        appversion: 'test',
        dockerversion: '25.0',
        cpuPercent: 1,
        memoryUsed: 1e9,
        containers: { total: 0, running: 0, paused: 0, stopped: 0 },
        timestamp: new Date().toISOString(),
      },
    };
  }

  /** When set, a list answers with the containers of the moment it was asked, once this settles. */
  listHold: Promise<void> | undefined;

  /** How often the container list was asked. */
  listCalls = 0;

  async listContainers(): Promise<AgentContainer[]> {
    this.listCalls++;
    this.guard();
    const list = [...this.containers.values()].map((c) => ({ ...c }));
    await this.listHold;
    return list;
  }

  async getContainer(id: string): Promise<AgentContainer> {
    this.guard();
    const c = this.containers.get(id);
    if (!c) throw new AgentError(404, { Message: `no container ${id}` }, 'http://x');
    return { ...c };
  }

  async createContainer(config: ContainerConfig): Promise<AgentContainer> {
    this.guard();
    if ([...this.containers.values()].some((c) => c.name === config.name)) {
      throw new AgentError(409, { Message: `name ${config.name} in use` }, 'http://x');
    }
    const id = (++this.seq).toString(16).padStart(8, '0') + this.key.padEnd(56, '0');
    const c: AgentContainer = {
      id,
      name: config.name,
      image: config.image,
      state: 'running',
      status: 'Up Less than a second',
      labels: config.labels ?? {},
      created: new Date().toISOString(),
      exitCode: 0,
      startedAt: new Date().toISOString(),
      finishedAt: '',
      pid: 4242,
      oomKilled: false,
      error: '',
      ports: [],
      config,
    };
    this.containers.set(id, c);
    this.emit('create', c);
    this.emit('start', c);
    return { ...c };
  }

  async operateContainer(id: string, action: string): Promise<AgentContainer> {
    this.guard();
    const c = this.containers.get(id);
    if (!c) throw new AgentError(404, { Message: `no container ${id}` }, 'http://x');
    if (action === 'stop' || action === 'kill') {
      c.state = 'exited';
      c.status = 'Exited (0) Less than a second ago';
      this.emit('die', c);
    } else if (action === 'start' || action === 'restart') {
      c.state = 'running';
      c.status = 'Up Less than a second';
      this.emit('start', c);
    }
    return { ...c };
  }

  async removeContainer(id: string): Promise<void> {
    this.guard();
    const c = this.containers.get(id);
    if (!c) throw new AgentError(404, { Message: `no container ${id}` }, 'http://x');
    this.containers.delete(id);
    this.emit('destroy', c);
  }

  // The live streams, details and exec need a real engine (test/integration/container-live.test.ts).
  upgradeContainer = notInFake;
  inspectContainer = notInFake;
  logLines = notInFake;
  statsStream = notInFake;
  createExec = notInFake;
  attachExec = notInFake;

  async logs(): Promise<string[]> {
    this.guard();
    return ['hello'];
  }

  async stats() {
    this.guard();
    return {
      at: new Date().toISOString(),
      cpuPercent: 1,
      memoryUsageBytes: 1,
      memoryLimitBytes: 2,
      networkRxBytes: 0,
      networkTxBytes: 0,
    };
  }

  async allStats(): Promise<never[]> {
    this.guard();
    return [];
  }

  async images(): Promise<never[]> {
    this.guard();
    return [];
  }

  async pullImage(): Promise<never> {
    throw new Error('not in this fake');
  }

  async removeImage(): Promise<void> {}

  // Volumes are not part of these tests: the real agent's volume routes are in volumes.test.ts.
  async volumes(): Promise<never[]> {
    return [];
  }
  createVolume(): Promise<never> {
    throw new Error('not used');
  }
  async removeVolume(): Promise<void> {}
  async clearVolume(): Promise<void> {}
  volumeArchive(): Promise<never> {
    throw new Error('not used');
  }
  async restoreVolume(): Promise<void> {}

  async events(
    _since: number | Date | undefined,
    onEvent: (event: AgentEvent) => void,
    signal: AbortSignal,
    options: EventsOptions = {},
  ): Promise<void> {
    this.guard();
    const entry = { onEvent, options };
    this.streams.add(entry);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.streams.delete(entry);
  }
}

/** Collects bus messages of one channel; `next` waits for one that matches. */
class Recorder<T> {
  readonly seen: T[] = [];
  private waiters: Array<{ test: (m: T) => boolean; resolve: (m: T) => void }> = [];

  push(message: T): void {
    this.seen.push(message);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(message)) return true;
      w.resolve(message);
      return false;
    });
  }

  next(test: (m: T) => boolean, timeoutMs = 3000): Promise<T> {
    const found = this.seen.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching message in time')), timeoutMs);
      this.waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }
}

describe('single mode over fake agents', () => {
  let dir: string;
  let store: EmbeddedStore;
  let bus: LocalBus;
  let cache: ClusterCache;
  let watcher: NodeWatcher;
  let pool: AgentPool;
  let writer: CacheWriter;
  let agents: Map<string, FakeAgent>;
  let groups: StoreGroupService;
  let nodes: CacheNodeService;
  let containers: AgentContainerService;
  let containerEvents: Recorder<ContainerStatusMessage>;
  let nodeEvents: Recorder<NodeStatusMessage>;
  const admin = { userId: 'admin', username: 'admin', admin: true };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hb-single-'));
    store = await EmbeddedStore.open(dir, { logger });
    bus = new LocalBus({ logger });
    cache = new ClusterCache();
    agents = new Map([
      ['10.1.0.1:8500', new FakeAgent('node-a', '10.1.0.1')],
      ['10.1.0.2:8500', new FakeAgent('node-b', '10.1.0.2')],
    ]);
    pool = new AgentPool((address) => {
      const agent = agents.get(address);
      if (!agent) throw new Error(`no fake agent at ${address}`);
      return agent;
    });
    writer = new CacheWriter({ cache, store, bus, origin: 'gw1', logger });
    watcher = new NodeWatcher({
      cache,
      writer,
      pool,
      logger,
      healthIntervalMs: 50,
      failureThreshold: 2,
      eventResyncDelayMs: 20,
    });
    groups = new StoreGroupService({ store, writer, onChange: () => void watcher.refresh() });
    nodes = new CacheNodeService({ cache, store });
    containers = new AgentContainerService({
      cache,
      writer,
      pool,
      logger,
      feedback: { unreachable: (id) => void watcher.checkNow(id) },
    });
    containerEvents = new Recorder();
    nodeEvents = new Recorder();
    await bus.subscribe(CHANNEL.containerStatus, (m) => containerEvents.push(m as ContainerStatusMessage));
    await bus.subscribe(CHANNEL.nodeStatus, (m) => nodeEvents.push(m as NodeStatusMessage));
    await watcher.start();
  });

  afterEach(async () => {
    await watcher.stop();
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings the servers of a group to HEALTHY through PENDING', async () => {
    const group = await groups.create(
      { name: 'g', clusterMode: false, servers: ['10.1.0.1', '10.1.0.2:8500'] },
      admin,
    );
    const pending = await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'PENDING');
    expect(pending.previousStatus).toBeNull();
    const healthy = await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
    expect(healthy.previousStatus).toBe('PENDING');
    expect(healthy.groupIds).toEqual([group.id]);
    await nodeEvents.next((m) => m.node.id === 'node-b' && m.node.status === 'HEALTHY');
    expect((await nodes.list({ groupId: group.id })).map((n) => n.id)).toEqual(['node-a', 'node-b']);
    expect((await nodes.get('10.1.0.1'))?.engineLabels).toEqual({ zone: 'a' });
    expect(await store.get('nodes', 'node-b')).toMatchObject({ status: 'HEALTHY', apiAddr: '10.1.0.2:8500' });
  });

  it('creates, stops and removes a container, with status events and a consistent cache', async () => {
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
    // A config the agent would refuse is refused here, with the field named.
    await expect(
      containers.create('10.1.0.1', { name: 'web', image: 'busybox', memoryMB: 2 }),
    ).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
      message: 'config.memoryMB: must be 0 (no limit) or at least 6 MB',
    });
    const created = await containers.create('10.1.0.1', { name: 'web', image: 'busybox' });
    expect(created).toMatchObject({ name: 'web', nodeId: 'node-a', state: 'RUNNING' });
    await containerEvents.next((m) => m.container.id === created.id && m.container.state === 'RUNNING');
    expect((await containers.list({ nodeId: 'node-a' }, { first: 10 })).totalCount).toBe(1);

    await expect(containers.create('node-a', { name: 'web', image: 'busybox' })).rejects.toMatchObject({
      extensions: { code: ErrorCode.CONFLICT },
    });

    const stopped = await containers.operate(created.id.slice(0, 8), 'STOP');
    expect(stopped.state).toBe('EXITED');
    const exited = await containerEvents.next(
      (m) => m.container.id === created.id && m.container.state === 'EXITED',
    );
    expect(exited.previousState).toBe('RUNNING');
    expect(await containers.logs(created.id, 10)).toEqual(['hello']);

    expect(await containers.remove(created.id, false)).toBe(true);
    await containerEvents.next((m) => m.container.id === created.id && m.container.state === 'REMOVING');
    expect(await containers.get(created.id)).toBeUndefined();
    expect(await store.get('containers', created.id)).toBeUndefined();
  });

  it('follows changes made behind its back through the event stream and resync', async () => {
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.2'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-b' && m.node.status === 'HEALTHY');
    const agent = agents.get('10.1.0.2:8500')!;
    // Someone creates a container with the docker CLI.
    await agent.createContainer({ name: 'outside', image: 'busybox' });
    const seen = await containerEvents.next(
      (m) => m.container.name === 'outside' && m.container.state === 'RUNNING',
    );
    const c = agent.containers.get(seen.container.id)!;
    c.state = 'exited';
    c.status = 'Exited (137) 1 second ago';
    agent.emit('die', c);
    await containerEvents.next((m) => m.container.id === c.id && m.container.state === 'EXITED');
    // The resync after the burst brings Docker's own status text.
    await waitUntil(() => cache.getContainer(c.id)?.status === 'Exited (137) 1 second ago');
  });

  it('lists a node whose events keep coming at most once per nodes / maxResyncsPerSecond', async () => {
    await watcher.stop();
    // 2 nodes at 4 lists a second: one list per node and 500 ms at most.
    watcher = new NodeWatcher({
      cache,
      writer,
      pool,
      logger,
      eventResyncDelayMs: 20,
      maxResyncsPerSecond: 4,
    });
    await watcher.start();
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1', '10.1.0.2'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
    const agent = agents.get('10.1.0.1:8500')!;
    const c = await agent.createContainer({ name: 'busy', image: 'busybox' });
    await waitUntil(() => cache.getContainer(c.id)?.state === 'RUNNING');
    const before = agent.listCalls;
    // An event every 40 ms for 1.2 s: each would be its own list after its 20 ms otherwise (30).
    for (let i = 0; i < 30; i++) {
      agent.emit(i % 2 ? 'start' : 'die', c);
      await new Promise((r) => setTimeout(r, 40));
    }
    const lists = agent.listCalls - before;
    expect(lists).toBeGreaterThanOrEqual(1);
    expect(lists).toBeLessThanOrEqual(4);
  });

  it('checks an agent that never answered again after healthIntervalMs, not the scaled interval', async () => {
    await watcher.stop();
    // 2 nodes at 0.1 checks a second: a healthy node is checked every 20 s.
    watcher = new NodeWatcher({ cache, writer, pool, logger, healthIntervalMs: 50, maxChecksPerSecond: 0.1 });
    await watcher.start();
    const agent = agents.get('10.1.0.1:8500')!;
    agent.down = true;
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1', '10.1.0.2'] }, admin);
    await waitUntil(() => agent.nodeInfoCalls >= 1);
    agent.down = false;
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY', 2000);
  });

  it('keeps a container the cache gained while a resync list was on its way', async () => {
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.2'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-b' && m.node.status === 'HEALTHY');
    const agent = agents.get('10.1.0.2:8500')!;
    let release!: () => void;
    agent.listHold = new Promise((r) => (release = r));
    const resync = watcher.resyncNow('node-b');
    // The scheduler creates an instance and writes it to the cache; its event has not come yet.
    const record = containerRecord({
      id: 'f'.repeat(64),
      name: 'instance-1',
      nodeId: 'node-b',
      image: 'busybox',
      state: 'RUNNING',
      status: 'Up',
      labels: {},
      createdAt: new Date().toISOString(),
    });
    await writer.containers([record], []);
    release();
    await resync;
    expect(cache.getContainer(record.id)?.name).toBe('instance-1');
    agent.listHold = undefined;
  });

  it("recognises a v1 center's cluster container by its HUMPBACK_CLUSTER_* env alone", async () => {
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.2'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-b' && m.node.status === 'HEALTHY');
    const agent = agents.get('10.1.0.2:8500')!;
    const env = [
      'HUMPBACK_CLUSTER_GROUPID=5b1c2d3e-0000-4000-8000-000000000001',
      'HUMPBACK_CLUSTER_METAID=9a8b7c6d-0000-4000-8000-000000000002',
      'HUMPBACK_CLUSTER_CONTAINER_INDEX=1',
      'HUMPBACK_CLUSTER_CONTAINER_ORIGINALNAME=CLUSTER-5b1c2d3e-web-1',
    ];
    const v1 = await agent.createContainer({ name: 'CLUSTER-5b1c2d3e-web-1', image: 'busybox', env });
    // Not every CLUSTER- container is one: without the env it stays a plain container.
    const plain = await agent.createContainer({ name: 'CLUSTER-5b1c2d3e-other-1', image: 'busybox' });
    await waitUntil(() => cache.getContainer(v1.id)?.metaId !== undefined);
    expect(cache.getContainer(v1.id)).toMatchObject({
      groupId: '5b1c2d3e-0000-4000-8000-000000000001',
      metaId: '9a8b7c6d-0000-4000-8000-000000000002',
      index: 1,
    });
    expect(cache.containersOfMeta('9a8b7c6d-0000-4000-8000-000000000002').map((c) => c.id)).toEqual([v1.id]);
    expect(cache.getContainer(plain.id)?.metaId).toBeUndefined();
  });

  it('marks a dead agent UNHEALTHY, refuses calls with NODE_UNAVAILABLE, and recovers', async () => {
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
    const agent = agents.get('10.1.0.1:8500')!;
    const created = await containers.create('node-a', { name: 'db', image: 'busybox' });
    agent.kill();
    await expect(containers.operate(created.id, 'STOP')).rejects.toMatchObject({
      extensions: { code: ErrorCode.NODE_UNAVAILABLE },
    });
    const down = await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'UNHEALTHY');
    expect(down.previousStatus).toBe('HEALTHY');
    // When it was lost is kept with the node (a new leader counts the migration delay from there).
    const lostSince = down.node.statusSince;
    expect(Date.parse(lostSince ?? '')).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 150)); // more failed checks do not move it
    expect((await store.get('nodes', 'node-a'))?.statusSince).toBe(lostSince);
    const err = await containers.create('node-a', { name: 'x', image: 'busybox' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HumpbackError);
    expect((err as HumpbackError).code).toBe(ErrorCode.NODE_UNAVAILABLE);
    agent.down = false;
    const up = await nodeEvents.next(
      (m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY' && m.previousStatus === 'UNHEALTHY',
    );
    expect(up.node.apiAddr).toBe('10.1.0.1:8500');
    expect(up.node.statusSince! > lostSince!).toBe(true);
    expect(cache.getContainer(created.id)?.state).toBe('RUNNING');
  });

  it("takes a node's status and usage from its event stream while they come, and asks when they stop", async () => {
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
    const agent = agents.get('10.1.0.1:8500')!;
    // Status lines as often as checks; usage as often as the usage recorder samples (its default).
    expect(agent.streamIntervals()).toEqual([{ statusMs: 50, statsMs: 10_000 }]);
    const stats = [
      {
        id: 'c1',
        at: new Date().toISOString(),
        cpuPercent: 5,
        memoryUsageBytes: 100,
        memoryLimitBytes: 1000,
        networkRxBytes: 1,
        networkTxBytes: 2,
      },
    ];
    // Lines every 20 ms for 400 ms (checks are due every 50 ms): no /nodeinfo meanwhile.
    const asked = agent.nodeInfoCalls;
    for (let i = 1; i <= 20; i++) {
      agent.push(2e9 + i, stats);
      await new Promise((r) => setTimeout(r, 20));
    }
    // (The last line is taken at the next check.)
    await waitUntil(() => cache.getNode('node-a')?.memoryUsedBytes === 2e9 + 20);
    expect(agent.nodeInfoCalls).toBe(asked);
    expect(watcher.latestStats('node-a', 60_000)).toEqual(stats);
    // The lines stop and the agent answers no more, its stream still open (hung): asked again, lost.
    agent.down = true;
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'UNHEALTHY', 5000);
    expect(agent.nodeInfoCalls).toBeGreaterThan(asked);
    expect(watcher.latestStats('node-a', 60_000)).toBeUndefined();
  });

  it('marks a node known from before UNHEALTHY when its agent never answers this gateway', async () => {
    const agent = agents.get('10.1.0.1:8500')!;
    agent.down = true;
    // As if loaded from a shared store after a restart: HEALTHY then, unreachable now.
    cache.upsertNode({
      id: 'node-a',
      name: 'host-node-a',
      ip: '10.1.0.1',
      apiAddr: '10.1.0.1:8500',
      status: 'HEALTHY',
      cpus: 2,
      memoryBytes: 2e9,
      engineLabels: {},
      updatedAt: new Date().toISOString(),
    });
    await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1'] }, admin);
    const down = await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'UNHEALTHY');
    expect(down.previousStatus).toBe('HEALTHY');
    agent.down = false;
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
  });

  it('forgets a node when its server leaves every group', async () => {
    const group = await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1'] }, admin);
    await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
    await containers.create('node-a', { name: 'web', image: 'busybox' });
    await groups.removeServer(group.id, '10.1.0.1');
    const gone = await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'DISCONNECTED');
    expect(gone.previousStatus).toBe('HEALTHY');
    expect(await nodes.get('node-a')).toBeUndefined();
    expect(cache.containerCount).toBe(0);
  });

  it('keeps a second gateway’s cache in step over the bus', async () => {
    const follower = new ClusterCache();
    const stop = await followCacheSync({ bus, cache: follower, store, origin: 'gw2', logger });
    try {
      const group = await groups.create({ name: 'g', clusterMode: false, servers: ['10.1.0.1'] }, admin);
      await nodeEvents.next((m) => m.node.id === 'node-a' && m.node.status === 'HEALTHY');
      const created = await containers.create('node-a', { name: 'web', image: 'busybox' });
      await waitUntil(() => follower.getContainer(created.id)?.state === 'RUNNING');
      expect(follower.nodeIdsOfGroup(group.id)).toEqual(['node-a']);
      await containers.operate(created.id, 'STOP');
      await waitUntil(() => follower.getContainer(created.id)?.state === 'EXITED');
    } finally {
      await stop();
    }
  });

  it('validates group input', async () => {
    await expect(groups.create({ name: ' ', clusterMode: false, servers: [] }, admin)).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
    await expect(
      groups.create({ name: 'g', clusterMode: false, servers: ['http://nope'] }, admin),
    ).rejects.toMatchObject({ extensions: { code: ErrorCode.BAD_USER_INPUT } });
    const g = await groups.create(
      { name: 'G', clusterMode: false, servers: ['Host-A', 'host-a', 'HOST-A:8500'] },
      admin,
    );
    expect(g.servers).toEqual(['host-a', 'host-a:8500']);
    await expect(groups.create({ name: 'g', clusterMode: false, servers: [] }, admin)).rejects.toMatchObject({
      extensions: { code: ErrorCode.CONFLICT },
    });
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('agent errors as client codes', () => {
  it('maps unreachable, 400, 404 and 409', async () => {
    const { mapAgentError } = await import('../../gateway/cluster/agent-pool.js');
    const code = (err: unknown): string | undefined =>
      (mapAgentError(err, '10.0.0.1:8500', 'container web') as HumpbackError).extensions?.['code'] as
        string | undefined;
    expect(code(new AgentUnreachableError('http://10.0.0.1:8500/v1/ping', new Error('ECONNREFUSED')))).toBe(
      ErrorCode.NODE_UNAVAILABLE,
    );
    expect(code(new AgentError(400, { Message: 'bad image' }, 'http://x'))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(code(new AgentError(404, { Message: 'no such container' }, 'http://x'))).toBe(ErrorCode.NOT_FOUND);
    expect(code(new AgentError(409, { Message: 'name in use' }, 'http://x'))).toBe(ErrorCode.CONFLICT);
    expect(code(new AgentError(401, { Message: 'bad token' }, 'http://x'))).toBe(ErrorCode.NODE_UNAVAILABLE);
    const other = mapAgentError(new AgentError(500, { Message: 'boom' }, 'http://x'), 'n', 'w');
    expect(other).not.toBeInstanceOf(HumpbackError);
    // The agent's own answers carry Docker's words; a proxy's 502 means the node is not reachable.
    const engine = mapAgentError(
      new AgentError(500, { Code: 500, Message: 'starting: failed', Detail: 'cpu-shares is 2' }, 'http://x'),
      'n',
      'container web',
    ) as HumpbackError;
    expect(engine.extensions['code']).toBe(ErrorCode.ENGINE_ERROR);
    expect(engine.message).toBe('container web: starting: failed (cpu-shares is 2)');
    expect(code(new AgentError(502, { Code: 502, Message: 'pulling: registry' }, 'http://x'))).toBe(
      ErrorCode.ENGINE_ERROR,
    );
    expect(code(new AgentError(502, { Message: 'Bad Gateway' }, 'http://x'))).toBe(
      ErrorCode.NODE_UNAVAILABLE,
    );
    const bad = mapAgentError(
      new AgentError(400, { Code: 400, Message: 'invalid body', Detail: 'body.Env.0: bad' }, 'http://x'),
      'n',
      'container web',
    );
    expect(bad.message).toBe('container web: invalid body (body.Env.0: bad)');
  });
});
