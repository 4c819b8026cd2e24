import { constraintsKey, satisfiesAll, type Constraint, type ConstraintTarget } from './constraints.js';

/**
 * Placement: where the next instance of a meta goes. Pure (no I/O): plain data in, a node id out.
 *
 * Pipeline for one instance:
 *  1. health: only HEALTHY nodes;
 *  2. constraints: nodes failing the meta's constraints never take it (pre-filtered once per distinct
 *     constraint set into a candidate pool);
 *  3. capacity: CPU shares and memory reserved on the node plus the request must fit the node's totals
 *     with overcommit; a node that cannot fit is excluded;
 *  4. spread: nodes without an instance of this meta first (more generally, the fewest instances of
 *     it), never a node listed in `exclude` (where a create just failed);
 *  5. weights: the least reserved node (CPU or memory, whichever is higher, in whole percent), and
 *     fewer containers breaks ties; equal nodes take turns.
 *
 * Cost: nodes live in buckets keyed by their rank (reservation, container count), one set of buckets
 * per candidate pool; a placement walks the lowest buckets and stops at the first node that fits and
 * holds the fewest instances of the meta, so it skips only nodes already holding the meta, full nodes
 * and excluded ones — its cost does not grow with the number of nodes.
 */

/** A node as placement sees it. */
export interface PlacementNode extends ConstraintTarget {
  healthy: boolean;
  /** CPU count; 0 when unknown (CPU is then not limited). */
  cpus: number;
  /** Memory in bytes; 0 when unknown (memory is then not limited). */
  memoryBytes: number;
}

/** What one container reserves on its node. */
export interface Resources {
  /** Docker CPU shares; a whole CPU is 1024. */
  cpuShares: number;
  memoryBytes: number;
}

export const NO_RESOURCES: Resources = Object.freeze({ cpuShares: 0, memoryBytes: 0 });

/** Docker's CPU shares for one whole CPU. */
export const SHARES_PER_CPU = 1024;

export interface PlacementOptions {
  /**
   * How far reservations may exceed a node's totals, as a fraction (0.05 = 5 %).
   * @default 0.05
   */
  overcommit?: number | undefined;
}

export interface PlacementRequest {
  metaId: string;
  /** Parsed constraints (constraints.ts). */
  constraints: readonly Constraint[];
  resources?: Resources | undefined;
  /** Nodes that must not be chosen (a create just failed there). */
  exclude?: ReadonlySet<string> | undefined;
}

export interface PlacementFailure {
  ok: false;
  reason: 'no-healthy-node' | 'constraints' | 'capacity' | 'excluded';
  message: string;
}

export type PlacementResult = { ok: true; nodeId: string } | PlacementFailure;

interface NodeState {
  readonly id: string;
  node: PlacementNode;
  /** Totals copied from the node, so that the hot path reads one object: CPU shares, bytes. */
  cpuCapacity: number;
  memCapacity: number;
  cpuReserved: number;
  memReserved: number;
  containers: number;
  rank: number;
  /** The node's place in each candidate pool it belongs to. */
  entries: BucketEntry[];
}

/** A node's place in one pool's buckets: buckets are doubly linked lists, so moving costs O(1). */
interface BucketEntry {
  readonly state: NodeState;
  readonly pool: CandidatePool;
  rank: number;
  prev: BucketEntry | undefined;
  next: BucketEntry | undefined;
}

interface Bucket {
  head: BucketEntry | undefined;
  tail: BucketEntry | undefined;
}

/**
 * Nodes ordered by rank: a sorted array of the ranks in use, each with its nodes in arrival order.
 * Buckets are linked lists rather than Sets: nodes leave a bucket from its front all the time (the
 * chosen node moves up a rank), and a Set keeps the holes they leave until it is compacted, which
 * every later walk from the front would have to skip.
 */
class RankBuckets {
  private readonly ranks: number[] = [];
  private readonly buckets = new Map<number, Bucket>();
  size = 0;

  add(entry: BucketEntry): void {
    this.link(entry);
    this.size++;
  }

  remove(entry: BucketEntry): void {
    this.unlink(entry);
    this.size--;
  }

  /** Moves the entry to the end of the bucket of `rank`. */
  move(entry: BucketEntry, rank: number): void {
    this.unlink(entry);
    entry.rank = rank;
    this.link(entry);
  }

  /** Calls `visit` on each node, lowest rank first, until it returns true; returns that node. */
  find(visit: (state: NodeState) => boolean): NodeState | undefined {
    for (const rank of this.ranks) {
      for (let entry = this.buckets.get(rank)?.head; entry; entry = entry.next) {
        if (visit(entry.state)) return entry.state;
      }
    }
    return undefined;
  }

  private link(entry: BucketEntry): void {
    let bucket = this.buckets.get(entry.rank);
    if (!bucket) {
      bucket = { head: undefined, tail: undefined };
      this.buckets.set(entry.rank, bucket);
      this.ranks.splice(lowerBound(this.ranks, entry.rank), 0, entry.rank);
    }
    entry.prev = bucket.tail;
    entry.next = undefined;
    if (bucket.tail) bucket.tail.next = entry;
    else bucket.head = entry;
    bucket.tail = entry;
  }

  private unlink(entry: BucketEntry): void {
    const bucket = this.buckets.get(entry.rank);
    if (!bucket) return;
    if (entry.prev) entry.prev.next = entry.next;
    else bucket.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else bucket.tail = entry.prev;
    entry.prev = entry.next = undefined;
    if (!bucket.head) {
      this.buckets.delete(entry.rank);
      this.ranks.splice(lowerBound(this.ranks, entry.rank), 1);
    }
  }
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The healthy nodes that satisfy one set of constraints. */
class CandidatePool {
  readonly buckets = new RankBuckets();
  readonly members = new Set<string>();
  constructor(readonly constraints: readonly Constraint[]) {}

  accepts(node: PlacementNode): boolean {
    return node.healthy && satisfiesAll(this.constraints, node);
  }
  add(state: NodeState): void {
    const entry: BucketEntry = { state, pool: this, rank: state.rank, prev: undefined, next: undefined };
    this.members.add(state.id);
    this.buckets.add(entry);
    state.entries.push(entry);
  }
  /** Takes the node out of this pool (the caller drops the entry from `state.entries`). */
  remove(entry: BucketEntry): void {
    this.members.delete(entry.state.id);
    this.buckets.remove(entry);
  }
}

// Rank = reserved percent (the higher of CPU and memory) then container count.
const COUNT_SPAN = 1 << 20;

/**
 * The cluster as placement sees it: nodes, what their containers reserve, and where each meta's
 * instances are. Feed it from the cluster cache, ask `choose`, and `addContainer` what was created.
 */
export class PlacementIndex {
  private readonly overcommit: number;
  private readonly nodes = new Map<string, NodeState>();
  private readonly pools = new Map<string, CandidatePool>();
  /** metaId → nodeId → instances of the meta there. */
  private readonly metaNodes = new Map<string, Map<string, number>>();
  /** Work counters: `choose` calls and nodes they looked at (benchmarks show the cost per placement). */
  readonly stats = { chosen: 0, examined: 0 };

  constructor(options: PlacementOptions = {}) {
    this.overcommit = options.overcommit ?? 0.05;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  /** Adds a node or replaces what is known about it (status, labels, totals); keeps its containers. */
  upsertNode(node: PlacementNode): void {
    const existing = this.nodes.get(node.id);
    if (existing) {
      this.leavePools(existing);
      existing.node = node;
      existing.cpuCapacity = node.cpus * SHARES_PER_CPU;
      existing.memCapacity = node.memoryBytes;
      existing.rank = this.rankOf(existing);
      this.joinPools(existing);
      return;
    }
    const state: NodeState = {
      id: node.id,
      node,
      cpuCapacity: node.cpus * SHARES_PER_CPU,
      memCapacity: node.memoryBytes,
      cpuReserved: 0,
      memReserved: 0,
      containers: 0,
      rank: 0,
      entries: [],
    };
    state.rank = this.rankOf(state);
    this.nodes.set(node.id, state);
    this.joinPools(state);
  }

  removeNode(nodeId: string): void {
    const state = this.nodes.get(nodeId);
    if (!state) return;
    this.leavePools(state);
    this.nodes.delete(nodeId);
    for (const [metaId, counts] of this.metaNodes) {
      counts.delete(nodeId);
      if (counts.size === 0) this.metaNodes.delete(metaId);
    }
  }

  /** Records a container on a node (created by us or found there). Unknown nodes are ignored. */
  addContainer(nodeId: string, metaId: string | undefined, resources: Resources = NO_RESOURCES): void {
    const state = this.nodes.get(nodeId);
    if (state) this.adjust(state, metaId, resources, 1);
  }

  removeContainer(nodeId: string, metaId: string | undefined, resources: Resources = NO_RESOURCES): void {
    const state = this.nodes.get(nodeId);
    if (state) this.adjust(state, metaId, resources, -1);
  }

  /** Instances of a meta per node id. */
  instancesOf(metaId: string): ReadonlyMap<string, number> {
    return this.metaNodes.get(metaId) ?? new Map();
  }

  containersOn(nodeId: string): number {
    return this.nodes.get(nodeId)?.containers ?? 0;
  }

  /** Picks a node for one more instance, without reserving it (see `place`). */
  choose(request: PlacementRequest): PlacementResult {
    const chosen = this.select(request);
    return 'ok' in chosen ? chosen : { ok: true, nodeId: chosen.id };
  }

  /** Chooses a node and reserves the instance there. */
  place(request: PlacementRequest): PlacementResult {
    const chosen = this.select(request);
    if ('ok' in chosen) return chosen;
    this.adjust(chosen, request.metaId, request.resources ?? NO_RESOURCES, 1);
    return { ok: true, nodeId: chosen.id };
  }

  private select(request: PlacementRequest): NodeState | PlacementFailure {
    const pool = this.poolFor(request.constraints);
    if (pool.buckets.size === 0) return this.explainEmpty(request);
    const resources = request.resources ?? NO_RESOURCES;
    const exclude = request.exclude;
    const counts = this.metaNodes.get(request.metaId);

    // Spread target: 0 when some pool node lacks the meta, else the fewest instances on one node.
    let target = 0;
    if (counts && counts.size > 0) {
      let inPool = 0;
      let least = Infinity;
      for (const [nodeId, n] of counts) {
        if (!pool.members.has(nodeId)) continue;
        inPool++;
        if (n < least) least = n;
      }
      if (inPool >= pool.members.size) target = least;
    }

    let fallback: NodeState | undefined;
    let fallbackCount = Infinity;
    let excluded = 0;
    let full = 0;
    this.stats.chosen++;
    const found = pool.buckets.find((state) => {
      this.stats.examined++;
      if (exclude?.has(state.id)) {
        excluded++;
        return false;
      }
      if (!this.fits(state, resources)) {
        full++;
        return false;
      }
      const n = counts?.get(state.id) ?? 0;
      if (n <= target) return true;
      if (n < fallbackCount) {
        fallback = state;
        fallbackCount = n;
      }
      return false;
    });
    const chosen = found ?? fallback;
    if (chosen) return chosen;
    if (full > 0) {
      return {
        ok: false,
        reason: 'capacity',
        message:
          `no node can fit ${resources.cpuShares} CPU shares and ${Math.round(resources.memoryBytes / 2 ** 20)} MB ` +
          `(${full} candidate node(s) full${excluded ? `, ${excluded} excluded after failures` : ''})`,
      };
    }
    return {
      ok: false,
      reason: 'excluded',
      message: `every candidate node (${excluded}) failed to create the container`,
    };
  }

  /** Places `count` instances one after the other; stops at the first that cannot be placed. */
  placeMany(request: PlacementRequest, count: number): { nodeIds: string[]; failure?: PlacementResult } {
    const nodeIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const result = this.place(request);
      if (!result.ok) return { nodeIds, failure: result };
      nodeIds.push(result.nodeId);
    }
    return { nodeIds };
  }

  private explainEmpty(request: PlacementRequest): PlacementFailure {
    for (const state of this.nodes.values()) {
      if (state.node.healthy) {
        return {
          ok: false,
          reason: 'constraints',
          message: `no healthy node satisfies the constraints ${request.constraints.map((c) => c.source).join(', ')}`,
        };
      }
    }
    return { ok: false, reason: 'no-healthy-node', message: 'no healthy node in the cluster' };
  }

  private fits(state: NodeState, r: Resources): boolean {
    const factor = 1 + this.overcommit;
    const { cpuCapacity, memCapacity } = state;
    if (r.cpuShares > 0 && cpuCapacity > 0 && state.cpuReserved + r.cpuShares > cpuCapacity * factor)
      return false;
    if (r.memoryBytes > 0 && memCapacity > 0 && state.memReserved + r.memoryBytes > memCapacity * factor) {
      return false;
    }
    return true;
  }

  private rankOf(state: NodeState): number {
    const { cpuCapacity, memCapacity } = state;
    const cpu = cpuCapacity > 0 ? state.cpuReserved / cpuCapacity : 0;
    const mem = memCapacity > 0 ? state.memReserved / memCapacity : 0;
    const percent = Math.max(0, Math.floor(Math.max(cpu, mem) * 100));
    return percent * COUNT_SPAN + Math.min(Math.max(state.containers, 0), COUNT_SPAN - 1);
  }

  private adjust(state: NodeState, metaId: string | undefined, resources: Resources, sign: 1 | -1): void {
    state.containers = Math.max(0, state.containers + sign);
    state.cpuReserved = Math.max(0, state.cpuReserved + sign * resources.cpuShares);
    state.memReserved = Math.max(0, state.memReserved + sign * resources.memoryBytes);
    const rank = this.rankOf(state);
    if (rank !== state.rank) {
      state.rank = rank;
      for (const entry of state.entries) entry.pool.buckets.move(entry, rank);
    }
    if (metaId !== undefined) {
      let counts = this.metaNodes.get(metaId);
      if (!counts) {
        counts = new Map();
        this.metaNodes.set(metaId, counts);
      }
      const n = (counts.get(state.id) ?? 0) + sign;
      if (n > 0) counts.set(state.id, n);
      else counts.delete(state.id);
      if (counts.size === 0) this.metaNodes.delete(metaId);
    }
  }

  private leavePools(state: NodeState): void {
    for (const entry of state.entries) entry.pool.remove(entry);
    state.entries = [];
  }

  private joinPools(state: NodeState): void {
    for (const pool of this.pools.values()) if (pool.accepts(state.node)) pool.add(state);
  }

  private poolFor(constraints: readonly Constraint[]): CandidatePool {
    const key = constraintsKey(constraints);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new CandidatePool(constraints);
      for (const state of this.nodes.values()) if (pool.accepts(state.node)) pool.add(state);
      this.pools.set(key, pool);
    }
    return pool;
  }
}

/** Reserved resources of a container config (cpuShares, memoryMB). */
export function resourcesOf(config: {
  cpuShares?: number | undefined;
  memoryMB?: number | undefined;
}): Resources {
  return { cpuShares: config.cpuShares ?? 0, memoryBytes: (config.memoryMB ?? 0) * 2 ** 20 };
}
