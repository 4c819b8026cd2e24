/**
 * `humpback gateway`: config → store → bus → cluster cache → leadership → node watcher (leader) →
 * services → GraphQL server. SIGTERM/SIGINT drain the server and close everything in reverse.
 */
import { ConfigError, loadGatewayConfig, type GatewayConfig } from '../core/config.js';
import { logger as rootLogger, type Logger } from '../core/logger.js';
import type { HostLookup } from '../core/outbound-url.js';
import { clusterModule, electLeader } from './leader/cluster-module.js';
import { createMetrics } from './graphql/metrics.js';
import { createGatewayCore, type GatewayCore, type GatewayCoreOptions } from './wiring.js';
import { createGatewayServer, type GatewayServer, type GatewayServerOptions } from './graphql/server.js';
import { mountWebUi } from '../web/serve.js';
import { redisUnreachable, unreachableError, zookeeperUnreachable } from '../core/reachability.js';

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
  server?: Pick<GatewayServerOptions, 'limits' | 'allowedOrigins' | 'drainMillis' | 'execIdleMs'> | undefined;
  /** Serve the web UI from web/dist when it is built. @default true */
  webUi?: boolean | undefined;
  /** How webhook hosts are resolved (tests answer names themselves). @default the system resolver */
  webhookLookup?: HostLookup | undefined;
}

/** Starts a gateway; the caller owns the returned close(). */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const logger = options.logger ?? rootLogger;
  const { config } = options;
  const metrics = createMetrics();
  const leadership =
    options.leadership ?? (options.cluster !== false ? await electLeader(config, logger) : undefined);
  const core = await createGatewayCore({
    ...options,
    leadership,
    logger,
    cluster:
      options.cluster === false
        ? undefined
        : clusterModule(config, logger, options.webhookLookup, (result) =>
            metrics.webhookDeliveries.inc({ result }),
          ),
  });
  let server: GatewayServer;
  try {
    server = await createGatewayServer({
      config,
      services: core.services,
      bus: core.bus,
      logger,
      readiness: () => core.ready(),
      metrics,
      uploads: core.uploads,
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

/** Redis and ZooKeeper answer, or a ConfigError names the variable of each that does not. */
export async function checkGatewayDependencies(
  config: GatewayConfig,
  env: Record<string, string | undefined>,
): Promise<void> {
  const [redis, zk] = await Promise.all([
    config.redisUrl ? redisUnreachable(config.redisUrl) : undefined,
    config.clusterUris ? zookeeperUnreachable(config.clusterUris.connectionString) : undefined,
  ]);
  const err = unreachableError([
    ['HUMPBACK_REDIS_URL', env['HUMPBACK_REDIS_URL'] ?? '', 'Redis', redis],
    ['DOCKER_CLUSTER_URIS', env['DOCKER_CLUSTER_URIS'] ?? '', 'ZooKeeper', zk],
  ]);
  if (err) throw err;
}

/** `humpback gateway`. Throws ConfigError on bad configuration (bin/humpback.ts prints it). */
export async function startGatewayFromEnv(): Promise<void> {
  const config = loadGatewayConfig();
  await checkGatewayDependencies(config, process.env);
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
