// The cluster deployment of the Humpback v1 docs on etcd v3, with its env as written apart from the
// addresses: agents and a center (our gateway) on DOCKER_CLUSTER_URIS=etcd://..., cluster name
// humpback/center, v1's durations. Against the test environment's real etcd and engines.
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../core/config.js';
import { decodeNodeValue } from '../../core/node-data.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { EtcdLeadership } from '../../gateway/leader/etcd-leadership.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import { AGENT_TOKEN, TempDirs, TestClient, gatewayConfig, startTestGateway } from './gateway-harness.js';

const env = loadTestEnv();
const suffix = randomBytes(3).toString('hex');
// A prefix of its own in the URI (an address detail), so runs never see each other's keys.
const PREFIX = `/hbt-etcd-${suffix}`;
const URIS = `etcd://${env.etcd.endpoint}${PREFIX}`;
const NODES_DIR = `${PREFIX}/humpback/center/nodes/`;
const names = ['n1', 'n2'];

/** The agent env of the v1 docs' cluster deployment; only the addresses and the token are ours. */
function v1AgentEnv(engine: string, dataDir: string): Record<string, string> {
  return {
    DOCKER_ENDPOINT: engineNamed(env, engine).dockerEndpoint,
    DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
    DOCKER_AGENT_IPADDR: '127.0.0.1',
    DOCKER_CLUSTER_ENABLED: 'true',
    DOCKER_CLUSTER_URIS: URIS,
    DOCKER_CLUSTER_NAME: 'humpback/center',
    DOCKER_CLUSTER_HEARTBEAT: '8s',
    DOCKER_CLUSTER_TTL: '35s',
    HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
    HUMPBACK_DATA_DIR: dataDir,
  };
}

describe('the v1 cluster deployment on etcd', () => {
  const tmp = new TempDirs();
  const agents: RunningAgent[] = [];
  const etcd = new Etcd3({ hosts: `http://${env.etcd.endpoint}` });
  let gateway: RunningGateway | undefined;
  let client: TestClient;

  beforeAll(async () => {
    for (const n of names)
      agents.push(await startAgent(loadAgentConfig(v1AgentEnv(n, tmp.make(`hb-etcd-${n}-`)))));
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-etcd-gw-'),
        DOCKER_CLUSTER_URIS: URIS,
        DOCKER_CLUSTER_NAME: 'humpback/center',
        DOCKER_CLUSTER_TTL: '35s',
        CENTER_CLUSTER_MIGRATEDELAY: '45s',
        CENTER_CLUSTER_RECOVERYINTERVAL: '1m',
        CENTER_CLUSTER_REMOVEDELAY: '0s',
      }),
    });
    client = new TestClient(gateway.url);
    await client.login();
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    for (const n of names) {
      const docker = dockerFor(engineNamed(env, n));
      const list = await docker
        .listContainers({ all: true, filters: { name: [`etcd-${suffix}`] } })
        .catch(() => []);
      for (const c of list)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    for (const a of agents) await a.close().catch(() => undefined);
    await etcd
      .delete()
      .prefix(`${PREFIX}/`)
      .exec()
      .catch(() => undefined);
    etcd.close();
    tmp.cleanup();
  });

  it('registers each agent at <prefix>/humpback/center/nodes/<key> on a lease of DOCKER_CLUSTER_TTL', async () => {
    const kvs = await waitFor(
      async () => {
        const res = await etcd.getAll().prefix(NODES_DIR).exec();
        return res.kvs.length === agents.length ? res.kvs : undefined;
      },
      { timeoutMs: 15_000, description: 'both agents registered in etcd' },
    );
    expect(kvs.map((kv) => kv.key.toString()).sort()).toEqual(
      agents.map((a) => `${NODES_DIR}${a.key}`).sort(),
    );
    for (const kv of kvs) {
      const value = JSON.parse(kv.value.toString()) as { key: string; data: string };
      expect(Object.keys(value)).toEqual(['key', 'data']);
      expect(decodeNodeValue(kv.value).key).toBe(value.key);
      const left = await etcd.leaseClient.leaseTimeToLive({ ID: kv.lease });
      expect(Number(left.grantedTTL)).toBe(35);
    }
  });

  it('the center leads, discovers the agents and places a meta from index 1', async () => {
    const discovered = await waitFor(
      async () => {
        const { nodes } = await client.request<{ nodes: Array<{ id: string; status: string }> }>(
          '{ nodes { id status } }',
        );
        const ours = nodes.filter((n) => agents.some((a) => a.key === n.id) && n.status === 'HEALTHY');
        return ours.length === agents.length ? ours : undefined;
      },
      { timeoutMs: 20_000, description: 'both agents HEALTHY through etcd discovery' },
    );
    expect(discovered).toHaveLength(2);
    // The center won the election in the same etcd, under the cluster's folder.
    expect(await etcd.getAll().prefix(`${PREFIX}/humpback/center/election/leader/`).keys()).toHaveLength(1);
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: { name: `etcd-${suffix}`, clusterMode: true, servers: agents.map((a) => new URL(a.url).host) },
      },
    );
    const { createMeta } = await client.request<{
      createMeta: { containers: Array<{ name: string; index: number }> };
    }>('mutation($input: CreateMetaInput!) { createMeta(input: $input) { containers { name index } } }', {
      input: {
        groupId: createGroup.id,
        instances: 2,
        config: {
          name: `etcd-${suffix}`,
          image: env.image,
          networkMode: 'none',
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
        },
      },
    });
    const gid8 = createGroup.id.slice(0, 8);
    expect(createMeta.containers.map((c) => [c.index, c.name]).sort()).toEqual([
      [1, `CLUSTER-${gid8}-etcd-${suffix}-1`],
      [2, `CLUSTER-${gid8}-etcd-${suffix}-2`],
    ]);
  });

  it('an agent that stops takes its key with it, and the center sees the node go', async () => {
    const leaving = agents.pop()!;
    await leaving.close();
    const res = await etcd.getAll().prefix(NODES_DIR).keys();
    expect(res).toEqual([`${NODES_DIR}${agents[0]!.key}`]);
    await waitFor(
      async () => {
        const { nodes } = await client.request<{ nodes: Array<{ id: string; status: string }> }>(
          '{ nodes { id status } }',
        );
        return nodes.find((n) => n.id === leaving.key)?.status !== 'HEALTHY' || undefined;
      },
      { timeoutMs: 20_000, description: 'the stopped agent no longer HEALTHY' },
    );
  });

  it('hands leadership to the next gateway when the leader resigns', async () => {
    const path = `${PREFIX}/election-test`;
    const a = new EtcdLeadership({ connectionString: env.etcd.endpoint, path, ttlSeconds: 5 });
    const b = new EtcdLeadership({ connectionString: env.etcd.endpoint, path, ttlSeconds: 5 });
    try {
      await a.start();
      await b.start();
      expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
      const taken = new Promise<boolean>((resolve) => b.onChange(resolve));
      await a.close();
      expect(await taken).toBe(true);
      expect(b.isLeader()).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
