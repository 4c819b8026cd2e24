import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const execFileAsync = promisify(execFile);

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const envScript = join(repoRoot, 'scripts', 'test-env.sh');

/** One Docker engine of the test environment, running in its own network namespace. */
export interface TestEngine {
  /** `n1`, `n2` or `n3`. */
  name: string;
  /** The network namespace's name, e.g. `hbt-n1`. */
  netns: string;
  /** `/run/netns/<netns>`, for `nsenter --net=`. */
  netnsPath: string;
  /** The namespace's address on the test bridge; containers with `--network host` have it. */
  ip: string;
  /** `unix://<socketPath>`, the form DOCKER_ENDPOINT takes. */
  dockerEndpoint: string;
  socketPath: string;
  dataRoot: string;
  logFile: string;
}

/** What `scripts/test-env.sh up` publishes in `.test-env/env.json`. */
export interface TestEnv {
  runDir: string;
  bridge: string;
  /** The host's address on the test bridge; Redis and ZooKeeper listen here. */
  bridgeIp: string;
  redisPort: number;
  /** `redis://<bridgeIp>:<port>`. */
  redisUrl: string;
  zkPort: number;
  /** `<bridgeIp>:<port>`, as node-zookeeper-client takes it. */
  zkConnect: string;
  /** `humpback-test/busybox:latest`, present in every engine. */
  image: string;
  /** `humpback-test/busybox:v2`: the same files, another image ID, `HUMPBACK_TEST_VERSION=2`. */
  imageV2: string;
  /** etcd v3 (scripts/test-env/etcd.sh): `<bridgeIp>:<port>`, as DOCKER_CLUSTER_URIS=etcd://... takes it. */
  etcd: { endpoint: string };
  /**
   * A 3-member ZooKeeper ensemble (scripts/test-env/zk-ensemble.sh): `connect` as
   * node-zookeeper-client takes it; each member's `dir` holds its `start.sh` and `zk.pid`.
   */
  zkEnsemble: { connect: string; members: Array<{ id: number; port: number; dir: string }> };
  engines: TestEngine[];
  /** Prometheus (scripts/test-env/prometheus.sh): it scrapes the host:port targets of `targetsDir/*.json`. */
  prometheus: { url: string; targetsDir: string };
  /** The NFS server of scripts/test-env/nfs.sh, when it runs (nfs-ganesha on the bridge). */
  nfs?: { server: string; port: number; exportPath: string } | undefined;
  /**
   * The private registry (scripts/test-env/registry.sh): plain HTTP on the bridge, which every engine
   * treats as insecure, with basic auth for `username`/`password`.
   */
  registry: { address: string; username: string; password: string };
}

/** Path of the file `up` writes. */
export const testEnvFile = join(repoRoot, '.test-env', 'env.json');

/** Reads the running test environment's addresses; throws if it is not up. */
export function loadTestEnv(): TestEnv {
  if (!existsSync(testEnvFile)) {
    throw new Error(
      `The test environment is not up (${testEnvFile} is missing). Run \`npm run test:env up\` ` +
        '(or `npm test`, which brings it up and down by itself).',
    );
  }
  return JSON.parse(readFileSync(testEnvFile, 'utf8')) as TestEnv;
}

/** The engine called `name`, or a clear error. */
export function engineNamed(env: TestEnv, name: string): TestEngine {
  const engine = env.engines.find((e) => e.name === name);
  if (!engine) {
    throw new Error(
      `No engine ${name} in the test environment (have ${env.engines.map((e) => e.name).join(', ')})`,
    );
  }
  return engine;
}

/** A dockerode client for one engine of the test environment. */
export function dockerFor(engine: TestEngine): Docker {
  return new Docker({ socketPath: engine.socketPath });
}

async function runEnvScript(...args: string[]): Promise<void> {
  try {
    await execFileAsync('bash', [envScript, ...args], { cwd: repoRoot, timeout: 120_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`scripts/test-env.sh ${args.join(' ')} failed: ${stderr.trim() || String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Stops an engine hard, as if its machine died: dockerd, its containerd and its containers' processes
 * are killed; its data stays on disk.
 */
export function stopEngine(name: string): Promise<void> {
  return runEnvScript('engine-stop', name);
}

/** Starts a stopped engine again with the same data; resolves once it answers. */
export function startEngine(name: string): Promise<void> {
  return runEnvScript('engine-start', name);
}

/** Kills the ZooKeeper server; its data and port are kept for {@link startZooKeeper}. */
export function stopZooKeeper(): Promise<void> {
  return runEnvScript('zk-stop');
}

/** Starts ZooKeeper again on the same port with the same data; resolves once it answers `imok`. */
export function startZooKeeper(): Promise<void> {
  return runEnvScript('zk-start');
}

/** A process started with {@link spawnInNetns}. */
export interface NetnsProcess extends ChildProcess {
  /** Kills the process (SIGTERM, then SIGKILL after `graceMs`) and resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `command` inside a network namespace (`nsenter --net=<netnsPath>`), e.g. an agent on one of
 * the test engines' addresses. `env` is added to this process's environment. Output is piped.
 */
export function spawnInNetns(
  netnsPath: string,
  command: string,
  args: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): NetnsProcess {
  // nsenter execs the command, so the child's PID is the command's own and signals reach it.
  const child = spawn('nsenter', [`--net=${netnsPath}`, '--', command, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as NetnsProcess;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.stop = async (graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return child;
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** @default 10000 */
  timeoutMs?: number;
  /** @default 100 */
  intervalMs?: number;
  /** Named in the timeout error. */
  description?: string;
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned) or the deadline passes.
 * A predicate that throws counts as not yet; its last error is reported on timeout.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 100, description = 'condition' }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${reason}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))),
    );
  }
}

/** Removes (force) every container whose name contains `name` from the named engines: a suite's clean-up. */
export async function removeContainersNamed(
  env: TestEnv,
  engines: readonly string[],
  name: string,
): Promise<void> {
  for (const engine of engines) {
    const docker = dockerFor(engineNamed(env, engine));
    const list = await docker.listContainers({ all: true, filters: { name: [name] } }).catch(() => []);
    for (const c of list) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}

/** A TCP port free on the loopback interface now (the OS's pick; a test binds it right after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
