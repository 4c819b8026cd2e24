/**
 * `humpback agent`: the REST API next to one Docker Engine, plus the ZooKeeper registration in
 * cluster mode.
 */
import type { AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { ConfigError, loadAgentConfig, type AgentConfig } from '../core/config.js';
import { componentLogger, logger as rootLogger, type Logger } from '../core/logger.js';
import type { NodeData } from '../core/node-data.js';
import { ownAddresses, warnWithoutAuthorization } from './auth.js';
import { ContainerOps } from './container-ops.js';
import { createDocker } from './docker-runtime.js';
import { ImageOps } from './image-ops.js';
import { ImageJobOps } from './image-job-ops.js';
import { loadNodeKey } from './node-key.js';
import { collectNodeData, CpuSampler, detectNodeIp } from './node-info.js';
import { NodeOps } from './node-ops.js';
import { VolumeOps } from './volume-ops.js';
import { PortAllocator, portsInUse } from './port-allocator.js';
import { closeServer, createAgentApp } from './server.js';
import type { V1PingConfig } from './v1-compat.js';
import { serveExecSocket } from './exec-socket.js';
import { StreamOps } from './stream-ops.js';
import { nodesPath } from '../core/zookeeper.js';
import { EtcdRegistration } from './etcd-registration.js';
import { ZookeeperRegistration, type RegistrationState } from './zookeeper-registration.js';
import { unreachableError, zookeeperUnreachable } from '../core/reachability.js';

/** How long an idle connection from a gateway stays open. */
export const IDLE_CONNECTION_MS = 65_000;
export interface StartAgentOptions {
  /** ZooKeeper session timeout. @default three heartbeats, between 4 s and 30 s */
  zkSessionTimeoutMs?: number | undefined;
  /** @default the process logger */
  log?: Logger | undefined;
  /** The engine to drive. @default a dockerode client for DOCKER_ENDPOINT (the cluster simulator passes its in-memory engine) */
  docker?: Docker | undefined;
}

export interface RunningAgent {
  /** `http://host:port` to reach the REST API on (127.0.0.1 when listening on every address). */
  url: string;
  /** The node key (UUID) from the key file. */
  key: string;
  /** The znode path in cluster mode. */
  znode: string | undefined;
  /** The ZooKeeper registration's state; undefined when cluster mode is off. */
  registration(): RegistrationState | undefined;
  /** The ZooKeeper session in use, when connected (diagnostics and tests). */
  zookeeperSession(): { id: Buffer; password: Buffer } | undefined;
  /** Removes the znode, stops serving, closes connections. */
  close(): Promise<void>;
}

/** Starts an agent for `config` (port 0 picks a free port). Docker or ZooKeeper being down does not stop it. */
export async function startAgent(
  config: AgentConfig,
  options: StartAgentOptions = {},
): Promise<RunningAgent> {
  checkTokens(config);
  const log = componentLogger(options.log ?? rootLogger, 'agent');
  const ip = config.ipAddress ?? detectNodeIp();
  const key = await loadNodeKey(config.dataDir);
  const docker = options.docker ?? createDocker(config.dockerEndpoint, config.dockerApiVersion);
  const ports = config.portsRange
    ? new PortAllocator({ range: config.portsRange, inUse: () => portsInUse(docker) })
    : undefined;
  const cpu = new CpuSampler();
  let port = 0;
  const nodeData = (withoutDocker = false): Promise<NodeData> =>
    collectNodeData({ docker, ip, port: () => port, cpu }, { withoutDocker });

  const volumes = new VolumeOps(docker, config.helperImage ?? 'busybox:latest', log);
  const app = createAgentApp({
    containers: new ContainerOps(docker, ports, log, volumes),
    volumes,
    streams: new StreamOps(docker),
    images: new ImageOps(docker),
    imageJobs: new ImageJobOps(docker),
    node: new NodeOps(
      docker,
      async () => ({ key, data: await nodeData(false) }),
      () => v1PingConfig(config, port, log),
    ),
    token: config.agentToken,
    authorization: config.authorizationEnabled ?? true,
    previousToken: config.previousAgentToken,
    addresses: () =>
      ownAddresses({
        listenHost: config.listen.host,
        port,
        ipAddress: config.ipAddress,
        extra: config.advertisedAddresses,
      }),
    log,
  });
  const server = app.listen(config.listen.port, config.listen.host);
  // The gateway calls each agent every 2 s to every 20 s (health checks are spread over thousands of
  // nodes; usage samples every 10 s): its connections stay open between calls rather than being
  // dialled anew each time (Node closes an idle one after 5 s; the Keep-Alive header tells undici).
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  server.headersTimeout = IDLE_CONNECTION_MS + 1000;
  const execSocket = serveExecSocket(server, {
    docker,
    tokens: config.previousAgentToken ? [config.agentToken, config.previousAgentToken] : [config.agentToken],
    log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  port = (server.address() as AddressInfo).port;
  const url = reachableUrl(config.listen.host, port);

  docker
    .ping()
    .catch((err: unknown) =>
      log.warn({ endpoint: config.dockerEndpoint, err: String(err) }, 'Docker Engine not answering yet'),
    );

  const znode =
    config.clusterEnabled && config.clusterUris
      ? `${nodesPath(config.clusterUris.prefix, config.clusterName)}/${key}`
      : undefined;
  const registration = znode
    ? startRegistration(config, znode, key, () => nodeData(true), options, log)
    : undefined;
  if (config.previousAgentToken)
    log.warn(
      'HUMPBACK_AGENT_TOKEN_PREVIOUS is set: the previous agent token is still accepted; unset it once every gateway uses the new one',
    );
  const stopWarning = config.authorizationEnabled === false ? warnWithoutAuthorization(log) : () => undefined;
  log.info({ url, ip, key, znode }, 'agent listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    key,
    znode,
    registration: () => registration?.status(),
    zookeeperSession: () =>
      registration instanceof ZookeeperRegistration ? registration.session() : undefined,
    close: () =>
      (closing ??= (async () => {
        stopWarning();
        await registration?.close();
        execSocket.close();
        await closeServer(server);
      })()),
  };
}

/** The agent refuses to start without a token of 16+ characters (and a previous one, if set, likewise). */
function checkTokens(config: AgentConfig): void {
  const mayBeEmpty = config.authorizationEnabled === false && config.agentToken === '';
  if (!mayBeEmpty && (!config.agentToken || config.agentToken.length < 16)) {
    throw new ConfigError(
      'HUMPBACK_AGENT_TOKEN',
      'a secret of at least 16 characters (the agent refuses to run without one)',
      undefined,
    );
  }
  if (config.previousAgentToken !== undefined && config.previousAgentToken.length < 16) {
    throw new ConfigError('HUMPBACK_AGENT_TOKEN_PREVIOUS', 'a secret of at least 16 characters', undefined);
  }
}

/** Beego's levels, which humpback-agent v1's `/ping` reports as `LogLevel`. */
const BEEGO_LEVELS: Record<string, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/** humpback-agent v1's configuration fields of `/ping`, from ours (compose projects: none). */
function v1PingConfig(
  config: AgentConfig,
  port: number,
  log: Logger,
): Omit<V1PingConfig, 'DockerAPIVersion'> {
  const uris = config.clusterUris;
  return {
    DockerEndPoint: config.dockerEndpoint,
    DockerNodeHTTPAddr: `${config.listen.host}:${port}`,
    DockerContainerPortsRange: config.portsRange
      ? `${config.portsRange.from}-${config.portsRange.to}`
      : '0-0',
    DockerClusterEnabled: config.clusterEnabled,
    DockerClusterURIs: uris ? `zk://${uris.connectionString}${uris.prefix}` : '',
    DockerClusterName: config.clusterName,
    DockerClusterHeartBeat: `${config.heartbeatSeconds}s`,
    DockerClusterTTL: '',
    DockerComposePath: '',
    DockerComposePackageMaxSize: 0,
    LogLevel: BEEGO_LEVELS[String((log as { level?: string }).level)] ?? 0,
  };
}

/** `http://host:port` to reach the API on: 127.0.0.1 when listening on every address. */
function reachableUrl(host: string, port: number): string {
  const shownHost =
    host === '0.0.0.0' || host === '::' || host === ''
      ? '127.0.0.1'
      : host.includes(':')
        ? `[${host}]`
        : host;
  return `http://${shownHost}:${port}`;
}

/** Cluster mode: the node's registration (a ZooKeeper ephemeral znode or an etcd key on a lease), kept up from now on. */
function startRegistration(
  config: AgentConfig,
  znode: string,
  key: string,
  data: () => Promise<NodeData>,
  options: StartAgentOptions,
  log: Logger,
): ZookeeperRegistration | EtcdRegistration {
  const common = {
    connectionString: config.clusterUris!.connectionString,
    path: znode,
    key,
    data,
    heartbeatMs: config.heartbeatSeconds * 1000,
    log,
  };
  const registration =
    config.clusterUris!.backend === 'etcd'
      ? new EtcdRegistration({ ...common, ttlSeconds: config.clusterTtlSeconds ?? 30 })
      : new ZookeeperRegistration({ ...common, sessionTimeoutMs: options.zkSessionTimeoutMs });
  registration.start();
  return registration;
}

/** Why the Docker Engine at `endpoint` does not answer a ping within `timeoutMs`, or undefined. */
export async function engineUnreachable(endpoint: string, timeoutMs = 5000): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      createDocker(endpoint).ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (err) {
    const e = err as Error & { code?: string };
    return e.code ?? e.message;
  } finally {
    clearTimeout(timer);
  }
}

/** `humpback agent`: configuration from the environment; SIGTERM/SIGINT remove the znode and exit. */
export async function startAgentFromEnv(): Promise<void> {
  const config = loadAgentConfig();
  const [engine, zk] = await Promise.all([
    engineUnreachable(config.dockerEndpoint),
    config.clusterEnabled && config.clusterUris
      ? zookeeperUnreachable(config.clusterUris.connectionString)
      : undefined,
  ]);
  const err = unreachableError([
    ['DOCKER_ENDPOINT', config.dockerEndpoint, 'a Docker Engine', engine],
    ['DOCKER_CLUSTER_URIS', process.env['DOCKER_CLUSTER_URIS'] ?? '', 'ZooKeeper', zk],
  ]);
  if (err) throw err;
  const agent = await startAgent(config);
  console.log(`humpback agent listening on ${agent.url} (node key ${agent.key})`);
  const stop = (signal: string): void => {
    rootLogger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    agent.close().then(
      () => process.exit(0),
      (err: unknown) => {
        rootLogger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
