import type { Logger } from '../../core/logger.js';
import type { ContainerRecord, NodeRecord } from '../../core/store/store.js';
import type { ContainerState } from '../../core/domain.js';
import type { AgentContainerStats, AgentEvent } from '../../agent/client-types.js';
import {
  NodeUnverifiedError,
  containerRecord,
  nodeFromRegistration,
  type AgentNodeInfo,
  type AgentPool,
  type NodeAgent,
} from './agent-pool.js';
import type { CacheWriter } from './cache-writer.js';
import { parseServerAddress, type ClusterCache } from './cluster-cache.js';

export interface NodeWatcherOptions {
  cache: ClusterCache;
  writer: CacheWriter;
  pool: AgentPool;
  logger: Logger;
  /** How often each agent is asked for its node info. @default 2000 */
  healthIntervalMs?: number | undefined;
  /**
   * At most this many health checks a second over all nodes: past `maxChecksPerSecond x
   * healthIntervalMs / 1000` nodes (500 by default) each node is checked less often than every
   * interval. 5,000 nodes every 2 s are 2,500 HTTP calls a second, the gateway's whole CPU; a node
   * that dies is still seen at once (its event stream drops, its znode goes), only a hung one later.
   * @default 250
   */
  maxChecksPerSecond?: number | undefined;
  /** Failed checks in a row before a node is UNHEALTHY. @default 2 */
  failureThreshold?: number | undefined;
  /** How often each node's container list is fetched again in full. @default 30000 */
  resyncIntervalMs?: number | undefined;
  /**
   * At most this many container lists a second over all nodes, the periodic ones and those after
   * events each: past `maxResyncsPerSecond x resyncIntervalMs / 1000` nodes (3,000 by default) each
   * node is listed less often, and a node whose events keep coming is listed again at most every
   * `nodes / maxResyncsPerSecond` seconds (`eventResyncDelayMs` at least). Events carry every state
   * change; a list adds Docker's status text and ports. 20,000 events a second over 5,000 nodes would
   * be a list per node and second otherwise. @default 100
   */
  maxResyncsPerSecond?: number | undefined;
  /**
   * Each agent sends its running containers' usage on its event stream every this many ms (the usage
   * recorder's interval; `latestStats` hands it out), rather than being asked for it. 0: not asked.
   * @default 10000
   */
  statsIntervalMs?: number | undefined;
  /** After a burst of events, how long to wait before re-reading the node's list. @default 300 */
  eventResyncDelayMs?: number | undefined;
  /** Deadline of one health check. @default 5000 */
  checkTimeoutMs?: number | undefined;
  /** Delay before the event stream reconnects after a drop. @default 250 ms doubling to 5 s */
  eventRetryWait?: ((attempt: number) => number) | undefined;
  /** @default () => new Date() */
  now?: (() => Date) | undefined;
}

/** Container state a Docker event implies; undefined when the event does not change it. */
export function stateAfterEvent(action: string): ContainerState | 'removed' | undefined {
  switch (action.split(':')[0]!.trim()) {
    case 'create':
      return 'CREATED';
    case 'start':
    case 'restart':
    case 'unpause':
      return 'RUNNING';
    case 'pause':
      return 'PAUSED';
    case 'die':
    case 'stop':
      return 'EXITED';
    case 'destroy':
      return 'removed';
    default:
      return undefined;
  }
}

/** How many new watches make their first check (node info, event stream, container list) at once. */
const FIRST_PROBES = 200;

/**
 * A status line on the event stream stands for a check while it is at most this many of its
 * intervals old (plus a second): a later one means a hung agent or engine, and the check asks.
 */
const STATUS_LINES_MISSED = 2;

/** What an agent last sent on its event stream, and when (Date.now()). */
interface Pushed<T> {
  value: T;
  at: number;
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`${what} timed out`), { name: 'TimeoutError' })),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * What the gateway knows about one server address. A lifecycle, not flags:
 * - probing: never answered since the watch started
 * - syncing: answered; its event stream is open and its containers are being listed
 * - healthy: synced, events flowing, checked every interval
 * - unhealthy: stopped answering (after `failureThreshold` checks)
 */
type WatchPhase =
  | { phase: 'probing' }
  | { phase: 'syncing'; nodeId: string }
  | { phase: 'healthy'; nodeId: string }
  | { phase: 'unhealthy'; nodeId: string };

/** Watches the agent at one address: health, event stream, container resync. */
class AddressWatch {
  state: WatchPhase = { phase: 'probing' };
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lastResync = 0;
  private stream: AbortController | undefined;
  /** The interval of status lines the open stream asked for. */
  private statusMs = 0;
  /** The last status line (node info) of the open stream. */
  private status: Pushed<AgentNodeInfo> | undefined;
  /** The last container usage the agent sent. */
  stats: Pushed<Array<AgentContainerStats & { id: string }>> | undefined;
  /** Containers an event touched since the running resync asked for the list. */
  private touched = new Set<string>();
  /** Events not written yet (applyEvents is queued on `chain` when this is not empty). */
  private pending: Array<{ event: AgentEvent; next: ContainerState | 'removed' }> = [];
  /** Serialises every write this watch makes, so events apply in the order Docker sent them. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private checking: Promise<void> | undefined;
  /** Why the agent here last failed to prove it holds the token (logged once per reason). */
  private unproven: string | undefined;
  private readonly agent: NodeAgent;

  constructor(
    readonly address: string,
    private readonly watcher: NodeWatcher,
    private readonly o: Required<Omit<NodeWatcherOptions, 'eventRetryWait'>> &
      Pick<NodeWatcherOptions, 'eventRetryWait'>,
  ) {
    this.agent = o.pool.get(address);
  }

  get nodeId(): string | undefined {
    return this.state.phase === 'probing' ? undefined : this.state.nodeId;
  }

  /** The first health check (with its container list when the agent answers); set by start(). */
  firstCheck: Promise<void> = Promise.resolve();

  /** The first check (and with it the first list) waits its turn among the other new watches. */
  start(): void {
    this.firstCheck = this.watcher.firstProbe(() => this.check()).catch(() => undefined);
  }

  /** The cached node reached at this address that no other watch has claimed. */
  private knownNodeId(): string | undefined {
    for (const node of this.o.cache.nodesAtAddress(this.address)) {
      if (this.watcher.claim(node.id, this)) return node.id;
    }
    return undefined;
  }

  /**
   * The next check: after the (scaled) check interval, or after `healthIntervalMs` while the agent
   * here has never answered or its node is not synced yet (a first probe that timed out on a busy
   * start-up waited 20 s at 5,000 nodes: the last nodes of a complete cache).
   */
  private schedule(
    ms = this.state.phase === 'probing' || this.state.phase === 'syncing'
      ? this.o.healthIntervalMs
      : this.watcher.checkIntervalMs(),
  ): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work, work);
    this.chain = run.catch((err: unknown) => {
      this.o.logger.error({ err, address: this.address }, 'node watcher: could not apply a change');
    });
    return this.chain;
  }

  /**
   * Its agent's ZooKeeper session expired (the znode went away): the node is lost now, not after
   * `failureThreshold` checks that each wait up to `checkTimeoutMs` for an agent that hangs. A check
   * follows at once; an agent that still answers it is HEALTHY again (before any migration delay ends).
   */
  async sessionExpired(nodeId: string): Promise<void> {
    if (this.stopped || this.nodeId !== nodeId || this.state.phase === 'unhealthy') return;
    this.failures = Math.max(this.failures, this.o.failureThreshold);
    this.state = { phase: 'unhealthy', nodeId };
    this.closeStream();
    this.o.logger.warn(
      { address: this.address, node: nodeId },
      'node is unhealthy: its ZooKeeper znode went',
    );
    await this.enqueue(() =>
      this.o.writer.nodeStatus(nodeId, 'UNHEALTHY', 'its ZooKeeper session ended (the znode went away)'),
    );
    void this.check();
  }

  /** One health check; concurrent calls share the running one. */
  check(): Promise<void> {
    this.checking ??= this.runCheck().finally(() => {
      this.checking = undefined;
      this.schedule();
    });
    return this.checking;
  }

  /**
   * The node info of the open stream's last status line while it stands for a check: the node is
   * healthy, its stream open and the line not late.
   */
  private pushedStatus(): AgentNodeInfo | undefined {
    if (this.state.phase !== 'healthy' || !this.stream || !this.status) return undefined;
    const late = Date.now() - this.status.at > STATUS_LINES_MISSED * this.statusMs + 1000;
    return late || this.status.value.id !== this.state.nodeId ? undefined : this.status.value;
  }

  private async runCheck(): Promise<void> {
    if (this.stopped) return;
    let info: AgentNodeInfo;
    try {
      info =
        this.pushedStatus() ??
        (await timeout(this.agent.nodeInfo(), this.o.checkTimeoutMs, `node info from ${this.address}`));
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      if (err instanceof NodeUnverifiedError) {
        // Not an agent holding our token (a wrong token, or something else at the address): it is
        // checked like an unreachable one and never sent the token.
        if (this.unproven !== err.message)
          this.o.logger.warn({ address: this.address, reason: err.message }, 'agent not verified');
        this.unproven = err.message;
      } else {
        this.o.logger.debug({ err, address: this.address, failures: this.failures }, 'agent did not answer');
      }
      // A node known from before (loaded from the store) whose agent has not answered this watch yet.
      const nodeId = this.nodeId ?? this.knownNodeId();
      if (nodeId && this.failures >= this.o.failureThreshold && this.state.phase !== 'unhealthy') {
        this.o.logger.warn({ address: this.address, node: nodeId, err }, 'node is unhealthy');
        this.state = { phase: 'unhealthy', nodeId };
        this.closeStream();
        const reason = `${this.failures} checks failed in a row, the last: ${(err as Error).message}`;
        await this.enqueue(() => this.o.writer.nodeStatus(nodeId, 'UNHEALTHY', reason));
      }
      return;
    }
    if (this.stopped) return;
    this.failures = 0;
    this.unproven = undefined;

    const previousId = this.nodeId;
    if (previousId && previousId !== info.id) {
      // Another agent (or a reinstalled one) answers at this address now.
      this.o.logger.warn({ address: this.address, from: previousId, to: info.id }, 'node key changed');
      this.closeStream();
      if (this.watcher.release(previousId, this))
        await this.enqueue(() => this.o.writer.removeNode(previousId));
      this.state = { phase: 'probing' };
    }
    if (!this.watcher.claim(info.id, this)) {
      // Another address of the same node is watched already (e.g. its ip and its hostname).
      return;
    }

    const now = this.o.now().toISOString();
    const known = this.o.cache.getNode(info.id);
    if (this.state.phase === 'healthy' && this.stream) {
      const node: NodeRecord = { ...info, apiAddr: this.address, status: 'HEALTHY', updatedAt: now };
      if (Date.now() - this.lastResync >= this.watcher.resyncIntervalMs()) {
        await this.resync(info.id);
        await this.enqueue(() => this.o.writer.node(node));
      } else {
        this.o.writer.touchNode(node);
      }
      return;
    }

    // New, recovered, or its stream dropped: open the stream first so nothing between the list
    // and the stream is missed, then list, then declare it healthy.
    this.state = { phase: 'syncing', nodeId: info.id };
    if (!known) {
      await this.enqueue(() =>
        this.o.writer.node({ ...info, apiAddr: this.address, status: 'PENDING', updatedAt: now }),
      );
    }
    this.openStream(info.id);
    await this.resync(info.id);
    if (this.stopped || this.state.phase !== 'syncing') return;
    this.state = { phase: 'healthy', nodeId: info.id };
    const healthy: NodeRecord = { ...info, apiAddr: this.address, status: 'HEALTHY', updatedAt: now };
    await this.enqueue(() => this.o.writer.node(healthy));
    this.o.logger.info({ address: this.address, node: info.id, name: info.name }, 'node is healthy');
  }

  private openStream(nodeId: string): void {
    // (A check that was on its way when the watch stopped opens none: nothing would close it.)
    if (this.stream || this.stopped) return;
    const controller = new AbortController();
    this.stream = controller;
    this.statusMs = this.watcher.checkIntervalMs();
    this.status = undefined;
    const since = Math.floor(this.o.now().getTime() / 1000) - 1;
    this.agent
      .events(since, (event) => this.onEvent(nodeId, event), controller.signal, {
        statusMs: this.statusMs,
        onStatus: (registration) => {
          if (this.stream === controller)
            this.status = { value: nodeFromRegistration(registration), at: Date.now() };
        },
        ...(this.o.statsIntervalMs > 0
          ? {
              statsMs: this.o.statsIntervalMs,
              onStats: (stats: Array<AgentContainerStats & { id: string }>) => {
                if (this.stream === controller) this.stats = { value: stats, at: Date.now() };
              },
            }
          : {}),
        onDisconnect: (err) => {
          this.status = undefined;
          if (controller.signal.aborted || this.stopped) return;
          this.o.logger.debug({ err, address: this.address }, 'event stream dropped');
          // Find out now whether the agent is gone rather than at the next interval.
          void this.check();
        },
        ...(this.o.eventRetryWait ? { retryWait: this.o.eventRetryWait } : {}),
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted)
          this.o.logger.warn({ err, address: this.address }, 'event stream failed');
      })
      .finally(() => {
        if (this.stream === controller) this.stream = undefined;
      });
  }

  private closeStream(): void {
    this.stream?.abort();
    this.stream = undefined;
    this.status = undefined;
    this.stats = undefined;
  }

  private onEvent(nodeId: string, event: AgentEvent): void {
    // (The lines of a chunk read before the stream was aborted still come: not after a stop.)
    if (!event.id || this.stopped) return;
    const next = stateAfterEvent(event.action);
    this.touched.add(event.id);
    if (next !== undefined) {
      // Events that arrive while earlier ones are being written go out together: one store write,
      // one sync message and one round of announcements for all of them, not three round trips to
      // Redis each (a busy node's events queued behind each other by seconds).
      this.pending.push({ event, next });
      if (this.pending.length === 1) void this.enqueue(() => this.applyEvents(nodeId));
    }
    // Docker's status text ("Up 2 seconds") and anything the event did not say come from the list:
    // one list for the events of a short while, and with many nodes not sooner than its turn.
    if (this.resyncTimer) return;
    const turn = this.lastResync + this.watcher.eventResyncGapMs() - Date.now();
    this.resyncTimer = setTimeout(
      () => {
        this.resyncTimer = undefined;
        void this.resync(nodeId);
      },
      Math.max(this.o.eventResyncDelayMs, turn),
    );
    this.resyncTimer.unref();
  }

  /** Writes the pending events, in their order (a removal then an upsert of one id: two writes). */
  private async applyEvents(nodeId: string): Promise<void> {
    const events = this.pending;
    this.pending = [];
    let upsert: ContainerRecord[] = [];
    let remove: string[] = [];
    const latest = new Map<string, ContainerRecord>();
    for (const { event, next } of events) {
      if (next === 'removed') {
        remove.push(event.id);
        latest.delete(event.id);
        continue;
      }
      if (remove.includes(event.id)) {
        await this.o.writer.containers(upsert, remove);
        upsert = [];
        remove = [];
      }
      const current = latest.get(event.id) ?? this.o.cache.getContainer(event.id);
      const exitCode = event.attributes['exitCode'];
      const status =
        next === 'EXITED' ? `Exited (${exitCode ?? 0})` : next === 'RUNNING' ? 'Up' : next.toLowerCase();
      const record: ContainerRecord = current
        ? { ...current, state: next, status, ...(event.name ? { name: event.name } : {}) }
        : containerRecord({
            id: event.id,
            name: event.name ?? event.id.slice(0, 12),
            nodeId,
            image: event.image ?? '',
            state: next,
            status,
            labels: labelsFromAttributes(event.attributes),
            createdAt: new Date(event.time * 1000).toISOString(),
          });
      latest.set(event.id, record);
      upsert.push(record);
    }
    await this.o.writer.containers(upsert, remove);
  }

  /** Re-reads the node's containers and makes the cache match, keeping newer event-driven states. */
  async resync(nodeId: string): Promise<void> {
    if (this.stopped) return;
    this.touched = new Set();
    const touched = this.touched;
    // What the cache holds now: a container that enters it while the list is on its way (the
    // scheduler's own create, whose event may come after the list) is newer than the list.
    const known = new Set(this.o.cache.containersOfNode(nodeId).map((c) => c.id));
    let list: ContainerRecord[];
    try {
      list = await this.agent.listContainers(nodeId);
    } catch (err) {
      this.o.logger.debug({ err, address: this.address }, 'container list failed');
      return;
    }
    this.lastResync = Date.now();
    await this.enqueue(async () => {
      if (this.stopped) return;
      // Containers an event touched after the list was asked for: the cache is newer than the list.
      const merged: ContainerRecord[] = [];
      const listed = new Set<string>();
      for (const c of list) {
        listed.add(c.id);
        const current = this.o.cache.getContainer(c.id);
        merged.push(touched.has(c.id) && current ? current : c);
      }
      // Cached but not listed: kept when an event touched it or it entered the cache meanwhile.
      for (const current of this.o.cache.containersOfNode(nodeId)) {
        if (!listed.has(current.id) && (touched.has(current.id) || !known.has(current.id)))
          merged.push(current);
      }
      await this.o.writer.replaceNodeContainers(nodeId, merged);
    });
  }

  /** Stops watching. `forget`: the address left every group, so its node goes too. */
  async stop(forget: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.resyncTimer);
    this.closeStream();
    await this.checking?.catch(() => undefined);
    const nodeId = this.nodeId;
    if (nodeId && this.watcher.release(nodeId, this) && forget) {
      await this.o.writer.removeNode(nodeId);
    }
    await this.chain;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function labelsFromAttributes(attributes: Record<string, string>): Record<string, string> {
  // Docker puts the container's labels among the event attributes, next to these.
  const notLabels = new Set(['name', 'image', 'exitCode', 'signal', 'execDuration']);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) if (!notLabels.has(k)) labels[k] = v;
  return labels;
}

/**
 * Watches every server of every group: health checks (PENDING → HEALTHY once its containers are
 * synced, UNHEALTHY when it stops answering, HEALTHY again when it answers), each agent's event
 * stream, and periodic container resyncs. Runs on the leader only; everything it learns goes through
 * the CacheWriter (local cache, store, other gateways, subscribers).
 */
export class NodeWatcher {
  private readonly watches = new Map<string, AddressWatch>();
  private readonly owners = new Map<string, AddressWatch>();
  private readonly o: Required<Omit<NodeWatcherOptions, 'eventRetryWait'>> &
    Pick<NodeWatcherOptions, 'eventRetryWait'>;
  private running = false;
  private started = deferred();
  private syncing: Promise<void> = Promise.resolve();
  /** Addresses to watch beyond the groups' servers (nodes registered in ZooKeeper). */
  private extra = new Set<string>();
  /** First checks running, and those waiting for one of FIRST_PROBES slots. */
  private probing = 0;
  private readonly probeQueue: Array<() => void> = [];

  constructor(options: NodeWatcherOptions) {
    this.o = {
      healthIntervalMs: 2000,
      failureThreshold: 2,
      resyncIntervalMs: 30_000,
      maxResyncsPerSecond: 100,
      statsIntervalMs: 10_000,
      eventResyncDelayMs: 300,
      checkTimeoutMs: 5000,
      maxChecksPerSecond: 250,
      now: () => new Date(),
      // An option given as undefined keeps its default.
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as NodeWatcher['o'];
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts watching the servers of the groups the cache knows. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.started.resolve();
    await this.refresh();
  }

  /**
   * Resolves once the watcher runs and has checked (and listed) every watched node once, or after
   * `maxMs`: what a new leader waits for before its first pass, so that it counts what the engines
   * run now rather than what the cache was last told (the previous leader may have died between a
   * create and its cache write).
   */
  async firstChecks(maxMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)));
    const checked = (async () => {
      await this.started.promise;
      await this.syncing;
      await Promise.all([...this.watches.values()].map((w) => w.firstCheck));
    })();
    await Promise.race([checked, deadline]);
    clearTimeout(timer);
  }

  /** Call after groups changed: starts and stops watches to match their servers. */
  refresh(): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.reconcile())
      .catch((err: unknown) => {
        this.o.logger.error({ err }, 'node watcher: could not follow group changes');
      });
    return this.syncing;
  }

  private async reconcile(): Promise<void> {
    if (!this.running) return;
    const wanted = new Set<string>(this.extra);
    for (const group of this.o.cache.listGroups()) {
      for (const server of group.servers) {
        const parsed = parseServerAddress(server);
        if (parsed) wanted.add(parsed.key);
      }
    }
    for (const [address, watch] of this.watches) {
      if (!wanted.has(address)) {
        this.watches.delete(address);
        await watch.stop(true);
      }
    }
    for (const address of wanted) {
      if (this.watches.has(address)) continue;
      const watch = new AddressWatch(address, this, this.o);
      this.watches.set(address, watch);
      watch.start();
    }
    // Nodes left in the cache from before (e.g. loaded from the store) that no server names now.
    // (Unsorted, collected first: this runs after every change of the watched addresses.)
    const leftovers: string[] = [];
    for (const node of this.o.cache.nodeRecords()) {
      if (this.owners.has(node.id)) continue;
      const address = parseServerAddress(node.apiAddr)?.key;
      if ((!address || !wanted.has(address)) && this.o.cache.groupIdsOfNode(node.id).length === 0)
        leftovers.push(node.id);
    }
    for (const id of leftovers) await this.o.writer.removeNode(id);
  }

  /**
   * Agent addresses to watch whether or not a group names them (cluster mode: the nodes registered in
   * ZooKeeper, so they show up before anyone puts them in a group).
   */
  setExtraAddresses(addresses: Iterable<string>): Promise<void> {
    const next = new Set<string>();
    for (const a of addresses) {
      const parsed = parseServerAddress(a);
      if (parsed) next.add(parsed.key);
    }
    const same = next.size === this.extra.size && [...next].every((a) => this.extra.has(a));
    if (same) return this.syncing;
    this.extra = next;
    return this.refresh();
  }

  /**
   * @internal Runs a new watch's first check when fewer than FIRST_PROBES are running: 5,000 nodes
   * found at once are 5,000 node-info calls, event streams and container lists at once otherwise,
   * each past its deadline before the last is answered.
   */
  async firstProbe(work: () => Promise<void>): Promise<void> {
    if (this.probing >= FIRST_PROBES) await new Promise<void>((resolve) => this.probeQueue.push(resolve));
    this.probing++;
    try {
      await work();
    } finally {
      this.probing--;
      this.probeQueue.shift()?.();
    }
  }

  /** @internal The time between two health checks of one node (longer with many nodes). */
  checkIntervalMs(): number {
    return Math.max(this.o.healthIntervalMs, (this.watches.size * 1000) / this.o.maxChecksPerSecond);
  }

  /** @internal The time between two periodic lists of one node (longer with many nodes). */
  resyncIntervalMs(): number {
    return Math.max(this.o.resyncIntervalMs, (this.watches.size * 1000) / this.o.maxResyncsPerSecond);
  }

  /** @internal The least time from one list of a node to the next that its events ask for. */
  eventResyncGapMs(): number {
    return Math.max(this.o.eventResyncDelayMs, (this.watches.size * 1000) / this.o.maxResyncsPerSecond);
  }

  /**
   * The usage of the node's running containers its agent last sent on its event stream, if that is
   * at most `maxAgeMs` old (the usage recorder asks the agent otherwise).
   */
  latestStats(nodeId: string, maxAgeMs: number): Array<AgentContainerStats & { id: string }> | undefined {
    const stats = this.owners.get(nodeId)?.stats;
    return stats && Date.now() - stats.at <= maxAgeMs ? stats.value : undefined;
  }

  /** Checks one address now (e.g. after a call to its agent failed). */
  async checkNow(nodeId: string): Promise<void> {
    await this.owners.get(nodeId)?.check();
  }

  /** The node's ZooKeeper registration went (session expired or agent stopped): lost at once. */
  async sessionExpired(nodeId: string): Promise<void> {
    await this.owners.get(nodeId)?.sessionExpired(nodeId);
  }

  /** Re-reads one node's containers now (after a mutation through its agent). */
  async resyncNow(nodeId: string): Promise<void> {
    await this.owners.get(nodeId)?.resync(nodeId);
  }

  /** @internal A watch takes responsibility for a node id; false when another watch has it. */
  claim(nodeId: string, watch: AddressWatch): boolean {
    const owner = this.owners.get(nodeId);
    if (owner && owner !== watch) return false;
    this.owners.set(nodeId, watch);
    return true;
  }

  /** @internal Gives a node id up; true when this watch owned it. */
  release(nodeId: string, watch: AddressWatch): boolean {
    if (this.owners.get(nodeId) !== watch) return false;
    this.owners.delete(nodeId);
    return true;
  }

  /** Stops every watch; nodes keep their last status (another gateway may take over). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.started = deferred();
    await this.syncing;
    const watches = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(watches.map((w) => w.stop(false)));
  }
}
