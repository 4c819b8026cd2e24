import { randomUUID } from 'node:crypto';
import type { EventBus } from '../core/bus.js';
import type { GatewayConfig } from '../core/config.js';
import { ErrorCode, HumpbackError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../core/store/store.js';
import { openBus } from '../core/bus/open-bus.js';
import { openStore } from '../core/store/open-store.js';
import { AgentPool, agentClientFactory, type AgentApiFactory } from './cluster/agent-pool.js';
import { StoreAuditService } from './services/audit-service.js';
import { StoreAuthService } from './services/auth-service.js';
import { CacheWriter, followCacheSync } from './cluster/cache-writer.js';
import { ClusterCache } from './cluster/cluster-cache.js';
import { AgentContainerService } from './services/container-service.js';
import { StoreGroupService } from './services/group-service.js';
import { AgentImageService } from './services/image-service.js';
import { AlwaysLeader, openRedisLeadership } from './leader/leadership.js';
import { type Leadership } from '../core/leadership.js';
import { CacheNodeService } from './services/node-service.js';
import { ContainerStreams } from './services/container-streams.js';
import { ExecTickets } from './services/exec-service.js';
import { NodeWatcher, type NodeWatcherOptions } from './cluster/node-watcher.js';
import type { MetaService, Services } from '../core/services.js';

/** Everything behind the GraphQL server of one gateway, wired and running. */
export interface GatewayCore {
  /** This gateway's id on the bus (and in the leader lease). */
  id: string;
  store: Store;
  bus: EventBus;
  cache: ClusterCache;
  pool: AgentPool;
  writer: CacheWriter;
  watcher: NodeWatcher;
  leadership: Leadership;
  services: Services;
  /** true once the cache is loaded (for /readyz). */
  ready(): boolean;
  /** Stops the watcher, gives up leadership, closes bus and store (in that order). */
  close(): Promise<void>;
}

/** What the scheduler hands the gateway (scheduler/ implements it for cluster mode). */
export interface ClusterModule {
  metas: MetaService;
  start?(): Promise<void>;
  close(): Promise<void>;
}

export interface GatewayCoreOptions {
  config: GatewayConfig;
  logger: Logger;
  /** Use this store instead of opening one (it is closed by close() all the same). */
  store?: Store | undefined;
  bus?: EventBus | undefined;
  /** How to reach agents. @default AgentClient with config.agentToken */
  agentFactory?: AgentApiFactory | undefined;
  /** ZooKeeper election when there is one. @default AlwaysLeader alone, a Redis lease when config.redisUrl is set */
  leadership?: Leadership | undefined;
  /** Tuning of the node watcher (tests shorten its intervals). */
  watcher?: Partial<Omit<NodeWatcherOptions, 'cache' | 'writer' | 'pool' | 'logger'>> | undefined;
  /** Builds cluster mode once the single-mode services exist. */
  cluster?:
    | ((
        core: Omit<GatewayCore, 'services' | 'close' | 'ready'> & { services: Omit<Services, 'metas'> },
      ) => Promise<ClusterModule>)
    | undefined;
  /** Redis lease timing (tests shorten it). */
  leaseTtlMs?: number | undefined;
}

/** A MetaService for builds without cluster mode: every call says so. */
export function unavailableMetaService(): MetaService {
  const fail = async (): Promise<never> => {
    throw new HumpbackError(ErrorCode.BAD_USER_INPUT, 'cluster mode is not available in this gateway');
  };
  return {
    list: async () => [],
    get: async () => undefined,
    create: fail,
    update: fail,
    upgrade: fail,
    operate: fail,
    remove: fail,
    deliveries: async () => [],
  };
}

/**
 * config → store → bus → cache (loaded from the store, then kept in step over the bus) →
 * leadership → node watcher (on the leader) → services.
 */
/** Shut-down steps, run last to first; a failing one is logged and the others still run. */
class Cleanup {
  private readonly steps: Array<() => Promise<void>> = [];

  constructor(private readonly logger: Logger) {}

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  run = async (): Promise<void> => {
    for (const fn of this.steps.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        this.logger.warn({ err }, 'error while shutting down');
      }
    }
  };
}

/** Who leads when no election was passed in: a Redis lease beside a Redis store, else this gateway. */
async function defaultLeadership(options: GatewayCoreOptions, id: string): Promise<Leadership> {
  const { config, logger } = options;
  if (!config.redisUrl) return new AlwaysLeader();
  return openRedisLeadership(config.redisUrl, {
    id,
    logger,
    ...(options.leaseTtlMs ? { ttlMs: options.leaseTtlMs } : {}),
  });
}

/**
 * Loads the cluster cache from the store and follows the other gateways' changes: while loading it
 * holds what they announce until the load is done (a change is in the store before it is announced,
 * so replaying those over the load is right), and reloads after the bus reconnects (Redis pub/sub
 * keeps nothing for a subscriber that was away).
 */
async function loadCache(
  c: { id: string; store: Store; bus: EventBus; cache: ClusterCache; watcher: NodeWatcher; logger: Logger },
  cleanup: Cleanup,
): Promise<void> {
  const { id, store, bus, cache, watcher, logger } = c;
  const initialLoad = cache.loadFrom(store);
  const unfollow = await followCacheSync({
    bus,
    cache,
    store,
    origin: id,
    logger,
    onGroups: () => void watcher.refresh(),
    after: initialLoad,
  });
  cleanup.push(unfollow);
  await initialLoad;
  const reconnects = (bus as { onReconnect?: (listener: () => void) => () => void }).onReconnect;
  if (!reconnects) return;
  const off = reconnects.call(bus, () => {
    if (watcher.isRunning) return; // the leader's cache is the source; nothing to catch up on
    cache.loadFrom(store).catch((err: unknown) => logger.warn({ err }, 'could not reload the cluster cache'));
  });
  cleanup.push(async () => void off());
}

/** The leader watches the nodes; a follower stops and reloads what it may have missed meanwhile. */
async function followLeadership(
  c: {
    id: string;
    store: Store;
    cache: ClusterCache;
    watcher: NodeWatcher;
    leadership: Leadership;
    logger: Logger;
  },
  cleanup: Cleanup,
): Promise<void> {
  const { id, store, cache, watcher, leadership, logger } = c;
  const follow = async (leader: boolean): Promise<void> => {
    if (leader) {
      logger.info({ gateway: id }, 'leading: watching the nodes of every group');
      await watcher.start();
    } else {
      logger.info({ gateway: id }, 'following: another gateway watches the nodes');
      await watcher.stop();
      await cache.loadFrom(store);
    }
  };
  const offLeader = leadership.onChange((leader) => {
    follow(leader).catch((err: unknown) => logger.error({ err }, 'could not follow a leadership change'));
  });
  cleanup.push(async () => {
    offLeader();
    await watcher.stop();
  });
  if (leadership.isLeader()) await watcher.start();
}

/** The services of single mode (everything but metas, which cluster mode brings). */
async function singleModeServices(
  c: {
    store: Store;
    config: GatewayConfig;
    cache: ClusterCache;
    writer: CacheWriter;
    pool: AgentPool;
    watcher: NodeWatcher;
    logger: Logger;
  },
  metas: () => MetaService,
): Promise<Omit<Services, 'metas'>> {
  const { store, config, cache, writer, pool, watcher, logger } = c;
  const deps = {
    cache,
    writer,
    pool,
    logger,
    feedback: { unreachable: (nodeId: string) => void watcher.checkNow(nodeId) },
  };
  const groups = new StoreGroupService({ store, writer, metas, onChange: () => void watcher.refresh() });
  const nodes = new CacheNodeService({ cache, store });
  const containers = new AgentContainerService(deps);
  const exec = new ExecTickets(deps);
  exec.access = {
    groups,
    nodes,
    containers,
    get metas() {
      return metas();
    },
  };
  return {
    auth: await StoreAuthService.open({ store, config, logger }),
    audit: new StoreAuditService(store),
    groups,
    nodes,
    containers,
    images: new AgentImageService(deps),
    streams: new ContainerStreams(deps),
    exec,
  };
}

export async function createGatewayCore(options: GatewayCoreOptions): Promise<GatewayCore> {
  const { config, logger } = options;
  const id = randomUUID();
  const cleanup = new Cleanup(logger);
  try {
    const store =
      options.store ?? (await openStore({ redisUrl: config.redisUrl, dataDir: config.dataDir, logger }));
    cleanup.push(() => store.close());
    const bus = options.bus ?? (await openBus({ redisUrl: config.redisUrl, logger }));
    cleanup.push(() => bus.close());
    const leadership = options.leadership ?? (await defaultLeadership(options, id));
    cleanup.push(() => leadership.close());

    const cache = new ClusterCache();
    const pool = new AgentPool(options.agentFactory ?? agentClientFactory(config.agentToken));
    const writer = new CacheWriter({ cache, store, bus, origin: id, logger });
    const watcher = new NodeWatcher({ cache, writer, pool, logger, ...options.watcher });
    await loadCache({ id, store, bus, cache, watcher, logger }, cleanup);

    let metas: MetaService = unavailableMetaService();
    const single = await singleModeServices(
      { store, config, cache, writer, pool, watcher, logger },
      () => metas,
    );
    const parts = { id, store, bus, cache, pool, writer, watcher, leadership };
    const cluster = await options.cluster?.({ ...parts, services: single });
    if (cluster) {
      metas = cluster.metas;
      cleanup.push(() => cluster.close());
    }
    await followLeadership({ id, store, cache, watcher, leadership, logger }, cleanup);
    await cluster?.start?.();

    return {
      ...parts,
      services: { ...single, metas },
      // Not ready while Redis is away: a load balancer then sends clients to a gateway that can answer.
      ready: () => (store.isConnected?.() ?? true) && (bus.isConnected?.() ?? true),
      close: cleanup.run,
    };
  } catch (err) {
    await cleanup.run();
    throw err;
  }
}
