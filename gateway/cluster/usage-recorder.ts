import type { Logger } from '../../core/logger.js';
import type { ContainerStats } from '../../core/services.js';
import type { NodeRecord, Store } from '../../core/store/store.js';
import {
  USAGE_RESOLUTION,
  meanSample,
  sumSamples,
  usageBucket,
  usageSeries,
  usageSpanMs,
  type UsageRange,
  type UsageSample,
  type UsageWrite,
} from '../../core/store/usage.js';
import type { AgentPool } from './agent-pool.js';
import type { ClusterCache } from './cluster-cache.js';

export interface UsageRecorderOptions {
  cache: ClusterCache;
  store: Store;
  pool: AgentPool;
  logger: Logger;
  /** How often a sample is taken. @default 10_000 (the HOUR range's step) */
  intervalMs?: number | undefined;
  /** The time a sample is taken at (ms since the epoch); read once per sample. @default Date.now */
  now?: (() => number) | undefined;
  /** Deadline of one node's container stats. @default 8000 */
  statsTimeoutMs?: number | undefined;
  /**
   * The node's container usage as its agent last sent it unasked, if at most `maxAgeMs` old (the node
   * watcher's `latestStats`); the agent is asked when there is none.
   */
  pushedStats?:
    ((nodeId: string, maxAgeMs: number) => Array<ContainerStats & { id: string }> | undefined) | undefined;
}

/** Coarser ranges and the finer one each is the mean of. */
const ROLLUPS: ReadonlyArray<{ range: UsageRange; from: UsageRange }> = [
  { range: 'DAY', from: 'HOUR' },
  { range: 'WEEK', from: 'DAY' },
];

/** One node's figures of one sample. */
interface NodeSample {
  node: NodeRecord;
  sample: UsageSample;
  containers: Array<{ id: string; sample: UsageSample }>;
}

/**
 * The usage history's one writer: runs on the leader beside the node watcher, so several gateways
 * never write the same sample (and a point is keyed by its time, so a brief overlap of two leaders
 * replaces rather than duplicates). Every interval it takes each healthy node's usage from the cache
 * (the watcher's node info) and its running containers' from the agent's `GET /containers/stats`
 * (one request per node, however many viewers), sums each meta's instances, and writes the HOUR
 * points; when a 5-minute or 1-hour step ends, it writes the DAY or WEEK point as the mean of the
 * finer points of that step, read back from the store (so a restart or a new leader loses nothing).
 * A container that leaves the cache, and a meta removed from the store, lose their history.
 */
/** How many nodes are asked for their containers' stats at a time. */
const STATS_AT_ONCE = 100;

export class UsageRecorder {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastAt: number | undefined;
  /** Per coarser range, the series written since its current step began. */
  private readonly seen: Record<'DAY' | 'WEEK', Set<string>> = { DAY: new Set(), WEEK: new Set() };
  /** Containers whose history this recorder wrote. */
  private recordedContainers = new Set<string>();
  /** Metas whose history this recorder wrote. */
  private readonly recordedMetas = new Set<string>();
  private stopped = true;

  constructor(private readonly o: UsageRecorderOptions) {
    this.intervalMs = o.intervalMs ?? USAGE_RESOLUTION.HOUR.stepMs;
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastAt = undefined;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sample()
        .catch((err: unknown) => this.o.logger.warn({ err }, 'usage history: could not record a sample'))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** Takes and writes one sample (and the rollups whose step ended). */
  async sample(): Promise<void> {
    const at = usageBucket('HOUR', this.now());
    if (at === this.lastAt) return;
    // In no particular order (listNodes sorts them all by name, every interval).
    const nodes = [...this.o.cache.nodeRecords()].filter((n) => n.status === 'HEALTHY');
    // At most STATS_AT_ONCE requests in flight: 5,000 nodes asked at once each wait past their
    // deadline for the last to be answered.
    const samples: NodeSample[] = [];
    for (let i = 0; i < nodes.length; i += STATS_AT_ONCE) {
      if (this.stopped) return;
      samples.push(
        ...(await Promise.all(nodes.slice(i, i + STATS_AT_ONCE).map((n) => this.nodeSample(n, at)))),
      );
    }
    if (this.stopped) return;
    const writes: UsageWrite[] = [];
    const metas = new Map<string, UsageSample[]>();
    const containers = new Set<string>();
    for (const s of samples) {
      writes.push({ series: usageSeries({ kind: 'node', id: s.node.id }), range: 'HOUR', sample: s.sample });
      for (const c of s.containers) {
        containers.add(c.id);
        writes.push({
          series: usageSeries({ kind: 'container', id: c.id }),
          range: 'HOUR',
          sample: c.sample,
        });
        const metaId = this.o.cache.getContainer(c.id)?.metaId;
        if (!metaId) continue;
        // Pushed, not copied: a copy per instance was O(instances^2) per meta and sample.
        const list = metas.get(metaId);
        if (list) list.push(c.sample);
        else metas.set(metaId, [c.sample]);
      }
    }
    for (const [id, list] of metas)
      writes.push({ series: usageSeries({ kind: 'meta', id }), range: 'HOUR', sample: sumSamples(list, at) });
    await this.o.store.addUsage(writes);
    await this.forgetRemoved(containers);
    await this.forgetRemovedMetas(new Set(metas.keys()));
    await this.rollUp(
      at,
      writes.map((w) => w.series),
    );
    this.lastAt = at;
  }

  private async nodeSample(node: NodeRecord, at: number): Promise<NodeSample> {
    const sample: UsageSample = {
      at,
      cpuPercent: node.cpuPercent ?? 0,
      memoryUsedBytes: node.memoryUsedBytes ?? 0,
    };
    let stats = this.pushedStats(node.id);
    if (!stats) {
      try {
        stats = await withTimeout(this.o.pool.forNode(node).allStats(), this.o.statsTimeoutMs ?? 8000);
      } catch (err) {
        stats = [];
        this.o.logger.debug({ err, node: node.id }, 'usage history: no container stats from the node');
      }
    }
    const containers = stats
      .filter((s) => this.o.cache.getContainer(s.id)?.nodeId === node.id)
      .map((s) => ({
        id: s.id,
        sample: {
          at,
          cpuPercent: s.cpuPercent,
          memoryUsedBytes: s.memoryUsageBytes,
          networkRxBytes: s.networkRxBytes,
          networkTxBytes: s.networkTxBytes,
        },
      }));
    const rx = containers.reduce((sum, c) => sum + (c.sample.networkRxBytes ?? 0), 0);
    const tx = containers.reduce((sum, c) => sum + (c.sample.networkTxBytes ?? 0), 0);
    // A node's network figures are its containers' (the agent reports no host counters).
    return {
      node,
      sample: containers.length > 0 ? { ...sample, networkRxBytes: rx, networkTxBytes: tx } : sample,
      containers,
    };
  }

  /**
   * What the node's agent last sent of its containers' usage, if it is recent (two intervals: a
   * sample may take the line sent just before the previous sample's) and has every container the
   * cache knows running there (one started since has its first point now, not a sample later).
   */
  private pushedStats(nodeId: string): Array<ContainerStats & { id: string }> | undefined {
    const stats = this.o.pushedStats?.(nodeId, 2 * this.intervalMs);
    if (!stats) return undefined;
    const sent = new Set(stats.map((s) => s.id));
    const running = this.o.cache.containersOfNode(nodeId).filter((c) => c.state === 'RUNNING');
    return running.every((c) => sent.has(c.id)) ? stats : undefined;
  }

  /** Containers recorded before that the cache no longer has: their history goes with them. */
  private async forgetRemoved(current: Set<string>): Promise<void> {
    const gone = [...this.recordedContainers].filter(
      (id) => !current.has(id) && !this.o.cache.getContainer(id),
    );
    for (const id of current) this.recordedContainers.add(id);
    if (gone.length === 0) return;
    for (const id of gone) this.recordedContainers.delete(id);
    await this.o.store.deleteUsage(gone.map((id) => usageSeries({ kind: 'container', id })));
  }

  /** Metas recorded before that the store no longer has (removed): their history goes with them. */
  private async forgetRemovedMetas(current: Set<string>): Promise<void> {
    const absent = [...this.recordedMetas].filter((id) => !current.has(id));
    for (const id of current) this.recordedMetas.add(id);
    const gone: string[] = [];
    for (const id of absent) if (!(await this.o.store.get('metas', id))) gone.push(id);
    if (gone.length === 0) return;
    for (const id of gone) this.recordedMetas.delete(id);
    await this.o.store.deleteUsage(gone.map((id) => usageSeries({ kind: 'meta', id })));
  }

  /**
   * When the sample at `at` starts a new DAY (WEEK) step, writes the step that ended as the mean of its
   * HOUR (DAY) points: the step the previous sample fell in, however long ago that was (samples that
   * could not be written, a store outage, leave a gap). After a (re)start every step the finer range
   * still holds whole is written again, which replaces what an earlier leader wrote and fills in the
   * steps it left when it stopped.
   */
  private async rollUp(at: number, written: readonly string[]): Promise<void> {
    for (const { range, from } of ROLLUPS) {
      const seen = this.seen[range as 'DAY' | 'WEEK'];
      for (const s of written) seen.add(s);
      const current = usageBucket(range, at);
      if (this.lastAt !== undefined && usageBucket(range, this.lastAt) === current) continue;
      const since = this.lastAt !== undefined ? usageBucket(range, this.lastAt) : current - usageSpanMs(from);
      const series = [...seen];
      const history = await this.o.store.usageHistory(series, from, since);
      const writes: UsageWrite[] = [];
      history.forEach((points, i) => {
        // A step older than the finer range's span may have lost points: not rewritten.
        const whole = (points[points.length - 1]?.at ?? 0) - usageSpanMs(from);
        for (const sample of stepMeans(points, range, current))
          if (sample.at > whole) writes.push({ series: series[i]!, range, sample });
      });
      await this.o.store.addUsage(writes);
      this.seen[range as 'DAY' | 'WEEK'] = new Set(written);
    }
  }
}

/** The mean of `points` per step of `range`, for the steps before `current`. */
function stepMeans(points: readonly UsageSample[], range: UsageRange, current: number): UsageSample[] {
  const steps = new Map<number, UsageSample[]>();
  for (const p of points) {
    if (p.at >= current) continue;
    const step = usageBucket(range, p.at);
    const list = steps.get(step);
    if (list) list.push(p);
    else steps.set(step, [p]);
  }
  return [...steps].map(([step, list]) => meanSample(list, step)!);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
