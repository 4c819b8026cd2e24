/**
 * `humpback up`: everything on one machine in one process — the gateway on the embedded store and an
 * agent for the local Docker Engine, registered as the node of a group called "local".
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadUpConfig, type Env } from '../core/config.js';
import { createInterface } from 'node:readline/promises';
import { createDocker } from '../agent/docker-runtime.js';
import { engineUnreachable, startAgent, type RunningAgent } from '../agent/main.js';
import { engineHasNoImage, FIRST_IMAGE, importFirstImage } from './first-image.js';
import { networkingLine, networkModes } from './engine-networking.js';
import { componentLogger, logger as rootLogger, type Logger } from '../core/logger.js';
import { openStore } from '../core/store/open-store.js';
import type { Store } from '../core/store/store.js';
import { FIRST_ADMIN } from './services/auth-service.js';
import {
  closeOnSignals,
  inUseAsConfigError,
  startGateway,
  type RunningGateway,
  type StartGatewayOptions,
} from './main.js';

/** Settings the all-in-one keeps in its store. */
const SETTING = {
  agentToken: 'up:agentToken',
  initialized: 'up:initialized',
} as const;

/** The group `humpback up` creates on first start. */
export const LOCAL_GROUP = 'local';

export interface RunningUp {
  gateway: RunningGateway;
  agent: RunningAgent;
  /** The agent's `host:port`, as the local group names it. */
  agentAddress: string;
  /** The web UI and API base, e.g. http://127.0.0.1:8100/. */
  baseUrl: string;
  close(): Promise<void>;
}

export interface StartUpOptions {
  /** @default process.env */
  env?: Env | undefined;
  logger?: Logger | undefined;
  /** Passed on to startGateway (tests shorten the watcher's intervals). */
  gateway?: Omit<StartGatewayOptions, 'config' | 'store' | 'logger'> | undefined;
}

async function agentToken(store: Store, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  const kept = await store.get('settings', SETTING.agentToken);
  if (kept) return kept.value;
  const token = randomBytes(24).toString('base64url');
  await store.put('settings', SETTING.agentToken, { id: SETTING.agentToken, value: token });
  return token;
}

/** On the first start only: the group of this machine, with the local agent as its server. */
async function firstStart(
  store: Store,
  gateway: RunningGateway,
  agentAddress: string,
  logger: Logger,
): Promise<void> {
  if (await store.get('settings', SETTING.initialized)) return;
  const existing = (await gateway.core.services.groups.list()).find((g) => g.name === LOCAL_GROUP);
  if (!existing) {
    await gateway.core.services.groups.create(
      {
        name: LOCAL_GROUP,
        description: 'This machine (humpback up)',
        clusterMode: false,
        servers: [agentAddress],
      },
      { userId: FIRST_ADMIN, username: FIRST_ADMIN, admin: true },
    );
    logger.info({ server: agentAddress }, `created group "${LOCAL_GROUP}" with the local agent`);
  }
  await store.put('settings', SETTING.initialized, {
    id: SETTING.initialized,
    value: new Date().toISOString(),
  });
}

/**
 * Starts the all-in-one. The agent listens on DOCKER_NODE_HTTPADDR (default 127.0.0.1:8500: only this
 * machine needs it), the gateway on HUMPBACK_LISTEN (default 0.0.0.0:8100). The agent token is
 * HUMPBACK_AGENT_TOKEN or one generated on first start and kept in the store.
 */
export async function startUp(options: StartUpOptions = {}): Promise<RunningUp> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? componentLogger(rootLogger, 'up');
  if (env['HUMPBACK_REDIS_URL']) {
    logger.warn(
      'humpback up always uses the embedded store: HUMPBACK_REDIS_URL is ignored (use humpback gateway for Redis)',
    );
  }
  // Validate everything first; the token is settled once the store is open.
  const provisional = loadUpConfig(env).gateway;
  const store = await openStore({ dataDir: provisional.dataDir, logger });
  let agent: RunningAgent | undefined;
  try {
    if ((await store.list('users')).length === 0 && !provisional.adminPassword) {
      throw new ConfigError(
        'HUMPBACK_ADMIN_PASSWORD',
        `a password of at least 8 characters for the first admin ("${FIRST_ADMIN}"): the store in ${provisional.dataDir} has no users yet`,
        undefined,
      );
    }
    const token = await agentToken(store, env['HUMPBACK_AGENT_TOKEN'] || undefined);
    const config = { ...provisional, agentToken: token };

    const agentConfig = loadUpConfig({ ...env, HUMPBACK_AGENT_TOKEN: token }).agent;
    agent = await inUseAsConfigError(
      startAgent(agentConfig, { log: logger }),
      'DOCKER_NODE_HTTPADDR',
      env['DOCKER_NODE_HTTPADDR'] || '127.0.0.1:8500',
    );
    const agentAddress = new URL(agent.url).host;

    const gateway = await inUseAsConfigError(
      startGateway({ ...options.gateway, config, store, logger }),
      'HUMPBACK_LISTEN',
      env['HUMPBACK_LISTEN'] || '0.0.0.0:8100',
    );
    try {
      await firstStart(store, gateway, agentAddress, logger);
    } catch (err) {
      await gateway.close();
      throw err;
    }

    const runningAgent = agent;
    let closing: Promise<void> | undefined;
    return {
      gateway,
      agent: runningAgent,
      agentAddress,
      baseUrl: gateway.url.replace(/graphql$/, ''),
      close() {
        closing ??= (async () => {
          try {
            await gateway.close();
          } finally {
            await runningAgent.close();
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await agent?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}

export interface UpFromEnvOptions {
  /** Import humpback/busybox:latest when the engine has no image, without asking. */
  importBusybox?: boolean | undefined;
  /** The engine stops with this process (scripts/start.sh started it): the banner says so. */
  stopsEngine?: boolean | undefined;
}

async function askYes(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return !/^n/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** The banner's lines about the engine's first image (offered, imported). */
async function engineLines(endpoint: string, options: UpFromEnvOptions): Promise<string[]> {
  const docker = createDocker(endpoint);
  const lines: string[] = [];
  if (await engineHasNoImage(docker)) {
    const offer = `The engine has no image. Import ${FIRST_IMAGE}, built from Debian's busybox-static, to run a first container offline? [Y/n] `;
    if (options.importBusybox || (await askYes(offer))) {
      try {
        lines.push(`  first image:  imported ${FIRST_IMAGE} (from Debian's busybox-static)`);
        await importFirstImage(docker);
      } catch (err) {
        lines.splice(-1, 1, `  first image:  not imported: ${(err as Error).message}`);
      }
    } else {
      lines.push(
        `  first image:  the engine has no image; run "humpback up --import-busybox" once to import ${FIRST_IMAGE}`,
        `                (built from Debian's busybox-static, no registry needed), or use Images → Load in the UI`,
      );
    }
  }
  return lines;
}

/** The engine at DOCKER_ENDPOINT (humpback up's configuration); ConfigError when it does not answer. */
async function reachableEngine(): Promise<string> {
  const { agent } = loadUpConfig(process.env);
  const unreachable = await engineUnreachable(agent.dockerEndpoint);
  if (unreachable !== undefined) {
    throw ConfigError.unreachable('DOCKER_ENDPOINT', agent.dockerEndpoint, 'a Docker Engine', unreachable);
  }
  return agent.dockerEndpoint;
}

/**
 * `humpback engine-check`: whether the engine at DOCKER_ENDPOINT answers and which network modes its
 * containers can use (scripts/start.sh runs it before it calls the engine ready).
 */
export async function checkEngineFromEnv(): Promise<void> {
  const endpoint = await reachableEngine();
  console.log(`engine:       ${endpoint} answers`);
  console.log(networkingLine(await networkModes(createDocker(endpoint))));
}

/** `humpback up`. Throws ConfigError on bad configuration (bin/humpback.ts prints it). */
export async function startUpFromEnv(options: UpFromEnvOptions = {}): Promise<void> {
  const { agent } = loadUpConfig(process.env);
  await reachableEngine();
  // Before the agent runs: it would otherwise list the probe's container.
  const networking = networkingLine(await networkModes(createDocker(agent.dockerEndpoint)));
  const up = await startUp();
  closeOnSignals(() => up.close(), rootLogger, 'humpback up');
  const hadPassword = Boolean(process.env['HUMPBACK_ADMIN_PASSWORD']);
  const engine = await engineLines(agent.dockerEndpoint, options);
  console.log(
    [
      '',
      `Humpback is up: ${up.baseUrl}`,
      `  GraphQL API:  ${up.gateway.url} (HTTP and WebSocket)`,
      `  local node:   agent at ${up.agentAddress}, group "${LOCAL_GROUP}", engine ${agent.dockerEndpoint}`,
      ...engine,
      `  ${networking}`,
      `  log in as "${FIRST_ADMIN}" with ${hadPassword ? 'the password in HUMPBACK_ADMIN_PASSWORD' : 'the password you set on first start'}`,
      `  CLI:          humpback login --url ${up.baseUrl.replace(/\/$/, '')}, then humpback run --name first ${FIRST_IMAGE} -- sleep 3600`,
      options.stopsEngine
        ? 'Stop with Ctrl-C: it stops Humpback (gateway and agent) and the Docker Engine scripts/start.sh started, with its containers.'
        : 'Stop with Ctrl-C: it stops Humpback (gateway and agent); the Docker Engine and its containers keep running.',
      '',
    ].join('\n'),
  );
}
