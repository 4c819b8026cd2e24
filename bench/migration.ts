/**
 * Node loss on the real engines: three agents as processes in the engines' network namespaces,
 * registered in the test environment's ZooKeeper (heartbeat 2 s: a 6 s session), a gateway with the
 * watcher's production defaults and CENTER_MIGRATE_DELAY. A meta's instances run on all three; one
 * agent is frozen (SIGSTOP: it neither answers nor heartbeats, like a hung host) or killed (--mode
 * kill). Prints when the gateway saw the node lost and when every instance ran again on the other
 * nodes, against the goal: session timeout + migrate delay + 2 s. Each round loses the next node,
 * then brings it back (its stale copies go). Needs the test environment up.
 *
 *   npx tsx bench/migration.ts [--rounds 2] [--instances 6] [--delay 5] [--mode stop|kill]
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zookeeper from 'node-zookeeper-client';
import { startGateway } from '../gateway/main.js';
import {
  loadTestEnv,
  removeContainersNamed,
  spawnInNetns,
  waitFor,
  type NetnsProcess,
  type TestEngine,
} from '../test/helpers/test-env.js';
import { AGENT_TOKEN, TempDirs, TestClient, gatewayConfig } from '../test/integration/gateway-harness.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    instances: { type: 'string', default: '6' },
    delay: { type: 'string', default: '5' },
    mode: { type: 'string', default: 'stop' },
  },
});
const ROUNDS = Number(values.rounds);
const INSTANCES = Number(values.instances);
const DELAY_S = Number(values.delay);
const HEARTBEAT_S = 2;
/** The agent's session: three heartbeats (agent/zookeeper-registration.ts). */
const SESSION_S = HEARTBEAT_S * 3;
const mode = values.mode === 'kill' ? 'kill' : 'stop';

const env = loadTestEnv();
const repoRoot = path.resolve(import.meta.dirname, '..');
const suffix = randomBytes(3).toString('hex');
const prefix = `/hbbench-migration-${suffix}`;
const clusterUris = `zk://${env.zkConnect}${prefix}`;
const port = 27_000 + Math.floor(Math.random() * 1000);
const tmp = new TempDirs();
const command = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

function spawnAgent(engine: TestEngine): NetnsProcess {
  const proc = spawnInNetns(
    engine.netnsPath,
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'bin/humpback.ts'), 'agent'],
    {
      DOCKER_ENDPOINT: engine.dockerEndpoint,
      DOCKER_NODE_HTTPADDR: `0.0.0.0:${port}`,
      DOCKER_AGENT_IPADDR: engine.ip,
      DOCKER_CLUSTER_ENABLED: 'true',
      DOCKER_CLUSTER_URIS: clusterUris,
      DOCKER_CLUSTER_NAME: 'humpback/center',
      DOCKER_CLUSTER_HEARTBEAT: String(HEARTBEAT_S),
      HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
      HUMPBACK_DATA_DIR: tmp.make(`hb-bench-mig-${engine.name}-`),
      HUMPBACK_LOG_LEVEL: 'warn',
    },
  );
  proc.stdout!.resume();
  proc.stderr!.resume();
  return proc;
}

interface Shot {
  nodes: Array<{ id: string; ip: string; status: string }>;
  containers: Array<{ state: string; nodeId: string }>;
}

async function shot(client: TestClient, groupId: string, metaId: string): Promise<Shot> {
  const r = await client.request<{ nodes: Shot['nodes']; meta: { containers: Shot['containers'] } }>(
    'query($g: ID, $m: ID!) { nodes(groupId: $g) { id ip status } meta(id: $m) { containers { state nodeId } } }',
    { g: groupId, m: metaId },
  );
  return { nodes: r.nodes, containers: r.meta.containers };
}

/** All instances RUNNING on nodes other than `lostIp` (none lost: on any HEALTHY node). */
function settled(s: Shot, lostIp: string | undefined): boolean {
  const ok = new Set(s.nodes.filter((n) => n.ip !== lostIp && n.status === 'HEALTHY').map((n) => n.id));
  const running = s.containers.filter((c) => c.state === 'RUNNING' && ok.has(c.nodeId));
  return running.length === INSTANCES && (lostIp !== undefined || running.length === s.containers.length);
}

async function round(
  client: TestClient,
  groupId: string,
  metaId: string,
  engine: TestEngine,
  agents: Map<string, NetnsProcess>,
): Promise<{ detected: number; running: number }> {
  const t0 = performance.now();
  if (mode === 'stop') agents.get(engine.name)!.kill('SIGSTOP');
  else agents.get(engine.name)!.kill('SIGKILL');
  let detected = NaN;
  for (;;) {
    const s = await shot(client, groupId, metaId);
    const t = (performance.now() - t0) / 1000;
    if (Number.isNaN(detected) && s.nodes.find((n) => n.ip === engine.ip)?.status !== 'HEALTHY') detected = t;
    if (!Number.isNaN(detected) && settled(s, engine.ip)) return { detected, running: t };
    if (t > 120) throw new Error('the instances did not run elsewhere within 120 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The lost node back: its agent resumed (or restarted), HEALTHY, its stale copies removed. */
async function restore(
  client: TestClient,
  groupId: string,
  metaId: string,
  engine: TestEngine,
  agents: Map<string, NetnsProcess>,
): Promise<void> {
  const proc = agents.get(engine.name)!;
  if (mode === 'stop') proc.kill('SIGCONT');
  else agents.set(engine.name, spawnAgent(engine));
  await waitFor(async () => settled(await shot(client, groupId, metaId), undefined), {
    timeoutMs: 90_000,
    intervalMs: 200,
    description: `${engine.name} back and the meta at ${INSTANCES} instances`,
  });
}

/** The bench's ZooKeeper folder (the agents' ephemeral znodes went with their sessions). */
async function removeZnodes(root: string): Promise<void> {
  const zk = zookeeper.createClient(env.zkConnect);
  zk.connect();
  const children = (p: string) =>
    new Promise<string[]>((resolve) => zk.getChildren(p, (err, list) => resolve(err ? [] : list)));
  const remove = async (p: string): Promise<void> => {
    for (const c of await children(p)) await remove(`${p}/${c}`);
    await new Promise<void>((resolve) => zk.remove(p, -1, () => resolve()));
  };
  await remove(root);
  zk.close();
}

async function main(): Promise<void> {
  const agents = new Map(env.engines.map((e) => [e.name, spawnAgent(e)]));
  const gateway = await startGateway({
    config: gatewayConfig({
      HUMPBACK_DATA_DIR: tmp.make('hb-bench-mig-gw-'),
      DOCKER_CLUSTER_URIS: clusterUris,
      DOCKER_CLUSTER_NAME: 'humpback/center',
      CENTER_MIGRATE_DELAY: String(DELAY_S),
    }),
    webUi: false,
  });
  const client = new TestClient(gateway.url);
  const metaName = `bench-mig-${suffix}`;
  try {
    await client.login();
    const servers = env.engines.map((e) => `${e.ip}:${port}`);
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: metaName, clusterMode: true, servers } },
    );
    const groupId = createGroup.id;
    await waitFor(
      async () => {
        const { nodes } = await client.request<{ nodes: Array<{ status: string }> }>(
          'query($g: ID) { nodes(groupId: $g) { status } }',
          { g: groupId },
        );
        return nodes.filter((n) => n.status === 'HEALTHY').length === env.engines.length;
      },
      { timeoutMs: 90_000, intervalMs: 200, description: 'the three agents HEALTHY' },
    );
    const { createMeta } = await client.request<{ createMeta: { id: string } }>(
      'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }',
      {
        input: {
          groupId,
          instances: INSTANCES,
          config: { name: metaName, image: env.image, networkMode: 'none', command },
        },
      },
    );
    const metaId = createMeta.id;
    await waitFor(async () => settled(await shot(client, groupId, metaId), undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
      description: `${INSTANCES} instances RUNNING on 3 HEALTHY nodes`,
    });
    const goal = SESSION_S + DELAY_S + 2;
    console.log(
      `${INSTANCES} instances on 3 nodes; agent session ${SESSION_S} s, CENTER_MIGRATE_DELAY ${DELAY_S} s, ` +
        `node lost by SIG${mode.toUpperCase()}; goal: replacements RUNNING within ${goal} s`,
    );
    const results: Array<{ detected: number; running: number }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const engine = env.engines[(env.engines.length - 1 - r) % env.engines.length]!;
      const res = await round(client, groupId, metaId, engine, agents);
      results.push(res);
      console.log(
        `round ${r + 1}: ${engine.name} lost; seen not HEALTHY after ${res.detected.toFixed(2)} s ` +
          `(session ${SESSION_S} s), every instance RUNNING elsewhere after ${res.running.toFixed(2)} s ` +
          `(${(res.running - SESSION_S - DELAY_S).toFixed(2)} s beyond session + delay)`,
      );
      await restore(client, groupId, metaId, engine, agents);
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const m = Math.floor(s.length / 2);
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    const m = median(results.map((r) => r.running));
    console.log(
      `median: detected ${median(results.map((r) => r.detected)).toFixed(2)} s, RUNNING elsewhere ${m.toFixed(2)} s ` +
        `(goal <= ${goal} s: ${m <= goal ? 'met' : 'missed'})`,
    );
  } finally {
    for (const p of agents.values()) {
      p.kill('SIGCONT');
      await p.stop();
    }
    await client.close();
    await gateway.close();
    await removeContainersNamed(
      env,
      env.engines.map((e) => e.name),
      metaName,
    ).catch(() => undefined);
    await removeZnodes(prefix);
    tmp.cleanup();
  }
}

await main();
