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
import { migrateGroupOwners, StoreTeamService } from './services/team-service.js';
import { CacheWriter, followCacheSync } from './cluster/cache-writer.js';
import { ClusterCache } from './cluster/cluster-cache.js';
import { AgentContainerService } from './services/container-service.js';
import { StoreGroupService } from './services/group-service.js';
import { AgentVolumeService } from './services/volume-service.js';
import { AgentImageService } from './services/image-service.js';
import { AlwaysLeader, openRedisLeadership } from './leader/leadership.js';
import { type Leadership } from '../core/leadership.js';
import { CacheNodeService } from './services/node-service.js';
import { ContainerStreams } from './services/container-streams.js';
import { ExecTickets } from './services/exec-service.js';
import { NodeWatcher, type NodeWatcherOptions } from './cluster/node-watcher.js';
import { UsageRecorder, type UsageRecorderOptions } from './cluster/usage-recorder.js';
import { StoreUsageService } from './services/usage-service.js';
import { StoreNotificationService } from './services/notification-service.js';
import { Notifier, type NotifierOptions } from '../scheduler/notifier.js';
import { smtpMailer } from './leader/smtp-mailer.js';
import { OutboundUrlPolicy, type HostLookup } from '../core/outbound-url.js';
import type { MetaService, Services } from '../core/services.js';
import path from 'node:path';
import { DiskUploadStore } from './uploads/disk-upload-store.js';
import { SecretBox } from './registry/secret-box.js';
import { StoreRegistryService } from './services/registry-service.js';
import { AgentImageJobService } from './services/image-job-service.js';

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
  /** Notifications (run by the leader); the scheduler tells it about failed metas. */
  notifier: Notifier;
  services: Services;
  /** Files users sent to `POST /uploads`, under `<dataDir>/uploads`. */
  uploads: DiskUploadStore;
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
  /** Timing of the usage history's sampling (tests pass a clock). */
  usage?: Partial<Pick<UsageRecorderOptions, 'intervalMs' | 'now' | 'statsTimeoutMs'>> | undefined;
  /** Notification timing and senders (tests shorten the grace, pass a clock or a lookup). */
  notifications?:
    | (Partial<Pick<NotifierOptions, 'graceMs' | 'pollMs' | 'policy' | 'clock' | 'mailer' | 'timeoutMs'>> & {
        lookup?: HostLookup | undefined;
      })
    | undefined;
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
    recorder: UsageRecorder;
    notifier: Notifier;
    leadership: Leadership;
    logger: Logger;
  },
  cleanup: Cleanup,
): Promise<void> {
  const { id, store, cache, watcher, recorder, notifier, leadership, logger } = c;
  const follow = async (leader: boolean): Promise<void> => {
    if (leader) {
      logger.info({ gateway: id }, 'leading: watching the nodes of every group');
      await notifier.start();
      await watcher.start();
      recorder.start();
    } else {
      logger.info({ gateway: id }, 'following: another gateway watches the nodes');
      await recorder.stop();
      await notifier.stop();
      await watcher.stop();
      await cache.loadFrom(store);
    }
  };
  const offLeader = leadership.onChange((leader) => {
    follow(leader).catch((err: unknown) => logger.error({ err }, 'could not follow a leadership change'));
  });
  cleanup.push(async () => {
    offLeader();
    await recorder.stop();
    await notifier.stop();
    await watcher.stop();
  });
  if (leadership.isLeader()) {
    await notifier.start();
    await watcher.start();
    recorder.start();
  }
}

/** The services of single mode (everything but metas, which cluster mode brings). */
async function singleModeServices(
  c: {
    store: Store;
    bus: EventBus;
    config: GatewayConfig;
    cache: ClusterCache;
    writer: CacheWriter;
    pool: AgentPool;
    watcher: NodeWatcher;
    logger: Logger;
    uploads: DiskUploadStore;
  },
  metas: () => MetaService,
  cleanup: Cleanup,
): Promise<Omit<Services, 'metas'>> {
  const { store, bus, config, cache, writer, pool, watcher, logger, uploads } = c;
  const deps = {
    cache,
    writer,
    pool,
    logger,
    feedback: { unreachable: (nodeId: string) => void watcher.checkNow(nodeId) },
  };
  const registries = new StoreRegistryService({
    store,
    secrets: await SecretBox.open(store, config.secretKey),
    logger,
  });
  pool.useRegistryAuth(registries.credentialsFor);
  const imageJobs = await AgentImageJobService.open({ store, bus, deps, uploads, registries });
  cleanup.push(() => imageJobs.close());
  // Accounts and tenancy: group owners of an older store become OWNER grants first.
  await migrateGroupOwners(store, { logger });
  const auth = await StoreAuthService.open({ store, config, logger, bus });
  const groups = new StoreGroupService({ store, writer, metas, onChange: () => void watcher.refresh() });
  const nodes = new CacheNodeService({ cache, store });
  const containers = new AgentContainerService(deps);
  const volumes = new AgentVolumeService(deps, c.uploads);
  const exec = new ExecTickets(deps);
  exec.access = {
    groups,
    nodes,
    containers,
    volumes,
    get metas() {
      return metas();
    },
  };
  return {
    registries,
    imageJobs,
    auth,
    tokens: auth.tokens,
    teams: new StoreTeamService({ store, onChange: () => auth.accessChanged() }),
    audit: new StoreAuditService(store),
    groups,
    nodes,
    containers,
    images: new AgentImageService(deps),
    usage: new StoreUsageService(store),
    notifications: new StoreNotificationService(store),
    volumes,
    streams: new ContainerStreams(deps),
    exec,
  };
}

/** The leader's notifier: mails over HUMPBACK_SMTP_URL, webhooks under the meta webhooks' URL policy. */
function openNotifier(
  options: GatewayCoreOptions,
  c: { store: Store; bus: EventBus; cache: ClusterCache },
): Notifier {
  const { config, logger } = options;
  const { lookup, ...tuning } = options.notifications ?? {};
  return new Notifier({
    store: c.store,
    bus: c.bus,
    nodeStatus: (nodeId) => c.cache.getNode(nodeId)?.status,
    downDelayMs: config.notifyDelaySeconds * 1000,
    mailer: config.smtpUrl ? smtpMailer(config.smtpUrl) : undefined,
    urlPolicy: new OutboundUrlPolicy({
      allow: config.webhookAllow,
      agentAddresses: () => [
        ...c.cache.listNodes().flatMap((n) => [n.ip, n.apiAddr]),
        ...c.cache.listGroups().flatMap((g) => g.servers),
      ],
      lookup,
    }),
    logger: logger.child({ component: 'notifier' }),
    ...tuning,
  });
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

    const uploads = await DiskUploadStore.open({
      dir: path.join(config.dataDir, 'uploads'),
      maxBytes: config.uploadMaxMb * 1024 * 1024,
      logger,
    });
    cleanup.push(async () => uploads.close());
    const cache = new ClusterCache();
    const pool = new AgentPool(options.agentFactory ?? agentClientFactory(config.agentToken));
    const writer = new CacheWriter({ cache, store, bus, origin: id, logger });
    const watcher = new NodeWatcher({
      cache,
      writer,
      pool,
      logger,
      statsIntervalMs: options.usage?.intervalMs,
      ...options.watcher,
    });
    await loadCache({ id, store, bus, cache, watcher, logger }, cleanup);

    let metas: MetaService = unavailableMetaService();
    const single = await singleModeServices(
      { store, bus, config, cache, writer, pool, watcher, logger, uploads },
      () => metas,
      cleanup,
    );
    const notifier = openNotifier(options, { store, bus, cache });
    const parts = { id, store, bus, cache, pool, writer, watcher, leadership, notifier, uploads };
    const cluster = await options.cluster?.({ ...parts, services: single });
    if (cluster) {
      metas = cluster.metas;
      cleanup.push(() => cluster.close());
    }
    const recorder = new UsageRecorder({
      cache,
      store,
      pool,
      logger,
      pushedStats: (nodeId, maxAgeMs) => watcher.latestStats(nodeId, maxAgeMs),
      ...options.usage,
    });
    await followLeadership({ id, store, cache, watcher, recorder, notifier, leadership, logger }, cleanup);
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
