import type { ContainerConfig } from '../core/container-config.js';
import { ErrorCode, HumpbackError, badInput } from '../core/errors.js';
import { withTag } from '../core/image-ref.js';
import type { Logger } from '../core/logger.js';
import type { ContainerRecord, MetaRecord, NodeRecord, Store } from '../core/store/store.js';
import type { NodeStatus } from '../core/domain.js';
import type { ContainerAction } from '../core/domain.js';
import type { Clock } from './clock.js';
import { parseConstraints } from './constraints.js';
import { allocateIndexes, FIRST_INDEX, smallestFreeIndex } from './index-allocation.js';
import { instanceConfig, SPEC_LABEL, specDigest } from './meta-spec.js';
import { isLostStatus } from './migration.js';
import { PlacementIndex, resourcesOf, type Resources } from './placement.js';
import type { ContainerStateDetail, PlacedContainer } from './webhook-payload.js';

/** What the reconciler reads about the cluster (gateway/cluster/cluster-cache.ts ClusterCache satisfies it). */
export interface ClusterView {
  listNodes(filter?: { groupId?: string | undefined; status?: NodeStatus | undefined }): NodeRecord[];
  getNode(id: string): NodeRecord | undefined;
  containersOfMeta(metaId: string): ContainerRecord[];
  containersOfNode(nodeId: string): ContainerRecord[];
}

/**
 * Where the reconciler reports the containers it created and removed, so the cache is right before
 * the agents' events arrive (gateway/cluster/cache-writer.ts CacheWriter satisfies it).
 */
export interface ContainerSink {
  containers(upsert: readonly ContainerRecord[], remove: readonly string[]): Promise<void>;
}

/** What the reconciler asks of one node's agent (gateway/cluster/agent-pool.ts NodeAgent satisfies it). */
export interface SchedulerAgent {
  /** Creates and starts the container. */
  createContainer(nodeId: string, config: ContainerConfig): Promise<ContainerRecord>;
  /**
   * createContainer with the State details of its answer (the agent's inspect after the start):
   * used when present, so the webhook body after the pass needs no inspect of a container just made.
   */
  createContainerDetailed?(
    nodeId: string,
    config: ContainerConfig,
  ): Promise<{ container: ContainerRecord; detail: ContainerStateDetail }>;
  operateContainer(id: string, action: ContainerAction): Promise<void>;
  removeContainer(id: string, force: boolean): Promise<void>;
  /** One inspect's State details (webhook bodies); absent: the body has zeros. */
  containerStateDetail?(id: string): Promise<ContainerStateDetail>;
}

export interface ReconcilerOptions {
  store: Store;
  cluster: ClusterView;
  sink?: ContainerSink | undefined;
  agentFor: (node: NodeRecord) => SchedulerAgent;
  clock: Clock;
  /** Whether a lost node's instances no longer count (migration.ts). */
  isMigrated: (nodeId: string) => boolean;
  /** CENTER_REMOVE_DELAY in ms, for metas with `removeDelay`. @default 0 */
  removeDelayMs?: number | undefined;
  /** @default 0.05 */
  overcommit?: number | undefined;
  /** Nodes tried for one instance before giving up. @default 3 */
  createAttempts?: number | undefined;
  /** Creates and removals in flight at once for one meta. @default 8 */
  concurrency?: number | undefined;
  logger?: Logger | undefined;
}

export interface ReconcileResult {
  created: ContainerRecord[];
  removed: ContainerRecord[];
  /** Instances that could not be created, with why. */
  failures: string[];
}

/** A meta's instances as they stand: one per index (duplicates resolved), plus what to clean. */
interface Census {
  /** index → the instance kept for it (live or on a lost node still within its grace). */
  byIndex: Map<number, ContainerRecord>;
  /** Live copies that lost to another copy of the same index, and unlabelled strays. */
  extras: ContainerRecord[];
}

const HEALTHY: NodeStatus = 'HEALTHY';

/**
 * Converges one meta: desired (its record: instances, config, constraints) against actual (its
 * labelled containers on the group's nodes). Callers serialize work per meta (meta-queue.ts).
 */
export class Reconciler {
  private readonly removeDelayMs: number;
  private readonly attempts: number;
  private readonly concurrency: number;
  /** Containers waiting for delayed removal: they no longer count. */
  private readonly pendingRemoval = new Map<string, () => void>();

  constructor(private readonly o: ReconcilerOptions) {
    this.removeDelayMs = o.removeDelayMs ?? 0;
    this.attempts = o.createAttempts ?? 3;
    this.concurrency = o.concurrency ?? 8;
  }

  /** By meta, then container id: State details with the state they were read in (kept while it holds). */
  private readonly details = new Map<string, Map<string, { state: string; detail: ContainerStateDetail }>>();

  /**
   * The meta's containers on HEALTHY nodes with those nodes, for webhook payloads (humpback-center
   * submitHookEvent reports only the containers of healthy engines). Their State details come from
   * one inspect per container and state change at most, `concurrency` at a time; one that fails
   * leaves that container's details at zero.
   */
  async placed(metaId: string): Promise<PlacedContainer[]> {
    const placed: Array<PlacedContainer & { agent: SchedulerAgent }> = [];
    for (const container of this.o.cluster.containersOfMeta(metaId)) {
      if (this.pendingRemoval.has(container.id)) continue;
      const node = this.o.cluster.getNode(container.nodeId);
      if (!node || node.status !== 'HEALTHY') continue;
      placed.push({ container, node: { ip: node.ip, name: node.name }, agent: this.o.agentFor(node) });
    }
    const known = this.details.get(metaId);
    const next = new Map<string, { state: string; detail: ContainerStateDetail }>();
    for (const p of placed) {
      const kept = known?.get(p.container.id);
      if (kept?.state === p.container.state) next.set(p.container.id, kept);
    }
    await this.parallel(
      placed.filter((p) => !next.has(p.container.id)),
      async ({ container, agent }) => {
        const detail = await agent.containerStateDetail?.(container.id).catch(() => undefined);
        if (detail) next.set(container.id, { state: container.state, detail });
      },
    );
    if (next.size) this.details.set(metaId, next);
    else this.details.delete(metaId);
    return placed.map(({ container, node }) => ({
      container,
      node,
      detail: next.get(container.id)?.detail,
    }));
  }

  /** Keeps a container's State details as read in `container.state` (placed() uses them while it holds). */
  private noteDetail(metaId: string, container: ContainerRecord, detail: ContainerStateDetail): void {
    let known = this.details.get(metaId);
    if (!known) this.details.set(metaId, (known = new Map()));
    known.set(container.id, { state: container.state, detail });
  }

  /** Instances that count, one per index. */
  census(meta: MetaRecord): Census {
    const byIndex = new Map<number, ContainerRecord>();
    const extras: ContainerRecord[] = [];
    for (const c of this.o.cluster.containersOfMeta(meta.id)) {
      if (this.pendingRemoval.has(c.id)) continue;
      const node = this.o.cluster.getNode(c.nodeId);
      if (!node) continue;
      const lost = isLostStatus(node.status);
      if (lost && this.o.isMigrated(node.id)) continue;
      if (c.index === undefined) {
        if (!lost) extras.push(c);
        continue;
      }
      const kept = byIndex.get(c.index);
      if (!kept) {
        byIndex.set(c.index, c);
        continue;
      }
      // Two copies of one index (a migrated node came back): the newer copy wins.
      const [winner, loser] = c.createdAt > kept.createdAt ? [c, kept] : [kept, c];
      byIndex.set(c.index, winner);
      if (!isLostStatus(this.o.cluster.getNode(loser.nodeId)?.status)) extras.push(loser);
    }
    return { byIndex, extras };
  }

  /** Creates missing instances, removes surplus and stale copies, recreates outdated ones. */
  async reconcile(meta: MetaRecord): Promise<ReconcileResult> {
    const result: ReconcileResult = { created: [], removed: [], failures: [] };
    const { byIndex, extras } = this.census(meta);
    const digest = specDigest(meta);

    await this.parallel(extras, async (c) => {
      if (await this.removeNow(c)) result.removed.push(c);
    });

    // Surplus: highest indexes first, live ones only (a lost node cannot be asked).
    const surplus: ContainerRecord[] = [];
    if (byIndex.size > meta.instances) {
      const live = [...byIndex.values()]
        .filter((c) => !this.isLost(c))
        .sort((a, b) => (b.index ?? 0) - (a.index ?? 0));
      for (const c of live.slice(0, byIndex.size - meta.instances)) {
        surplus.push(c);
        byIndex.delete(c.index!);
      }
    }
    if (meta.removeDelay && this.removeDelayMs > 0) {
      for (const c of surplus) this.removeLater(c);
    } else {
      await this.parallel(surplus, async (c) => {
        if (await this.removeNow(c)) result.removed.push(c);
      });
    }

    // Outdated: made from another config or constraints (no label: made elsewhere, left alone).
    const outdated = [...byIndex.values()].filter(
      (c) => !this.isLost(c) && c.labels[SPEC_LABEL] !== undefined && c.labels[SPEC_LABEL] !== digest,
    );
    for (const c of outdated) {
      if (!(await this.removeNow(c))) continue;
      result.removed.push(c);
      byIndex.delete(c.index!);
    }

    const missing = Math.max(0, meta.instances - byIndex.size);
    if (missing > 0) {
      const indexes = allocateIndexes(byIndex.keys(), missing);
      const placement = await this.placementFor(meta);
      const writes: Promise<void>[] = [];
      await this.parallel(indexes, async (index) => {
        const created = await this.createInstance(meta, index, placement, meta.config, writes);
        if (created.ok) result.created.push(created.container);
        else result.failures.push(`instance ${index}: ${created.message}`);
      });
      await Promise.all(writes);
    }
    if (result.failures.length > 0) {
      this.o.logger?.warn(
        { metaId: meta.id, failures: result.failures },
        'some instances could not be created',
      );
    }
    return result;
  }

  /** Removes every instance of a meta the cluster can reach; returns those removed. */
  async removeAll(metaId: string): Promise<ContainerRecord[]> {
    const removed: ContainerRecord[] = [];
    // The meta's last webhook body has been built (placed() before this): its State details go.
    this.details.delete(metaId);
    const all = this.o.cluster.containersOfMeta(metaId);
    for (const c of all) {
      const cancel = this.pendingRemoval.get(c.id);
      if (cancel) {
        cancel();
        this.pendingRemoval.delete(c.id);
      }
    }
    await this.parallel(
      all.filter((c) => !this.isLost(c)),
      async (c) => {
        if (await this.removeNow(c)) removed.push(c);
      },
    );
    return removed;
  }

  /** Runs an action on every reachable instance; throws NODE_UNAVAILABLE naming the failures. */
  async operate(meta: MetaRecord, action: ContainerAction): Promise<void> {
    const failures: string[] = [];
    const { byIndex } = this.census(meta);
    await this.parallel(
      [...byIndex.values()].filter((c) => !this.isLost(c)),
      async (c) => {
        const node = this.o.cluster.getNode(c.nodeId)!;
        try {
          await this.o.agentFor(node).operateContainer(c.id, action);
        } catch (err) {
          failures.push(`${c.name} on ${node.name}: ${(err as Error).message}`);
        }
      },
    );
    if (failures.length > 0) {
      throw new HumpbackError(ErrorCode.NODE_UNAVAILABLE, `${action} failed for ${failures.join('; ')}`);
    }
  }

  /**
   * Moves every instance to `imageTag` on the same node and index, one after the other. If any
   * fails, those already moved (and the one that failed) are put back on the old tag and the error
   * is thrown: all or nothing. Returns the meta as it should be stored on success.
   */
  async upgrade(meta: MetaRecord, imageTag: string): Promise<MetaRecord> {
    if (imageTag === meta.imageTag) {
      throw badInput(`meta ${meta.name} already runs tag ${JSON.stringify(imageTag)}`, 'imageTag');
    }
    let image: string;
    try {
      image = withTag(meta.config.image, imageTag);
    } catch (err) {
      throw badInput((err as Error).message, 'imageTag');
    }
    const next: MetaRecord = {
      ...meta,
      config: { ...meta.config, image },
      imageTag,
      updatedAt: new Date(this.o.clock.now()).toISOString(),
    };
    const { byIndex } = this.census(meta);
    const instances = [...byIndex.values()].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const lost = instances.filter((c) => this.isLost(c));
    if (lost.length > 0) {
      throw new HumpbackError(
        ErrorCode.META_BUSY,
        `meta ${meta.name} has ${lost.length} instance(s) on unreachable nodes; upgrade after they are back or migrated`,
      );
    }
    const moved: Array<{ node: NodeRecord; index: number; current: ContainerRecord | undefined }> = [];
    const used = new Set(byIndex.keys());
    for (const old of instances) {
      const node = this.o.cluster.getNode(old.nodeId)!;
      // An instance with an index below FIRST_INDEX (made by an earlier version) gets a v1 index now.
      const index = old.index! < FIRST_INDEX ? smallestFreeIndex(used) : old.index!;
      used.add(index);
      const step = { node, index, current: old as ContainerRecord | undefined };
      moved.push(step);
      try {
        await this.removeOrThrow(old);
        step.current = undefined;
        step.current = await this.createOn(node, instanceConfig(next, step.index));
      } catch (err) {
        const why = (err as Error).message;
        this.o.logger?.warn(
          { metaId: meta.id, imageTag, node: node.name, err },
          'upgrade failed; rolling back',
        );
        const rollbackFailures = await this.rollback(meta, moved);
        throw new HumpbackError(
          ErrorCode.BAD_USER_INPUT,
          `upgrade of ${meta.name} to ${imageTag} failed on node ${node.name}: ${why}; ` +
            (rollbackFailures.length === 0
              ? `rolled back to ${meta.imageTag}`
              : `rollback incomplete (${rollbackFailures.join('; ')}), recovery will finish it`),
          { field: 'imageTag' },
        );
      }
    }
    return next;
  }

  private async rollback(
    meta: MetaRecord,
    moved: Array<{ node: NodeRecord; index: number; current: ContainerRecord | undefined }>,
  ): Promise<string[]> {
    const failures: string[] = [];
    for (const step of moved.reverse()) {
      try {
        if (step.current && step.current.labels[SPEC_LABEL] === specDigest(meta)) continue; // never touched
        if (step.current) await this.removeOrThrow(step.current);
        step.current = await this.createOn(step.node, instanceConfig(meta, step.index));
      } catch (err) {
        failures.push(`instance ${step.index} on ${step.node.name}: ${(err as Error).message}`);
      }
    }
    return failures;
  }

  /** Cancels pending delayed removals (leadership lost, shutdown). */
  close(): void {
    for (const cancel of this.pendingRemoval.values()) cancel();
    this.pendingRemoval.clear();
  }

  private isLost(c: ContainerRecord): boolean {
    return isLostStatus(this.o.cluster.getNode(c.nodeId)?.status);
  }

  private async placementFor(
    meta: MetaRecord,
  ): Promise<{ index: PlacementIndex; constraints: ReturnType<typeof parseConstraints> }> {
    const [labels, metas] = await Promise.all([this.o.store.list('nodeLabels'), this.o.store.list('metas')]);
    const labelsOf = new Map(labels.map((l) => [l.id, l.labels]));
    const resources = new Map<string, Resources>(metas.map((m) => [m.id, resourcesOf(m.config)]));
    const index = new PlacementIndex({ overcommit: this.o.overcommit });
    for (const node of this.o.cluster.listNodes({ groupId: meta.groupId })) {
      index.upsertNode({
        id: node.id,
        hostname: node.name,
        ip: node.ip,
        os: node.os,
        arch: node.arch,
        labels: labelsOf.get(node.id) ?? {},
        engineLabels: node.engineLabels,
        healthy: node.status === HEALTHY,
        cpus: node.cpus,
        memoryBytes: node.memoryBytes,
      });
      for (const c of this.o.cluster.containersOfNode(node.id)) {
        if (this.pendingRemoval.has(c.id)) continue;
        index.addContainer(node.id, c.metaId, c.metaId ? resources.get(c.metaId) : undefined);
      }
    }
    return { index, constraints: parseConstraints(meta.constraints) };
  }

  private async createInstance(
    meta: MetaRecord,
    index: number,
    placement: { index: PlacementIndex; constraints: ReturnType<typeof parseConstraints> },
    config: ContainerConfig,
    writes?: Promise<void>[],
  ): Promise<{ ok: true; container: ContainerRecord } | { ok: false; message: string }> {
    const exclude = new Set<string>();
    const resources = resourcesOf(config);
    const errors: string[] = [];
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      const choice = placement.index.place({
        metaId: meta.id,
        constraints: placement.constraints,
        resources,
        exclude,
      });
      if (!choice.ok) {
        errors.push(choice.message);
        break;
      }
      const node = this.o.cluster.getNode(choice.nodeId)!;
      try {
        const container = await this.createOn(node, instanceConfig(meta, index, config), writes);
        return { ok: true, container };
      } catch (err) {
        // Retry elsewhere: never the node where this create just failed.
        placement.index.removeContainer(node.id, meta.id, resources);
        exclude.add(node.id);
        errors.push(`${node.name}: ${(err as Error).message}`);
        this.o.logger?.warn(
          { metaId: meta.id, index, node: node.name, err },
          'create failed; trying another node',
        );
      }
    }
    return { ok: false, message: errors.join('; ') };
  }

  /**
   * Creates on one node and reports it to the sink; with `writes`, the report is collected there
   * instead of awaited, so the next create does not wait for the cache write (the caller awaits them).
   */
  private async createOn(
    node: NodeRecord,
    config: ContainerConfig,
    writes?: Promise<void>[],
  ): Promise<ContainerRecord> {
    const agent = this.o.agentFor(node);
    let container: ContainerRecord;
    if (agent.createContainerDetailed) {
      const made = await agent.createContainerDetailed(node.id, config);
      container = made.container;
      // What placed() would otherwise inspect right after the pass, read in the same state.
      if (container.metaId) this.noteDetail(container.metaId, container, made.detail);
    } else {
      container = await agent.createContainer(node.id, config);
    }
    const write = this.o.sink?.containers([container], []);
    if (write && writes) writes.push(write);
    else await write;
    return container;
  }

  private async removeOrThrow(c: ContainerRecord): Promise<void> {
    const node = this.o.cluster.getNode(c.nodeId);
    if (!node) throw new HumpbackError(ErrorCode.NODE_UNAVAILABLE, `node ${c.nodeId} is unknown`);
    try {
      await this.o.agentFor(node).removeContainer(c.id, true);
    } catch (err) {
      if ((err as HumpbackError).extensions?.['code'] !== ErrorCode.NOT_FOUND) throw err;
    }
    await this.o.sink?.containers([], [c.id]);
  }

  private async removeNow(c: ContainerRecord): Promise<boolean> {
    try {
      await this.removeOrThrow(c);
      return true;
    } catch (err) {
      this.o.logger?.warn({ container: c.name, node: c.nodeId, err }, 'could not remove container');
      return false;
    }
  }

  private removeLater(c: ContainerRecord): void {
    if (this.pendingRemoval.has(c.id)) return;
    const cancel = this.o.clock.setTimeout(() => {
      if (!this.pendingRemoval.delete(c.id)) return;
      void this.removeNow(c);
    }, this.removeDelayMs);
    this.pendingRemoval.set(c.id, cancel);
  }

  private async parallel<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    const queue = [...items];
    const workers = Array.from({ length: Math.min(this.concurrency, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    });
    await Promise.all(workers);
  }
}
