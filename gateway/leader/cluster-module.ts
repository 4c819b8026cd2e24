/**
 * The leader's duties behind one façade: who leads (ZooKeeper election when DOCKER_CLUSTER_URIS is
 * set; else the wiring's default) and what the leader runs on top of the gateway's cluster state
 * (the scheduler's loops and webhooks, ZooKeeper discovery of the agents).
 */
import type { GatewayConfig } from '../../core/config.js';
import type { Leadership } from '../../core/leadership.js';
import { componentLogger, type Logger } from '../../core/logger.js';
import { OutboundUrlPolicy, type HostLookup } from '../../core/outbound-url.js';
import { electionPath, nodesPath, type NodeDiscovery } from '../../core/discovery.js';
import { ClusterMetaService } from '../../scheduler/meta-service.js';
import { Scheduler } from '../../scheduler/scheduler.js';
import type { ClusterModule, GatewayCoreOptions } from '../wiring.js';
import { EtcdDiscovery } from './etcd-discovery.js';
import { EtcdLeadership } from './etcd-leadership.js';
import { ZookeeperDiscovery } from './zookeeper-discovery.js';
import { ZookeeperLeadership } from './zookeeper-leadership.js';

/** How long registrations are gathered before the node watcher follows them. */
const REGISTRATION_BATCH_MS = 25;
/** The longest a new leader waits for its first look at every node before its first pass. */
const TAKEOVER_VIEW_WAIT_MS = 3000;

/** `<prefix>/<clusterName>`, under which etcd's election keys live. */
function clusterFolder(prefix: string, clusterName: string): string {
  return nodesPath(prefix, clusterName).replace(/\/nodes$/, '');
}

/**
 * Several gateways on one ZooKeeper or etcd: its election decides who runs the watcher and the scheduler.
 * Undefined without DOCKER_CLUSTER_URIS (the wiring then picks a Redis lease or "always").
 */
export async function electLeader(config: GatewayConfig, logger: Logger): Promise<Leadership | undefined> {
  if (!config.clusterUris) return undefined;
  if (config.clusterUris.backend === 'etcd') {
    const etcd = new EtcdLeadership({
      connectionString: config.clusterUris.connectionString,
      path: clusterFolder(config.clusterUris.prefix, config.clusterName),
      ttlSeconds: config.clusterTtlSeconds ?? 30,
      logger,
    });
    await etcd.start();
    return etcd;
  }
  const zk = new ZookeeperLeadership({
    connectionString: config.clusterUris.connectionString,
    path: electionPath(config.clusterUris.prefix, config.clusterName),
    logger,
  });
  await zk.start();
  return zk;
}

/**
 * Cluster mode: the scheduler over the gateway's cache and agents and, with DOCKER_CLUSTER_URIS,
 * ZooKeeper discovery. Registered agents are watched like group servers (so they appear as nodes
 * before anyone puts them in a group); a lost znode makes its node UNHEALTHY at once (then checked); while the gateway
 * itself has lost ZooKeeper, migrations are frozen.
 */
export function clusterModule(
  config: GatewayConfig,
  logger: Logger,
  webhookLookup: HostLookup | undefined,
  onWebhookAttempt?: (result: 'delivered' | 'failed' | 'refused') => void,
): GatewayCoreOptions['cluster'] {
  return async (core) => {
    const log = componentLogger(logger, 'scheduler');
    // Webhooks never reach an agent: its nodes' IPs, and the agent addresses named as servers.
    const urlPolicy = new OutboundUrlPolicy({
      allow: config.webhookAllow,
      agentAddresses: () => [
        ...core.cache.listNodes().flatMap((n) => [n.ip, n.apiAddr]),
        ...core.cache.listGroups().flatMap((g) => g.servers),
      ],
      lookup: webhookLookup,
    });
    const scheduler = new Scheduler({
      store: core.store,
      cluster: core.cache,
      sink: core.writer,
      agentFor: (node) => core.pool.forNode(node),
      bus: core.bus,
      migrateDelaySeconds: config.migrateDelaySeconds,
      recoveryIntervalSeconds: config.recoveryIntervalSeconds,
      removeDelaySeconds: config.removeDelaySeconds,
      logger: log,
      leadership: core.leadership,
      webhooks: { urlPolicy, onAttempt: onWebhookAttempt },
      onFailure: (event, meta, message) => void core.notifier.notify(event, { meta, message }),
      viewReady: () => core.watcher.firstChecks(TAKEOVER_VIEW_WAIT_MS),
    });
    let discovery: NodeDiscovery | undefined;
    // key -> API address of every registration: a heartbeat rewrites each znode every few seconds
    // (thousands a minute at scale) and only a new node or a new address concerns the watcher.
    const addresses = new Map<string, string>();
    if (config.clusterUris) {
      // Registrations arrive one znode at a time (thousands at start-up): the watcher follows them
      // in batches, one reconcile per batch instead of one per node.
      let following: Promise<void> | undefined;
      const followRegistrations = (): Promise<void> =>
        (following ??= new Promise<void>((resolve) => setTimeout(resolve, REGISTRATION_BATCH_MS)).then(() => {
          following = undefined;
          return core.watcher.setExtraAddresses(addresses.values());
        }));
      const Discovery = config.clusterUris.backend === 'etcd' ? EtcdDiscovery : ZookeeperDiscovery;
      discovery = new Discovery({
        connectionString: config.clusterUris.connectionString,
        path: nodesPath(config.clusterUris.prefix, config.clusterName),
        logger: log,
        listener: {
          nodeUp: (registration) => {
            if (addresses.get(registration.key) === registration.data.apiaddr) return;
            addresses.set(registration.key, registration.data.apiaddr);
            void followRegistrations();
          },
          nodeDown: (key) => {
            addresses.delete(key);
            // The agent's session ended: the node is lost now (a check follows; one that answers
            // is HEALTHY again), not after failed health checks that each wait for a hung agent.
            void core.watcher.sessionExpired(key).then(followRegistrations);
          },
          connection: (connected) => {
            if (connected) scheduler.thawMigrations();
            else scheduler.freezeMigrations();
          },
        },
      });
    }
    const module: ClusterModule = {
      metas: new ClusterMetaService({ store: core.store, scheduler, urlPolicy }),
      start: async () => {
        await scheduler.start();
        if (discovery) {
          await discovery.start();
          await core.watcher.setExtraAddresses(addresses.values());
        }
      },
      close: async () => {
        await discovery?.close();
        await scheduler.close();
      },
    };
    return module;
  };
}
