import type { EventBus } from '../core/bus.js';
import type { GatewayConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { NodeRegistration } from '../core/node-data.js';
import type { ContainerRecord, NodeRecord, NodeStatus, Store } from '../core/store/store.js';
import { nodeFromRegistration } from '../gateway/agent-pool.js';
import type { Leadership } from '../gateway/leadership.js';
import { systemClock, type Clock } from './clock.js';
import { ClusterMetaService } from './meta-service.js';
import type { ClusterView, ContainerSink, SchedulerAgent } from './reconciler.js';
import { Scheduler } from './scheduler.js';
import { discoveryPath, ZookeeperDiscovery, type DiscoveryListener } from './zookeeper-discovery.js';
import { electionPath, ZookeeperLeadership } from './zookeeper-leadership.js';

/** What discovery writes nodes and containers through (gateway/cache-writer.ts CacheWriter fits). */
export interface NodeWriter extends ContainerSink {
  node(node: NodeRecord): Promise<void>;
  nodeStatus(nodeId: string, status: NodeStatus): Promise<void>;
  replaceNodeContainers(nodeId: string, list: readonly ContainerRecord[]): Promise<void>;
}

/** How discovery lists a new node's containers (gateway/agent-pool.ts NodeAgent fits). */
export interface ListingAgent extends SchedulerAgent {
  listContainers(nodeId: string): Promise<ContainerRecord[]>;
}

export interface StartClusterOptions {
  config: Pick<
    GatewayConfig,
    'clusterUris' | 'clusterName' | 'migrateDelaySeconds' | 'recoveryIntervalSeconds' | 'removeDelaySeconds'
  >;
  store: Store;
  bus: EventBus;
  /** The gateway's cluster cache (gateway/cluster-cache.ts ClusterCache). */
  cluster: ClusterView;
  /** The gateway's cache writer (gateway/cache-writer.ts CacheWriter). */
  writer: NodeWriter;
  /** The agent of a node (e.g. `(node) => pool.forNode(node)` with gateway/agent-pool.ts AgentPool). */
  agentFor: (node: NodeRecord) => ListingAgent;
  /** Who leads. Default: ZooKeeper election when DOCKER_CLUSTER_URIS is set, else this gateway. */
  leadership?: Leadership | undefined;
  clock?: Clock | undefined;
  logger?: Logger | undefined;
  /** ZooKeeper session timeout for discovery and election. @default 10_000 */
  sessionTimeoutMs?: number | undefined;
}

export interface RunningCluster {
  metas: ClusterMetaService;
  scheduler: Scheduler;
  leadership: Leadership | undefined;
  discovery: ZookeeperDiscovery | undefined;
  close(): Promise<void>;
}

/**
 * Bridges ZooKeeper discovery to the cluster cache: a node whose znode appears is PENDING until its
 * containers are listed, then HEALTHY; a node whose znode goes is DISCONNECTED (its containers stay in
 * the cache, counted until the migration delay passes). Losing ZooKeeper ourselves holds migrations.
 */
export function discoveryBridge(options: {
  cluster: ClusterView;
  writer: NodeWriter;
  agentFor: (node: NodeRecord) => ListingAgent;
  scheduler: Scheduler;
  clock?: Clock | undefined;
  logger?: Logger | undefined;
}): DiscoveryListener {
  const clock = options.clock ?? systemClock;
  const chains = new Map<string, Promise<void>>();
  const serial = (key: string, work: () => Promise<void>): void => {
    const next = (chains.get(key) ?? Promise.resolve()).then(work).catch((err: unknown) => {
      options.logger?.warn({ err, nodeId: key }, 'discovery update failed');
    });
    chains.set(key, next);
  };
  return {
    nodeUp(reg: NodeRegistration) {
      serial(reg.key, async () => {
        const info = nodeFromRegistration(reg);
        const now = new Date(clock.now()).toISOString();
        const current = options.cluster.getNode(info.id);
        const base = { ...info, apiAddr: reg.data.apiaddr, updatedAt: now };
        if (current && current.status === 'HEALTHY') {
          await options.writer.node({ ...base, status: 'HEALTHY' });
          return;
        }
        const pending: NodeRecord = { ...base, status: 'PENDING' };
        await options.writer.node(pending);
        const containers = await options.agentFor(pending).listContainers(pending.id);
        await options.writer.replaceNodeContainers(pending.id, containers);
        await options.writer.node({
          ...pending,
          status: 'HEALTHY',
          updatedAt: new Date(clock.now()).toISOString(),
        });
      });
    },
    nodeDown(key: string) {
      serial(key, () => options.writer.nodeStatus(key, 'DISCONNECTED'));
    },
    connection(connected: boolean) {
      if (connected) options.scheduler.thawMigrations();
      else options.scheduler.freezeMigrations();
    },
  };
}

/**
 * Starts cluster mode in a gateway: the scheduler (leader-only loops), ZooKeeper discovery and
 * election when DOCKER_CLUSTER_URIS is set, and the MetaService the resolvers call.
 */
export async function startCluster(options: StartClusterOptions): Promise<RunningCluster> {
  const { config, logger } = options;
  const uris = config.clusterUris;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
  let leadership = options.leadership;
  let ownLeadership: ZookeeperLeadership | undefined;
  if (!leadership && uris) {
    ownLeadership = new ZookeeperLeadership({
      connectionString: uris.connectionString,
      path: electionPath(uris.prefix, config.clusterName),
      sessionTimeoutMs,
      logger,
    });
    await ownLeadership.start();
    leadership = ownLeadership;
  }
  const scheduler = new Scheduler({
    store: options.store,
    cluster: options.cluster,
    sink: options.writer,
    agentFor: options.agentFor,
    bus: options.bus,
    leadership,
    clock: options.clock,
    migrateDelaySeconds: config.migrateDelaySeconds,
    recoveryIntervalSeconds: config.recoveryIntervalSeconds,
    removeDelaySeconds: config.removeDelaySeconds,
    logger,
  });
  await scheduler.start();
  let discovery: ZookeeperDiscovery | undefined;
  if (uris) {
    discovery = new ZookeeperDiscovery({
      connectionString: uris.connectionString,
      path: discoveryPath(uris.prefix, config.clusterName),
      sessionTimeoutMs,
      logger,
      listener: discoveryBridge({
        cluster: options.cluster,
        writer: options.writer,
        agentFor: options.agentFor,
        scheduler,
        clock: options.clock,
        logger,
      }),
    });
    await discovery.start();
  }
  const metas = new ClusterMetaService({ store: options.store, scheduler, clock: options.clock });
  return {
    metas,
    scheduler,
    leadership,
    discovery,
    async close() {
      await discovery?.close();
      await scheduler.close();
      await ownLeadership?.close();
    },
  };
}
