import { randomBytes } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../core/zookeeper.js';
import { engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import { TempDirs, TestClient, gatewayConfig, startTestAgent, startTestGateway } from './gateway-harness.js';

interface StatusEvent {
  nodeStatusChanged: {
    node: { id: string; status: string; statusReason: string | null };
    previousStatus: string | null;
  };
}

/**
 * ZooKeeper discovery on the leader: an agent's znode going away (its session ended) makes the node
 * UNHEALTHY at once, saying why, without waiting for failed health checks (the watcher here checks
 * only every minute); the check that follows finds the agent answering and makes it HEALTHY again.
 * The agent is a server of a group (one in none is forgotten when its znode goes).
 */
describe('a node whose ZooKeeper session ends', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const prefix = `/hbtest-session-${suffix}`;
  const zkUri = `zk://${env.zkConnect}${prefix}`;
  let agent: Awaited<ReturnType<typeof startTestAgent>>;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let client: TestClient;
  const zk = zookeeper.createClient(env.zkConnect);

  beforeAll(async () => {
    agent = await startTestAgent(engineNamed(env, 'n1'), tmp.make('hb-session-agent-'), {
      DOCKER_CLUSTER_ENABLED: 'true',
      DOCKER_CLUSTER_URIS: zkUri,
      DOCKER_CLUSTER_NAME: 'humpback/center',
      DOCKER_CLUSTER_HEARTBEAT: '60',
      DOCKER_AGENT_IPADDR: '127.0.0.1',
    });
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-session-gw-'),
        DOCKER_CLUSTER_URIS: zkUri,
        DOCKER_CLUSTER_NAME: 'humpback/center',
        CENTER_MIGRATE_DELAY: '60',
      }),
      watcher: { healthIntervalMs: 60_000, failureThreshold: 2, checkTimeoutMs: 5000 },
    });
    client = new TestClient(gateway.url);
    await client.login();
    // In a group: a registered agent in none is forgotten when its znode goes.
    await client.request('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
      input: { name: `session-${suffix}`, clusterMode: true, servers: [agent.address] },
    });
    zk.connect();
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await agent?.close().catch(() => undefined);
    zk.close();
    tmp.cleanup();
  });

  it('is UNHEALTHY at once with the reason, then HEALTHY again when its agent answers', async () => {
    const nodesPath = `${prefix}/humpback/center/nodes`;
    const key = await waitFor(
      async () => {
        const { nodes } = await client.request<{ nodes: Array<{ id: string; status: string }> }>(
          '{ nodes { id status } }',
        );
        return nodes.find((n) => n.status === 'HEALTHY')?.id;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: 'the registered agent HEALTHY' },
    );
    const children = await call<string[]>((cb) => zk.getChildren(nodesPath, cb), 5000);
    expect(children).toEqual([key]);
    const events = await client.subscribe<StatusEvent>(
      'subscription { nodeStatusChanged { node { id status statusReason } previousStatus } }',
    );
    // What the agent's session expiring does to its ephemeral znode.
    await call<void>((cb) => zk.remove(`${nodesPath}/${key}`, -1, cb), 5000);
    const down = await events.next(
      (e) => e.nodeStatusChanged.node.status === 'UNHEALTHY',
      10_000,
      'the node UNHEALTHY',
    );
    expect(down.nodeStatusChanged).toEqual({
      node: {
        id: key,
        status: 'UNHEALTHY',
        statusReason: 'its ZooKeeper session ended (the znode went away)',
      },
      previousStatus: 'HEALTHY',
    });
    const up = await events.next(
      (e) => e.nodeStatusChanged.node.status === 'HEALTHY',
      15_000,
      'the node HEALTHY again',
    );
    expect(up.nodeStatusChanged).toEqual({
      node: { id: key, status: 'HEALTHY', statusReason: null },
      previousStatus: 'UNHEALTHY',
    });
    events.stop();
  }, 90_000);
});
