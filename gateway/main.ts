/**
 * `humpback gateway`: config → store → bus → cluster cache → leadership → node watcher (leader) →
 * services → GraphQL server. SIGTERM/SIGINT drain the server and close everything in reverse.
 */
import { ConfigError, loadGatewayConfig, type GatewayConfig } from '../core/config.js';
import { logger as rootLogger, type Logger } from '../core/logger.js';
import { OutboundUrlPolicy, type HostLookup } from '../core/outbound-url.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { ClusterMetaService } from '../scheduler/meta-service.js';
import { ZookeeperDiscovery } from '../scheduler/zookeeper-discovery.js';
import { ZookeeperLeadership } from '../scheduler/zookeeper-leadership.js';
import { electionPath, nodesPath } from '../core/zookeeper.js';
import { createGatewayCore, type ClusterModule, type GatewayCore, type GatewayCoreOptions } from './core.js';
import { createGatewayServer, type GatewayServer, type GatewayServerOptions } from './server.js';
import { mountWebUi } from '../web/serve.js';

export interface RunningGateway {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:8100/graphql. */
  url: string;
  core: GatewayCore;
  server: GatewayServer;
  /** Drains the server, then closes the scheduler, watcher, leadership, bus and store. */
  close(): Promise<void>;
}

export interface StartGatewayOptions extends Omit<GatewayCoreOptions, 'logger' | 'cluster'> {
  config: GatewayConfig;
  logger?: Logger | undefined;
  /** Cluster mode (scheduler). @default on */
  cluster?: boolean | undefined;
  /** Passed to the server (limits, origins). */
  server?: Pick<GatewayServerOptions, 'limits' | 'allowedOrigins' | 'drainMillis'> | undefined;
  /** Serve the web UI from web/dist when it is built. @default true */
  webUi?: boolean | undefined;
  /** How webhook hosts are resolved (tests answer names themselves). @default the system resolver */
  webhookLookup?: HostLookup | undefined;
}

/**
 * Cluster mode: the scheduler over the gateway's cache and agents and, with DOCKER_CLUSTER_URIS,
 * ZooKeeper discovery. Registered agents are watched like group servers (so they appear as nodes
 * before anyone puts them in a group); a lost znode gets its node checked at once; while the gateway
 * itself has lost ZooKeeper, migrations are frozen.
 */
function clusterModule(
  config: GatewayConfig,
  logger: Logger,
  webhookLookup: HostLookup | undefined,
): GatewayCoreOptions['cluster'] {
  return async (core) => {
    const log = logger.child({ component: 'scheduler' });
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
      webhooks: { urlPolicy },
    });
    let discovery: ZookeeperDiscovery | undefined;
    if (config.clusterUris) {
      const registered = (): string[] => discovery?.nodes().map((r) => r.data.apiaddr) ?? [];
      discovery = new ZookeeperDiscovery({
        connectionString: config.clusterUris.connectionString,
        path: nodesPath(config.clusterUris.prefix, config.clusterName),
        logger: log,
        listener: {
          nodeUp: () => void core.watcher.setExtraAddresses(registered()),
          nodeDown: (key) => {
            void core.watcher.setExtraAddresses(registered());
            void core.watcher.checkNow(key);
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
          await core.watcher.setExtraAddresses(discovery.nodes().map((r) => r.data.apiaddr));
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

/** Starts a gateway; the caller owns the returned close(). */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const logger = options.logger ?? rootLogger;
  const { config } = options;
  let leadership = options.leadership;
  if (!leadership && config.clusterUris && options.cluster !== false) {
    // Several gateways on one ZooKeeper: its election decides who runs the watcher and scheduler.
    const zk = new ZookeeperLeadership({
      connectionString: config.clusterUris.connectionString,
      path: electionPath(config.clusterUris.prefix, config.clusterName),
      logger,
    });
    await zk.start();
    leadership = zk;
  }
  const core = await createGatewayCore({
    ...options,
    leadership,
    logger,
    cluster: options.cluster === false ? undefined : clusterModule(config, logger, options.webhookLookup),
  });
  let server: GatewayServer;
  try {
    server = await createGatewayServer({
      config,
      services: core.services,
      bus: core.bus,
      logger,
      readiness: () => core.ready(),
      ...options.server,
      configureApp:
        options.webUi === false
          ? undefined
          : (app) => {
              if (!mountWebUi(app)) logger.info('web UI not built (npm run build): serving the API only');
            },
    });
  } catch (err) {
    await core.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    core,
    server,
    close() {
      closing ??= (async () => {
        try {
          logger.debug('draining the GraphQL server');
          await server.close();
        } finally {
          logger.debug('closing the gateway core');
          await core.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * Closes `running` on SIGTERM or SIGINT, then exits; a second signal exits at once. Returns a
 * function that removes the handlers.
 */
export function closeOnSignals(
  close: () => Promise<void>,
  logger: Logger,
  what: string,
  forceAfterMs = 30_000,
): () => void {
  let stoppingSince: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppingSince !== undefined) {
      // The same signal often arrives twice at once (sent to the process and to its group).
      if (Date.now() - stoppingSince < 1000) return;
      logger.warn({ signal }, `${what}: second signal, exiting now`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, `${what}: shutting down`);
    const force = setTimeout(() => {
      logger.error(`${what}: shutdown took longer than ${forceAfterMs} ms, exiting`);
      process.exit(1);
    }, forceAfterMs);
    force.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, `${what}: error while shutting down`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

/** A port already taken is a configuration problem: say which variable moves it. */
export async function inUseAsConfigError<T>(start: Promise<T>, variable: string, value: string): Promise<T> {
  try {
    return await start;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EADDRINUSE') {
      throw new ConfigError(variable, 'an address with a free port (this one is in use)', value);
    }
    throw err;
  }
}

/** `humpback gateway`. Throws ConfigError on bad configuration (bin/humpback.ts prints it). */
export async function startGatewayFromEnv(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = rootLogger.child({ component: 'gateway' });
  const gateway = await inUseAsConfigError(
    startGateway({ config, logger }),
    'HUMPBACK_LISTEN',
    process.env['HUMPBACK_LISTEN'] || '0.0.0.0:8100',
  );
  closeOnSignals(() => gateway.close(), logger, 'humpback gateway');
  logger.info(
    {
      url: gateway.url,
      store: config.redisUrl ? 'redis' : 'embedded',
      leader: gateway.core.leadership.isLeader(),
    },
    'humpback gateway ready',
  );
}
