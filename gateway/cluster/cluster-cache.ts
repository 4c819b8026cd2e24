import type { ContainerFilter, Page } from '../../core/services.js';
import type { ContainerRecord, GroupRecord, NodeRecord, Store } from '../../core/store/store.js';
import type { ContainerState, NodeStatus } from '../../core/domain.js';
import { badInput } from '../../core/errors.js';

/** The agent's default port, used when a server address has none. */
export const DEFAULT_AGENT_PORT = 8500;

/** A group server as written by users: ip or hostname, optionally `:port`. */
export interface ServerAddress {
  /** Lower-case host (ip or hostname, IPv6 without brackets). */
  host: string;
  port: number;
  /** Whether the user wrote the port. */
  explicitPort: boolean;
  /** `host:port` in lower case (IPv6 in brackets): what the gateway dials. */
  key: string;
}

/** Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address; undefined when it is not one. */
export function parseServerAddress(raw: string): ServerAddress | undefined {
  const text = raw.trim().toLowerCase();
  if (!text || /[\s/@?#]/.test(text)) return undefined;
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if ((text.match(/:/g) ?? []).length > 1) {
    if (!/^[0-9a-f:.]+$/.test(text)) return undefined;
    host = text;
  } else {
    const m = /^([a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
    if (!m) return undefined;
    host = m[1]!;
    portText = m[2];
  }
  if (!host || host.startsWith('.') || host.startsWith('-')) return undefined;
  const port = portText === undefined ? DEFAULT_AGENT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { host, port, explicitPort: portText !== undefined, key: `${hostPart}:${port}` };
}

/** Normalises a server for storage in a group: lower case, `:port` only when it was given. */
export function normalizeServer(raw: string): string {
  const parsed = parseServerAddress(raw);
  if (!parsed) {
    throw badInput(`${JSON.stringify(raw)} is not an ip or hostname (optionally with :port)`, 'servers');
  }
  const hostPart = parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host;
  return parsed.explicitPort ? `${hostPart}:${parsed.port}` : hostPart;
}

/** Whether a group server names this node: its API address, or its ip or hostname. */
export function serverMatchesNode(server: string, node: NodeRecord): boolean {
  const s = parseServerAddress(server);
  if (!s) return false;
  const api = parseServerAddress(node.apiAddr);
  if (api && s.key === api.key) return true;
  if (s.host !== node.ip.toLowerCase() && s.host !== node.name.toLowerCase()) return false;
  return !s.explicitPort || !api || api.port === s.port;
}

/** A change the cache made, with what was there before (undefined: new). */
export interface ContainerChange {
  container: ContainerRecord;
  previous: ContainerRecord | undefined;
}

export interface NodeSyncResult {
  changed: ContainerChange[];
  removed: ContainerRecord[];
}

/** A group's server, as written, for looking up which nodes it names. */
interface ServerRef {
  groupId: string;
  server: string;
}

interface Membership {
  groupNodes: Map<string, Set<string>>;
  nodeGroups: Map<string, Set<string>>;
  serversByKey: Map<string, ServerRef[]>;
  /** Every server by host: for a node whose API address does not parse (rare). */
  serversByHost: Map<string, ServerRef[]>;
  /** Servers written without a port, by host: they name a node at that ip or hostname, any port. */
  portlessByHost: Map<string, ServerRef[]>;
  /** Servers written with a port, by `host port`: they name a node at that ip or hostname whose API has that port. */
  byHostAndPort: Map<string, ServerRef[]>;
}

/**
 * A container in the indexes: its record is replaced in place when it changes without moving in the
 * order (the same name). The order is by name, then id, compared field by field: a key string of
 * both kept per container was 130 bytes each (13 MB at 100,000 containers).
 */
interface Entry {
  record: ContainerRecord;
}

/** Where a page starts: the sort key of the last container of the page before (the cursor). */
interface SortKey {
  name: string;
  id: string;
}

/** The indexes' order: name, then id (as `${name}\u0000${id}` compares, names having no NUL). */
function compareKeys(a: SortKey, b: SortKey): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const compareEntries = (a: Entry, b: Entry): number => compareKeys(a.record, b.record);

/**
 * Containers of one index, sorted by key when read. Adds and deletes are O(1) (a set); the sorted
 * list is made again on the first read after a change: new entries sorted and merged in when only
 * adds happened, the others filtered out when only deletes did, sorted afresh otherwise. A splice
 * into a sorted array per change was O(n) each: 100,000 containers arriving, or 20,000 state changes
 * a second moving between the RUNNING and EXITED indexes, cost O(n^2).
 */
class Bucket {
  private readonly members = new Set<Entry>();
  private sorted: Entry[] = [];
  /** Added since `sorted` was made (none of them in it). */
  private added: Entry[] = [];
  private deleted = false;

  add(entry: Entry): void {
    if (this.members.has(entry)) return;
    this.members.add(entry);
    this.added.push(entry);
  }

  delete(entry: Entry): void {
    if (this.members.delete(entry)) this.deleted = true;
  }

  get size(): number {
    return this.members.size;
  }

  clear(): void {
    this.members.clear();
    this.sorted = [];
    this.added = [];
    this.deleted = false;
  }

  /** Sorted; callers must not change it. */
  list(): readonly Entry[] {
    if (this.added.length === 0 && !this.deleted) return this.sorted;
    if (this.deleted && this.added.length > 0) {
      // An entry deleted and added again may be in both lists: start over from the members.
      this.sorted = [...this.members].sort(compareEntries);
    } else if (this.deleted) {
      this.sorted = this.sorted.filter((e) => this.members.has(e));
    } else if (this.added.length > this.sorted.length / 4) {
      this.sorted = [...this.members].sort(compareEntries);
    } else {
      this.sorted = merge(this.sorted, this.added.sort(compareEntries));
    }
    this.added = [];
    this.deleted = false;
    return this.sorted;
  }
}

function merge(a: readonly Entry[], b: readonly Entry[]): Entry[] {
  const out: Entry[] = new Array<Entry>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = compareEntries(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

function encodeCursor(c: ContainerRecord): string {
  return Buffer.from(`${c.name}\u0000${c.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): SortKey {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  const at = key.indexOf('\u0000');
  if (at < 0) throw badInput('after: not a cursor from this API', 'after');
  return { name: key.slice(0, at), id: key.slice(at + 1) };
}

/** First index whose key is greater than `key`. */
function upperBound(list: readonly Entry[], key: SortKey): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(list[mid]!.record, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameContainer(a: ContainerRecord, b: ContainerRecord): boolean {
  if (
    a.name !== b.name ||
    a.nodeId !== b.nodeId ||
    a.image !== b.image ||
    a.state !== b.state ||
    a.status !== b.status ||
    a.groupId !== b.groupId ||
    a.metaId !== b.metaId ||
    a.index !== b.index ||
    a.createdAt !== b.createdAt
  ) {
    return false;
  }
  const ak = Object.keys(a.labels);
  if (ak.length !== Object.keys(b.labels).length) return false;
  return ak.every((k) => a.labels[k] === b.labels[k]);
}

/**
 * The gateway's in-memory view of nodes and containers. Queries are answered from here, never by
 * asking agents: containers are indexed by node, meta, cluster group label and state, and each index
 * keeps a lazily sorted list so a page is a binary search plus a slice.
 *
 * It knows the groups too, to answer "which nodes belong to group G" (a group's servers name nodes
 * by ip, hostname or API address).
 */
export class ClusterCache {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly containers = new Map<string, Entry>();
  private readonly all = new Bucket();
  private readonly byNode = new Map<string, Bucket>();
  private readonly byMeta = new Map<string, Bucket>();
  private readonly byGroupLabel = new Map<string, Bucket>();
  private readonly byState = new Map<ContainerState, Bucket>();
  private groups = new Map<string, GroupRecord>();
  /**
   * Which nodes each group's servers name, both ways: made lazily after groups change, then kept up
   * node by node (a node arriving looks up the servers that can name it), so thousands of nodes
   * arriving one by one do not each rebuild it (O(n^2)).
   */
  private members: Membership | null = null;
  /** API address key → ids of the nodes at it. */
  private readonly atAddress = new Map<string, Set<string>>();
  /** Bumped by every change to containers or group membership (for groupMemo). */
  private version = 0;
  private readonly groupMemo = new Map<string, { version: number; list: Entry[] }>();

  // ---- groups -------------------------------------------------------------------------------

  setGroups(groups: readonly GroupRecord[]): void {
    this.groups = new Map(groups.map((g) => [g.id, g]));
    this.members = null;
    this.version++;
  }

  upsertGroup(group: GroupRecord): void {
    this.groups.set(group.id, group);
    this.members = null;
    this.version++;
  }

  removeGroup(id: string): void {
    if (this.groups.delete(id)) {
      this.members = null;
      this.version++;
    }
  }

  listGroups(): GroupRecord[] {
    return [...this.groups.values()];
  }

  private membership(): Membership {
    if (!this.members) {
      // The servers by API address key and by host: a node is looked up there (O(servers) once,
      // then O(1) per node), not tested against every server (O(nodes x servers)).
      const m: Membership = {
        groupNodes: new Map(),
        nodeGroups: new Map(),
        serversByKey: new Map(),
        serversByHost: new Map(),
        portlessByHost: new Map(),
        byHostAndPort: new Map(),
      };
      const push = (map: Map<string, ServerRef[]>, key: string, ref: ServerRef): void => {
        const list = map.get(key);
        if (list) list.push(ref);
        else map.set(key, [ref]);
      };
      for (const group of this.groups.values()) {
        m.groupNodes.set(group.id, new Set());
        for (const server of group.servers) {
          const s = parseServerAddress(server);
          if (!s) continue;
          const ref = { groupId: group.id, server };
          push(m.serversByKey, s.key, ref);
          push(m.serversByHost, s.host, ref);
          if (s.explicitPort) push(m.byHostAndPort, `${s.host} ${s.port}`, ref);
          else push(m.portlessByHost, s.host, ref);
        }
      }
      this.members = m;
      for (const node of this.nodes.values()) this.placeNode(m, node);
    }
    return this.members;
  }

  /**
   * Adds the node to the groups whose servers name it (serverMatchesNode decides). The candidates
   * are only the servers that can name it: by its API address, by its ip or hostname without a port,
   * or with its API's port. All the servers of its host were thousands when many agents share one
   * ip on different ports, each node tested against all of them (O(nodes x servers)).
   */
  private placeNode(m: Membership, node: NodeRecord): void {
    const api = parseServerAddress(node.apiAddr);
    const ip = node.ip.toLowerCase();
    const name = node.name.toLowerCase();
    const hosts = name !== ip ? [ip, name] : [ip];
    const candidates = api
      ? [
          ...(m.serversByKey.get(api.key) ?? []),
          ...hosts.flatMap((h) => [
            ...(m.portlessByHost.get(h) ?? []),
            ...(m.byHostAndPort.get(`${h} ${api.port}`) ?? []),
          ]),
        ]
      : hosts.flatMap((h) => m.serversByHost.get(h) ?? []);
    for (const { groupId, server } of candidates) {
      const ids = m.groupNodes.get(groupId);
      if (!ids || ids.has(node.id) || !serverMatchesNode(server, node)) continue;
      ids.add(node.id);
      let gs = m.nodeGroups.get(node.id);
      if (!gs) m.nodeGroups.set(node.id, (gs = new Set()));
      gs.add(groupId);
    }
  }

  /** Takes the node out of every group (it went, or its addresses changed). */
  private unplaceNode(m: Membership, id: string): void {
    for (const g of m.nodeGroups.get(id) ?? []) m.groupNodes.get(g)?.delete(id);
    m.nodeGroups.delete(id);
  }

  /** The node's addresses changed (or it is new, or gone: `node` undefined). */
  private nodeMoved(id: string, previous: NodeRecord | undefined, node: NodeRecord | undefined): void {
    this.version++;
    if (previous?.apiAddr !== node?.apiAddr) {
      const from = previous && parseServerAddress(previous.apiAddr)?.key;
      const to = node && parseServerAddress(node.apiAddr)?.key;
      if (from) {
        const ids = this.atAddress.get(from);
        ids?.delete(id);
        if (ids?.size === 0) this.atAddress.delete(from);
      }
      if (to) {
        const ids = this.atAddress.get(to);
        if (ids) ids.add(id);
        else this.atAddress.set(to, new Set([id]));
      }
    }
    const m = this.members;
    if (!m) return;
    this.unplaceNode(m, id);
    if (node) this.placeNode(m, node);
  }

  /** The nodes whose API address is `key` (parseServerAddress's key). */
  nodesAtAddress(key: string): NodeRecord[] {
    const ids = this.atAddress.get(key);
    if (!ids) return [];
    return [...ids].map((id) => this.nodes.get(id)).filter((n): n is NodeRecord => n !== undefined);
  }

  /** Ids of the nodes a group's servers name. */
  nodeIdsOfGroup(groupId: string): string[] {
    return [...(this.membership().groupNodes.get(groupId) ?? [])];
  }

  /** Ids of the groups whose servers name this node. */
  groupIdsOfNode(nodeId: string): string[] {
    return [...(this.membership().nodeGroups.get(nodeId) ?? [])];
  }

  // ---- nodes --------------------------------------------------------------------------------

  /** Returns the previous record (undefined: new). */
  upsertNode(node: NodeRecord): NodeRecord | undefined {
    const previous = this.nodes.get(node.id);
    this.nodes.set(node.id, node);
    if (
      !previous ||
      previous.apiAddr !== node.apiAddr ||
      previous.ip !== node.ip ||
      previous.name !== node.name
    ) {
      this.nodeMoved(node.id, previous, node);
    }
    return previous;
  }

  /** Forgets a node and its containers; returns the containers that were dropped. */
  removeNode(id: string): ContainerRecord[] {
    const dropped = this.containersOfNode(id);
    for (const c of dropped) this.removeContainer(c.id);
    const previous = this.nodes.get(id);
    if (this.nodes.delete(id)) this.nodeMoved(id, previous, undefined);
    return dropped;
  }

  getNode(id: string): NodeRecord | undefined {
    return this.nodes.get(id);
  }

  /** By id, then API address, ip or hostname (case-insensitive). */
  findNode(idOrAddress: string): NodeRecord | undefined {
    const exact = this.nodes.get(idOrAddress);
    if (exact) return exact;
    const needle = idOrAddress.trim().toLowerCase();
    for (const node of this.nodes.values()) if (node.id.toLowerCase() === needle) return node;
    const parsed = parseServerAddress(needle);
    if (!parsed) return undefined;
    const matches = [...this.nodes.values()].filter((n) => serverMatchesNode(needle, n));
    // Prefer a healthy node when one hostname is shared by several stale records.
    return matches.find((n) => n.status === 'HEALTHY') ?? matches[0];
  }

  listNodes(filter: { groupId?: string | undefined; status?: NodeStatus | undefined } = {}): NodeRecord[] {
    let nodes: NodeRecord[];
    if (filter.groupId !== undefined) {
      const ids = this.membership().groupNodes.get(filter.groupId) ?? new Set<string>();
      nodes = [...ids].map((id) => this.nodes.get(id)).filter((n): n is NodeRecord => n !== undefined);
    } else {
      nodes = [...this.nodes.values()];
    }
    if (filter.status !== undefined) nodes = nodes.filter((n) => n.status === filter.status);
    return nodes.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Every node, in no particular order (no copy, no sort: for loops over all of them). */
  nodeRecords(): IterableIterator<NodeRecord> {
    return this.nodes.values();
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  // ---- containers ---------------------------------------------------------------------------

  private bucket<K>(map: Map<K, Bucket>, key: K): Bucket {
    let b = map.get(key);
    if (!b) map.set(key, (b = new Bucket()));
    return b;
  }

  private index(entry: Entry): void {
    this.version++;
    const c = entry.record;
    this.all.add(entry);
    this.bucket(this.byNode, c.nodeId).add(entry);
    this.bucket(this.byState, c.state).add(entry);
    if (c.metaId) this.bucket(this.byMeta, c.metaId).add(entry);
    if (c.groupId) this.bucket(this.byGroupLabel, c.groupId).add(entry);
  }

  private move<K>(map: Map<K, Bucket>, from: K | undefined, to: K | undefined, entry: Entry): void {
    if (from === to) return;
    this.version++;
    if (from !== undefined) {
      const b = map.get(from);
      if (b) {
        b.delete(entry);
        if (b.size === 0) map.delete(from);
      }
    }
    if (to !== undefined) this.bucket(map, to).add(entry);
  }

  private unindex(entry: Entry): void {
    this.version++;
    const c = entry.record;
    this.all.delete(entry);
    const drop = <K>(map: Map<K, Bucket>, key: K): void => {
      const b = map.get(key);
      if (!b) return;
      b.delete(entry);
      if (b.size === 0) map.delete(key);
    };
    drop(this.byNode, c.nodeId);
    drop(this.byState, c.state);
    if (c.metaId) drop(this.byMeta, c.metaId);
    if (c.groupId) drop(this.byGroupLabel, c.groupId);
  }

  /** Inserts or replaces; returns the previous record, or `unchanged: true` when nothing differs. */
  upsertContainer(container: ContainerRecord): { previous: ContainerRecord | undefined; unchanged: boolean } {
    const current = this.containers.get(container.id);
    if (current && sameContainer(current.record, container))
      return { previous: current.record, unchanged: true };
    if (current && current.record.name === container.name) {
      // Same place in every order: move it only between the indexes whose key changed.
      const old = current.record;
      current.record = container;
      this.move(this.byNode, old.nodeId, container.nodeId, current);
      this.move(this.byState, old.state, container.state, current);
      this.move(this.byMeta, old.metaId, container.metaId, current);
      this.move(this.byGroupLabel, old.groupId, container.groupId, current);
      return { previous: old, unchanged: false };
    }
    if (current) this.unindex(current);
    const entry: Entry = { record: container };
    this.containers.set(container.id, entry);
    this.index(entry);
    return { previous: current?.record, unchanged: false };
  }

  removeContainer(id: string): ContainerRecord | undefined {
    const current = this.containers.get(id);
    if (!current) return undefined;
    this.unindex(current);
    this.containers.delete(id);
    return current.record;
  }

  /**
   * Makes the node's containers exactly `containers` (a resync from its agent). Returns what
   * changed and what disappeared.
   */
  replaceNodeContainers(nodeId: string, containers: readonly ContainerRecord[]): NodeSyncResult {
    const seen = new Set<string>();
    const changed: ContainerChange[] = [];
    for (const c of containers) {
      const record = c.nodeId === nodeId ? c : { ...c, nodeId };
      seen.add(record.id);
      const { previous, unchanged } = this.upsertContainer(record);
      if (!unchanged) changed.push({ container: record, previous });
    }
    const removed: ContainerRecord[] = [];
    for (const old of this.containersOfNode(nodeId)) {
      if (!seen.has(old.id)) {
        this.removeContainer(old.id);
        removed.push(old);
      }
    }
    return { changed, removed };
  }

  getContainer(id: string): ContainerRecord | undefined {
    return this.containers.get(id)?.record;
  }

  /** Full id, unique id prefix (at least 4 characters) or exact name; ambiguous prefixes throw. */
  findContainer(idOrPrefix: string): ContainerRecord | undefined {
    const exact = this.containers.get(idOrPrefix);
    if (exact) return exact.record;
    const needle = idOrPrefix.trim().toLowerCase();
    if (!needle) return undefined;
    const matches: ContainerRecord[] = [];
    if (needle.length >= 4 && /^[0-9a-f]+$/.test(needle)) {
      for (const [id, entry] of this.containers) if (id.startsWith(needle)) matches.push(entry.record);
    }
    if (matches.length === 0) {
      const name = idOrPrefix.trim().replace(/^\//, '');
      for (const entry of this.containers.values())
        if (entry.record.name === name) matches.push(entry.record);
    }
    if (matches.length > 1) {
      throw badInput(
        `${JSON.stringify(idOrPrefix)} matches ${matches.length} containers; give more of the id`,
        'id',
      );
    }
    return matches[0];
  }

  /**
   * The groups' containers (core/labels.ts containerGroupIds: single-mode containers on the groups'
   * nodes, and the groups' cluster containers), sorted; remembered until the next change so a
   * non-admin's repeated queries do not rebuild it.
   */
  private groupEntries(groupIds: readonly string[]): readonly Entry[] {
    const key = [...groupIds].sort().join('\u0000');
    const memo = this.groupMemo.get(key);
    if (memo && memo.version === this.version) return memo.list;
    const { groupNodes } = this.membership();
    const set = new Set<Entry>();
    for (const g of groupIds) {
      for (const n of groupNodes.get(g) ?? []) {
        for (const e of this.byNode.get(n)?.list() ?? []) if (e.record.groupId === undefined) set.add(e);
      }
      for (const e of this.byGroupLabel.get(g)?.list() ?? []) set.add(e);
    }
    const list = [...set].sort(compareEntries);
    if (this.groupMemo.size >= 256) this.groupMemo.clear();
    this.groupMemo.set(key, { version: this.version, list });
    return list;
  }

  containersOfNode(nodeId: string): ContainerRecord[] {
    return (this.byNode.get(nodeId)?.list() ?? []).map((e) => e.record);
  }

  containersOfMeta(metaId: string): ContainerRecord[] {
    return (this.byMeta.get(metaId)?.list() ?? []).map((e) => e.record);
  }

  get containerCount(): number {
    return this.containers.size;
  }

  /**
   * One page of containers matching `filter`, ordered by name then id. The cursor is the last
   * container's sort key, so pages stay consistent while containers come and go.
   */
  queryContainers(
    filter: ContainerFilter,
    page: { first: number; after?: string | undefined },
  ): Page<ContainerRecord> {
    const first = Math.max(0, Math.floor(page.first));
    // Start from the smallest index that applies, test the remaining conditions per container.
    type Dim = 'node' | 'meta' | 'state' | 'group';
    const candidates: Array<[Dim, readonly Entry[]]> = [];
    if (filter.nodeId !== undefined) candidates.push(['node', this.byNode.get(filter.nodeId)?.list() ?? []]);
    if (filter.metaId !== undefined) candidates.push(['meta', this.byMeta.get(filter.metaId)?.list() ?? []]);
    if (filter.state !== undefined) candidates.push(['state', this.byState.get(filter.state)?.list() ?? []]);
    if (filter.groupIds !== undefined && candidates.length === 0) {
      candidates.push(['group', this.groupEntries(filter.groupIds)]);
    }
    let primary: readonly Entry[] = this.all.list();
    let primaryDim: Dim | undefined;
    for (const [dim, list] of candidates) {
      if (primaryDim === undefined || list.length < primary.length) {
        primary = list;
        primaryDim = dim;
      }
    }

    const tests: Array<(c: ContainerRecord) => boolean> = [];
    if (filter.nodeId !== undefined && primaryDim !== 'node') tests.push((c) => c.nodeId === filter.nodeId);
    if (filter.metaId !== undefined && primaryDim !== 'meta') tests.push((c) => c.metaId === filter.metaId);
    if (filter.state !== undefined && primaryDim !== 'state') tests.push((c) => c.state === filter.state);
    if (filter.groupIds !== undefined && primaryDim !== 'group') {
      const groups = new Set(filter.groupIds);
      const nodeIds = new Set<string>();
      const { groupNodes } = this.membership();
      for (const g of groups) for (const n of groupNodes.get(g) ?? []) nodeIds.add(n);
      tests.push((c) => (c.groupId !== undefined ? groups.has(c.groupId) : nodeIds.has(c.nodeId)));
    }
    const needle = filter.search?.trim().toLowerCase();
    if (needle) {
      tests.push((c) => c.name.toLowerCase().includes(needle) || c.image.toLowerCase().includes(needle));
    }
    const matches = (c: ContainerRecord): boolean => tests.every((t) => t(c));

    const list = primary;
    const start = page.after ? upperBound(list, decodeCursor(page.after)) : 0;
    const nodes: ContainerRecord[] = [];
    let hasNextPage = false;
    let totalCount: number;
    if (tests.length === 0) {
      totalCount = list.length;
      const slice = list.slice(start, start + first);
      for (const e of slice) nodes.push(e.record);
      hasNextPage = start + first < list.length;
    } else {
      totalCount = 0;
      for (let i = 0; i < list.length; i++) {
        const c = list[i]!.record;
        if (!matches(c)) continue;
        totalCount++;
        if (i < start) continue;
        if (nodes.length < first) nodes.push(c);
        else hasNextPage = true;
      }
    }
    const last = nodes[nodes.length - 1];
    return { nodes, totalCount, endCursor: last ? encodeCursor(last) : null, hasNextPage };
  }

  // ---- persistence --------------------------------------------------------------------------

  /** Replaces everything with the store's cache collections and groups. */
  async loadFrom(store: Store): Promise<void> {
    const [groups, nodes, containers] = await Promise.all([
      store.list('groups'),
      store.list('nodes'),
      store.list('containers'),
    ]);
    this.clear();
    this.setGroups(groups);
    for (const n of nodes) this.upsertNode(n);
    for (const c of containers) this.upsertContainer(c);
  }

  clear(): void {
    this.nodes.clear();
    this.containers.clear();
    this.all.clear();
    this.byNode.clear();
    this.byMeta.clear();
    this.byGroupLabel.clear();
    this.byState.clear();
    this.atAddress.clear();
    this.members = null;
    this.version++;
  }
}
