// ZooKeeper discovery against a real 3-member ensemble (scripts/test-env/zk-ensemble.sh): one member
// killed and another restarted while a meta is being scaled. The agents' sessions move to the members
// still up, so no node is marked lost, nothing migrates, and the meta ends with exactly N instances.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../core/config.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import {
  AGENT_TOKEN,
  TempDirs,
  TestClient,
  gatewayConfig,
  startTestGateway,
  type Recorder,
} from './gateway-harness.js';

const run = promisify(execFile);
const env = loadTestEnv();
const suffix = randomBytes(3).toString('hex');
const URIS = `zk://${env.zkEnsemble.connect}/hbt-ens-${suffix}`;
const names = ['n1', 'n2', 'n3'];
const member = (id: number) => env.zkEnsemble.members.find((m) => m.id === id)!;

async function killMember(id: number): Promise<void> {
  const pid = Number((await readFile(join(member(id).dir, 'zk.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  await waitFor(
    async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    },
    { timeoutMs: 10_000, description: `member ${id} gone` },
  );
}

async function startMember(id: number): Promise<void> {
  await run('bash', [join(member(id).dir, 'start.sh')]);
  await waitFor(
    async () => {
      const { stdout } = await run('bash', [
        '-c',
        'exec 3<>"/dev/tcp/$0/$1"; printf srvr >&3; timeout 2 cat <&3',
        env.bridgeIp,
        String(member(id).port),
      ]).catch(() => ({ stdout: '' }));
      return /^Mode: (leader|follower)/m.test(stdout) || undefined;
    },
    { timeoutMs: 60_000, intervalMs: 300, description: `member ${id} back in the quorum` },
  );
}

interface NodeEvent {
  nodeStatusChanged: { node: { id: string; status: string } };
}
interface MetaEvent {
  metaEvents: { event: string; metaId: string };
}

describe('ZooKeeper ensemble: members fail while a meta scales', () => {
  const tmp = new TempDirs();
  const agents: RunningAgent[] = [];
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let nodeEvents: Recorder<NodeEvent>;
  let metaEvents: Recorder<MetaEvent>;
  let killed: number | undefined;

  beforeAll(async () => {
    for (const n of names)
      agents.push(
        await startAgent(
          loadAgentConfig({
            DOCKER_ENDPOINT: engineNamed(env, n).dockerEndpoint,
            DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
            DOCKER_AGENT_IPADDR: '127.0.0.1',
            DOCKER_CLUSTER_ENABLED: 'true',
            DOCKER_CLUSTER_URIS: URIS,
            DOCKER_CLUSTER_HEARTBEAT: '1s',
            HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
            HUMPBACK_DATA_DIR: tmp.make(`hb-ens-${n}-`),
          }),
        ),
      );
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-ens-gw-'),
        DOCKER_CLUSTER_URIS: URIS,
        // Short, so that a node wrongly taken for lost would be migrated within the test.
        CENTER_MIGRATE_DELAY: '2',
        CENTER_RECOVERY_INTERVAL: '3',
      }),
    });
    client = new TestClient(gateway.url);
    await client.login();
  });

  afterAll(async () => {
    if (killed !== undefined) await startMember(killed).catch(() => undefined);
    nodeEvents?.stop();
    metaEvents?.stop();
    await client?.close();
    await gateway?.close();
    for (const n of names) {
      const docker = dockerFor(engineNamed(env, n));
      const list = await docker
        .listContainers({ all: true, filters: { name: [`ens-${suffix}`] } })
        .catch(() => []);
      for (const c of list)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('keeps every node, migrates nothing and ends with exactly N instances', async () => {
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: { name: `ens-${suffix}`, clusterMode: true, servers: agents.map((a) => new URL(a.url).host) },
      },
    );
    const groupId = createGroup.id;
    await waitFor(
      async () => {
        const { nodes } = await client.request<{ nodes: unknown[] }>(
          'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id } }',
          { g: groupId },
        );
        return nodes.length === 3 || undefined;
      },
      { timeoutMs: 20_000, description: 'three HEALTHY nodes' },
    );
    nodeEvents = await client.subscribe<NodeEvent>(
      'subscription($g: ID) { nodeStatusChanged(groupId: $g) { node { id status } } }',
      { g: groupId },
    );
    metaEvents = await client.subscribe<MetaEvent>(
      'subscription($g: ID) { metaEvents(groupId: $g) { event metaId } }',
      { g: groupId },
    );
    const { createMeta } = await client.request<{ createMeta: { id: string } }>(
      'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }',
      {
        input: {
          groupId,
          instances: 3,
          config: {
            name: `ens-${suffix}`,
            image: env.image,
            networkMode: 'none',
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          },
        },
      },
    );
    const scale = (instances: number) =>
      client.request(
        'mutation($id: ID!, $n: Int!) { updateMeta(id: $id, input: { instances: $n }) { id } }',
        {
          id: createMeta.id,
          n: instances,
        },
      );

    // One member killed while scaling up, then back; another restarted while scaling again.
    killed = 1;
    const first = scale(5);
    await killMember(1);
    await first;
    await startMember(1);
    killed = undefined;
    const second = scale(6);
    await killMember(2);
    killed = 2;
    await startMember(2);
    killed = undefined;
    await second;

    const onEngines = async () => {
      let count = 0;
      for (const n of names)
        count += (
          await dockerFor(engineNamed(env, n)).listContainers({
            all: true,
            filters: { label: [`humpback.meta=${createMeta.id}`] },
          })
        ).length;
      return count;
    };
    await waitFor(async () => ((await onEngines()) === 6 ? true : undefined), {
      timeoutMs: 30_000,
      description: 'six instances on the engines',
    });
    // Longer than the migration delay and a recovery pass: a node wrongly taken for lost would show.
    await metaEvents
      .next((e) => e.metaEvents.event === 'RecoveryMetaEvent', 15_000, 'a recovery pass')
      .catch(() => undefined);
    expect(await onEngines()).toBe(6);
    expect(nodeEvents.seen.filter((e) => e.nodeStatusChanged.node.status !== 'HEALTHY')).toEqual([]);
    expect(metaEvents.seen.filter((e) => e.metaEvents.event === 'MigrateMetaEvent')).toEqual([]);
    const { meta } = await client.request<{ meta: { containers: Array<{ index: number }> } }>(
      'query($id: ID!) { meta(id: $id) { containers { index } } }',
      { id: createMeta.id },
    );
    expect(meta.containers.map((c) => c.index).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  }, 240_000);
});
