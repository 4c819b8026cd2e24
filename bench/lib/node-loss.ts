/**
 * A node lost on the real engines of the test environment, measured end to end: every engine gets an
 * agent PROCESS (`bin/humpback.ts agent` in the engine's network namespace, registered in the test
 * environment's ZooKeeper), one gateway runs in this process (cluster mode, ZooKeeper discovery,
 * CENTER_MIGRATE_DELAY = `migrateDelaySeconds`); a meta of `instances` runs on the group of all of them.
 * Then the agent of the node with the most instances is killed -9 and its engine stopped hard
 * (scripts/test-env.sh engine-stop), and the clock runs until every lost instance has a RUNNING
 * replacement on another node. The budget is the agents' ZooKeeper session timeout + the migrate
 * delay (goal: within budget + 2 s). The engine is started again before this returns.
 *
 * Shared by bench/latency.ts (failover half) and bench/migration.ts (issue 16).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  engineNamed,
  loadTestEnv,
  removeContainersNamed,
  spawnInNetns,
  startEngine,
  stopEngine,
  waitFor,
  type NetnsProcess,
} from '../../test/helpers/test-env.js';
import { AGENT_TOKEN, TempDirs, TestClient, gatewayConfig } from '../../test/integration/gateway-harness.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';

export interface NodeLossOptions {
  /** Instances of the meta. @default 6 */
  instances?: number | undefined;
  /** CENTER_MIGRATE_DELAY. @default 3 */
  migrateDelaySeconds?: number | undefined;
  /** DOCKER_CLUSTER_HEARTBEAT of the agents; their ZooKeeper session is 3 of them, at least 4 s. @default 1 */
  heartbeatSeconds?: number | undefined;
  /** Progress lines. */
  say?: ((line: string) => void) | undefined;
}

export interface NodeLossResult {
  /** Kill -9 of the agent until every lost instance has a RUNNING replacement elsewhere. */
  ms: number;
  /** Agents' session timeout + migrate delay. */
  budgetMs: number;
  lost: number;
  instances: number;
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const PORT = 18_517;

interface MetaView {
  containers: Array<{ id: string; nodeId: string; state: string; index: number }>;
}

function startAgentProcess(
  env: ReturnType<typeof loadTestEnv>,
  name: string,
  zkUri: string,
  dataDir: string,
  heartbeatSeconds: number,
): NetnsProcess {
  const engine = engineNamed(env, name);
  return spawnInNetns(
    engine.netnsPath,
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'bin/humpback.ts'), 'agent'],
    {
      DOCKER_ENDPOINT: engine.dockerEndpoint,
      DOCKER_NODE_HTTPADDR: `0.0.0.0:${PORT}`,
      DOCKER_AGENT_IPADDR: engine.ip,
      DOCKER_CLUSTER_ENABLED: 'true',
      DOCKER_CLUSTER_URIS: zkUri,
      DOCKER_CLUSTER_NAME: 'humpback/center',
      DOCKER_CLUSTER_HEARTBEAT: String(heartbeatSeconds),
      HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
      HUMPBACK_DATA_DIR: dataDir,
      HUMPBACK_LOG_LEVEL: 'warn',
    },
  );
}

/** Runs the scenario once; see the file's header. */
export async function measureNodeLoss(o: NodeLossOptions = {}): Promise<NodeLossResult> {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const say = o.say ?? (() => undefined);
  const instances = o.instances ?? 6;
  const migrateDelay = o.migrateDelaySeconds ?? 3;
  const heartbeat = o.heartbeatSeconds ?? 1;
  const suffix = randomBytes(3).toString('hex');
  const name = `bench-loss-${suffix}`;
  const zkUri = `zk://${env.zkConnect}/hbloss-${suffix}`;
  const names = env.engines.map((e) => e.name);
  const agents = new Map<string, NetnsProcess>();
  let gateway: RunningGateway | undefined;
  let client: TestClient | undefined;
  let stopped: string | undefined;
  try {
    for (const n of names)
      agents.set(n, startAgentProcess(env, n, zkUri, tmp.make(`hb-loss-${n}-`), heartbeat));
    gateway = await startGateway({
      webUi: false,
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-loss-gw-'),
        DOCKER_CLUSTER_URIS: zkUri,
        CENTER_MIGRATE_DELAY: String(migrateDelay),
      }),
    });
    client = new TestClient(gateway.url);
    await client.login();
    const servers = env.engines.map((e) => `${e.ip}:${PORT}`);
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name, clusterMode: true, servers } },
    );
    const groupId = createGroup.id;
    const cache = gateway.core.cache;
    await waitFor(() => cache.listNodes({ groupId, status: 'HEALTHY' }).length === names.length, {
      timeoutMs: 60_000,
      description: 'every agent HEALTHY',
    });
    const c = client;
    const { createMeta } = await c.request<{ createMeta: { id: string } }>(
      'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }',
      {
        input: {
          groupId,
          instances,
          config: {
            name,
            image: env.image,
            networkMode: 'none',
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          },
        },
      },
    );
    const meta = async (): Promise<MetaView> =>
      (
        await c.request<{ meta: MetaView }>(
          'query($id: ID!) { meta(id: $id) { containers { id nodeId state index } } }',
          { id: createMeta.id },
        )
      ).meta;
    const first = await waitFor(
      async () => {
        const m = await meta();
        return m.containers.filter((x) => x.state === 'RUNNING').length === instances ? m : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, description: `${instances} instances RUNNING` },
    );
    const perNode = new Map<string, number>();
    for (const x of first.containers) perNode.set(x.nodeId, (perNode.get(x.nodeId) ?? 0) + 1);
    const [victimId, lost] = [...perNode].sort((a, b) => b[1] - a[1])[0]!;
    const victim = env.engines.find((e) => e.ip === cache.getNode(victimId)?.ip)!;
    say(`killing the agent (-9) and engine of ${victim.name}: ${lost} of ${instances} instances there`);
    const t0 = performance.now();
    agents.get(victim.name)!.kill('SIGKILL');
    stopped = victim.name;
    await stopEngine(victim.name);
    await waitFor(
      async () => {
        const m = await meta();
        return (
          m.containers.filter((x) => x.state === 'RUNNING' && x.nodeId !== victimId).length === instances
        );
      },
      { timeoutMs: 120_000, intervalMs: 50, description: 'every instance RUNNING off the lost node' },
    );
    const ms = performance.now() - t0;
    const sessionMs = Math.max(4000, Math.min(30_000, 3 * heartbeat * 1000));
    await c
      .request('mutation($id: ID!) { removeMeta(id: $id) }', { id: createMeta.id })
      .catch(() => undefined);
    return { ms, budgetMs: sessionMs + migrateDelay * 1000, lost, instances };
  } finally {
    await client?.close();
    await gateway?.close();
    await Promise.all([...agents.values()].map((a) => a.stop()));
    if (stopped) await startEngine(stopped);
    await removeContainersNamed(env, names, name).catch(() => undefined);
    tmp.cleanup();
  }
}
