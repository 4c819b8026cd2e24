import type { EventBus } from '../../core/bus.js';
import { containerGroupIds } from '../../core/labels.js';
import type { Logger } from '../../core/logger.js';
import type { ContainerRecord, NodeRecord, Store } from '../../core/store/store.js';
import type { NodeStatus } from '../../core/domain.js';
import type { ClusterCache } from './cluster-cache.js';
import { CHANNEL, publishEvent, type ContainerStatusMessage } from '../../core/bus/channels.js';

/** Bus channel on which the gateway that changed the cache tells the others what it changed. */
export const CACHE_SYNC_CHANNEL = 'humpback:cache-sync';

/** What travels on CACHE_SYNC_CHANNEL; `origin` is the sending gateway, which ignores its own. */
export type CacheSyncMessage =
  | { origin: string; kind: 'node'; node: NodeRecord }
  | { origin: string; kind: 'nodeRemoved'; nodeId: string }
  | { origin: string; kind: 'containers'; upsert: ContainerRecord[]; remove: string[] }
  /** Groups changed in the store: reload them (membership of nodes in groups depends on them). */
  | { origin: string; kind: 'groups' };

export interface CacheWriterOptions {
  cache: ClusterCache;
  store: Store;
  bus: EventBus;
  /** This gateway's id on the bus. */
  origin: string;
  logger: Logger;
  /** @default () => new Date() */
  now?: (() => Date) | undefined;
}

/**
 * Every change to the cluster cache goes through here, in this order: the local cache (so a
 * mutation's answer can be read back at once), the store's cache collections, a sync message for the
 * other gateways' caches, and finally the containerStatus/nodeStatus events for subscribers — so a
 * client that reacts to an event finds the change on whichever gateway it asks.
 */
export class CacheWriter {
  private readonly now: () => Date;

  constructor(private readonly options: CacheWriterOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get cache(): ClusterCache {
    return this.options.cache;
  }

  private groupIdsOf(nodeId: string, container?: ContainerRecord): string[] {
    const ofNode = this.options.cache.groupIdsOfNode(nodeId);
    return container ? containerGroupIds(container, ofNode) : ofNode;
  }

  private async sync(message: CacheSyncMessage): Promise<void> {
    await this.options.bus.publish(CACHE_SYNC_CHANNEL, message);
  }

  /** The node with `statusSince` carried over from the cached copy, or now when its status changes. */
  private stamped(node: NodeRecord): NodeRecord {
    const known = this.options.cache.getNode(node.id);
    const statusSince =
      known?.status === node.status ? (known.statusSince ?? node.statusSince) : this.now().toISOString();
    return { ...node, statusSince };
  }

  /** Writes a node; publishes nodeStatus when it is new or its status changed. */
  async node(input: NodeRecord): Promise<void> {
    const node = this.stamped(input);
    const previous = this.options.cache.upsertNode(node);
    await this.options.store.put('nodes', node.id, node);
    // The sync message and the event in one round (one connection keeps their order).
    const synced = this.sync({ origin: this.options.origin, kind: 'node', node });
    if (!previous || previous.status !== node.status) {
      await Promise.all([
        synced,
        publishEvent(this.options.bus, CHANNEL.nodeStatus, {
          node,
          previousStatus: previous?.status ?? null,
          at: this.now().toISOString(),
          groupIds: this.groupIdsOf(node.id),
        }),
      ]);
    } else {
      await synced;
    }
  }

  /** Updates a node's live figures in the local cache only (they are written with the next resync). */
  touchNode(node: NodeRecord): void {
    this.options.cache.upsertNode(this.stamped(node));
  }

  /** Sets a node's status (no-op when the node is unknown or already has it). */
  async nodeStatus(nodeId: string, status: NodeStatus, statusReason?: string): Promise<void> {
    const current = this.options.cache.getNode(nodeId);
    if (!current || current.status === status) return;
    await this.node({ ...current, status, statusReason, updatedAt: this.now().toISOString() });
  }

  /**
   * Forgets a node (its agent left every group): announced as DISCONNECTED, then removed with its
   * containers.
   */
  async removeNode(nodeId: string): Promise<void> {
    const current = this.options.cache.getNode(nodeId);
    const groupIds = current ? this.groupIdsOf(nodeId) : [];
    const dropped = this.options.cache.removeNode(nodeId);
    await this.options.store.delete('nodes', nodeId);
    await this.options.store.deleteMany(
      'containers',
      dropped.map((c) => c.id),
    );
    await this.sync({ origin: this.options.origin, kind: 'nodeRemoved', nodeId });
    if (current && current.status !== 'DISCONNECTED') {
      await publishEvent(this.options.bus, CHANNEL.nodeStatus, {
        node: { ...current, status: 'DISCONNECTED', updatedAt: this.now().toISOString() },
        previousStatus: current.status,
        at: this.now().toISOString(),
        groupIds,
      });
    }
  }

  /**
   * Inserts/replaces and removes containers. Publishes containerStatus for every new container,
   * every state change, and every removal (announced once with state REMOVING).
   */
  async containers(upsert: readonly ContainerRecord[], remove: readonly string[]): Promise<void> {
    const cache = this.options.cache;
    const changed: ContainerRecord[] = [];
    const events: Array<{ container: ContainerRecord; previousState: ContainerRecord['state'] | null }> = [];
    for (const c of upsert) {
      const { previous, unchanged } = cache.upsertContainer(c);
      if (unchanged) continue;
      changed.push(c);
      if (!previous || previous.state !== c.state)
        events.push({ container: c, previousState: previous?.state ?? null });
    }
    const removed: ContainerRecord[] = [];
    for (const id of remove) {
      const old = cache.removeContainer(id);
      if (!old) continue;
      removed.push(old);
      events.push({ container: { ...old, state: 'REMOVING', status: 'Removed' }, previousState: old.state });
    }
    await this.persistAndAnnounce(changed, removed, events);
  }

  /** Makes a node's containers exactly `list` (a resync from its agent). */
  async replaceNodeContainers(nodeId: string, list: readonly ContainerRecord[]): Promise<void> {
    const result = this.options.cache.replaceNodeContainers(nodeId, list);
    const events: Array<{ container: ContainerRecord; previousState: ContainerRecord['state'] | null }> = [];
    for (const { container, previous } of result.changed) {
      if (!previous || previous.state !== container.state) {
        events.push({ container, previousState: previous?.state ?? null });
      }
    }
    for (const old of result.removed) {
      events.push({ container: { ...old, state: 'REMOVING', status: 'Removed' }, previousState: old.state });
    }
    await this.persistAndAnnounce(
      result.changed.map((c) => c.container),
      result.removed,
      events,
    );
  }

  private async persistAndAnnounce(
    changed: ContainerRecord[],
    removed: ContainerRecord[],
    events: Array<{ container: ContainerRecord; previousState: ContainerRecord['state'] | null }>,
  ): Promise<void> {
    if (changed.length === 0 && removed.length === 0) return;
    const { store } = this.options;
    if (changed.length > 0)
      await store.putMany(
        'containers',
        changed.map((c) => [c.id, c] as const),
      );
    if (removed.length > 0) {
      await store.deleteMany(
        'containers',
        removed.map((c) => c.id),
      );
    }
    const synced = this.sync({
      origin: this.options.origin,
      kind: 'containers',
      upsert: changed,
      remove: removed.map((c) => c.id),
    });
    if (events.length === 0) return synced;
    const at = this.now().toISOString();
    // A batch's events are of one node, mostly: its groups are looked up once, not per event.
    const groupsOfNode = new Map<string, string[]>();
    const messages = events.map(({ container, previousState }): ContainerStatusMessage => {
      const { nodeId } = container;
      let ofNode = groupsOfNode.get(nodeId);
      if (!ofNode) {
        ofNode = this.options.cache.groupIdsOfNode(nodeId);
        groupsOfNode.set(nodeId, ofNode);
      }
      return { container, previousState, at, groupIds: containerGroupIds(container, ofNode) };
    });
    // All the events in one bus message, published right after the sync message (one connection
    // keeps that order): a node's first list is 20 or more of them, thousands of nodes at start-up.
    await Promise.all([synced, this.options.bus.publishMany(CHANNEL.containerStatus, messages)]);
  }

  /** Tells every gateway (this one included) that groups changed in the store. */
  async groupsChanged(): Promise<void> {
    this.options.cache.setGroups(await this.options.store.list('groups'));
    await this.sync({ origin: this.options.origin, kind: 'groups' });
  }
}

/**
 * Keeps this gateway's cache in step with the changes other gateways make. Returns a function that
 * stops following. `onGroups` runs after groups were reloaded (the node watcher uses it).
 */
export async function followCacheSync(options: {
  bus: EventBus;
  cache: ClusterCache;
  store: Store;
  origin: string;
  logger: Logger;
  onGroups?: (() => void) | undefined;
  /** Messages that arrive before this settles are held and applied after it (an initial load). */
  after?: Promise<unknown> | undefined;
}): Promise<() => Promise<void>> {
  const { cache, store, origin, logger } = options;
  // Group reloads are async; keep them in order with each other.
  let groupsChain: Promise<void> = Promise.resolve();
  let held: CacheSyncMessage[] | undefined;
  if (options.after) {
    const queue: CacheSyncMessage[] = [];
    held = queue;
    void options.after
      .catch(() => undefined)
      .then(() => {
        held = undefined;
        for (const m of queue) apply(m);
      });
  }
  const apply = (message: CacheSyncMessage): void => {
    switch (message.kind) {
      case 'node':
        cache.upsertNode(message.node);
        return;
      case 'nodeRemoved':
        cache.removeNode(message.nodeId);
        return;
      case 'containers':
        for (const c of message.upsert) cache.upsertContainer(c);
        for (const id of message.remove) cache.removeContainer(id);
        return;
      case 'groups':
        groupsChain = groupsChain
          .then(async () => {
            cache.setGroups(await store.list('groups'));
            options.onGroups?.();
          })
          .catch((err: unknown) => logger.error({ err }, 'could not reload groups'));
        return;
      default: {
        const never: never = message;
        logger.warn({ message: never }, 'unknown cache sync message');
      }
    }
  };
  return options.bus.subscribe(CACHE_SYNC_CHANNEL, (raw) => {
    const message = raw as CacheSyncMessage;
    if (!message || typeof message !== 'object' || message.origin === origin) return;
    if (held) held.push(message);
    else apply(message);
  });
}
