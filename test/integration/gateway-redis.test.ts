import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import { RedisBus } from '../../core/bus/redis-bus.js';
import { RedisStore } from '../../core/store/redis-store.js';
import { RedisLeaseLeadership } from '../../gateway/leader/leadership.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  idleContainer,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

interface ContainerView {
  id: string;
  name: string;
  nodeId: string;
  state: string;
}
interface ContainerEvent {
  containerStatusChanged: { container: ContainerView; previousState: string | null };
}

/**
 * Two gateways on one Redis (store, bus, leader lease), one agent: whichever gateway a client is on,
 * it gets every event and sees the same containers; when the leader goes, the other takes over.
 */
describe('two gateways sharing Redis', () => {
  const env = loadTestEnv();
  const engine = engineNamed(env, 'n3');
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  // Own key and channel prefixes: other suites use the same Redis.
  const prefix = `hbt-gw-${suffix}:`;
  const leaseKey = `${prefix}leader`;
  let agent: RunningAgent & { address: string };
  const gateways: RunningGateway[] = [];
  const clients: TestClient[] = [];

  async function gateway(
    name: string,
  ): Promise<{ gw: RunningGateway; client: TestClient; lease: RedisLeaseLeadership }> {
    const store = await RedisStore.open(env.redisUrl, { keyPrefix: prefix });
    const bus = await RedisBus.open(env.redisUrl, { channelPrefix: prefix, connectionName: `hbt-${name}` });
    const lease = new RedisLeaseLeadership({
      redis: new Redis(env.redisUrl, { maxRetriesPerRequest: 1 }),
      ownsClient: true,
      key: leaseKey,
      ttlMs: 1500,
      renewMs: 250,
      id: name,
    });
    await lease.start();
    const gw = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_REDIS_URL: env.redisUrl, HUMPBACK_DATA_DIR: tmp.make('hb-gw-') }),
      store,
      bus,
      leadership: lease,
      cluster: false,
    });
    gateways.push(gw);
    const client = new TestClient(gw.url);
    clients.push(client);
    await client.login();
    return { gw, client, lease };
  }

  let a: Awaited<ReturnType<typeof gateway>>;
  let b: Awaited<ReturnType<typeof gateway>>;

  beforeAll(async () => {
    agent = await startTestAgent(engine, tmp.make('hb-agent-'));
    a = await gateway('a');
    b = await gateway('b');
  });

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const g of gateways) await g.close().catch(() => undefined);
    const docker = dockerFor(engine);
    const list = await docker.listContainers({ all: true, filters: { name: [`hbgw-${suffix}`] } });
    for (const c of list)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await agent?.close();
    const redis = new Redis(env.redisUrl);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    tmp.cleanup();
  });

  it('delivers a containerStatusChanged event to clients of both gateways', async () => {
    expect(a.lease.isLeader()).toBe(true);
    expect(b.lease.isLeader()).toBe(false);

    // The group is made on A; B learns it through the store and the bus.
    const { createGroup } = await a.client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `hbgw-${suffix}`, clusterMode: false, servers: [agent.address] } },
    );
    const nodeId = await waitFor(
      async () => {
        const data = await b.client.request<{ nodes: Array<{ id: string; status: string }> }>(
          'query($g: ID!) { nodes(groupId: $g) { id status } }',
          { g: createGroup.id },
        );
        return data.nodes.find((n) => n.status === 'HEALTHY')?.id;
      },
      { timeoutMs: 10_000, description: 'the node HEALTHY as seen from the follower' },
    );

    const query =
      'subscription($g: ID) { containerStatusChanged(groupId: $g) { container { id name nodeId state } previousState } }';
    const onA = await a.client.subscribe<ContainerEvent>(query, { g: createGroup.id });
    const onB = await b.client.subscribe<ContainerEvent>(query, { g: createGroup.id });

    // Created through the follower: its services call the agent themselves.
    const { createContainer } = await b.client.request<{ createContainer: ContainerView }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id state } }',
      { n: nodeId, c: idleContainer(`hbgw-${suffix}-shared`, env.image) },
    );
    const id = createContainer.id;
    const isRunning = (e: ContainerEvent): boolean =>
      e.containerStatusChanged.container.id === id && e.containerStatusChanged.container.state === 'RUNNING';
    await onA.next(isRunning, 5000, 'RUNNING on gateway A');
    await onB.next(isRunning, 5000, 'RUNNING on gateway B');

    // Stopped through the leader; both see it, and both caches answer EXITED.
    await a.client.request('mutation($id: ID!) { operateContainer(id: $id, action: STOP) { id } }', { id });
    const isExited = (e: ContainerEvent): boolean =>
      e.containerStatusChanged.container.id === id && e.containerStatusChanged.container.state === 'EXITED';
    await onA.next(isExited, 5000, 'EXITED on gateway A');
    await onB.next(isExited, 5000, 'EXITED on gateway B');
    for (const client of [a.client, b.client]) {
      await waitFor(
        async () => {
          const data = await client.request<{ container: ContainerView | null }>(
            'query($id: ID!) { container(id: $id) { state } }',
            {
              id,
            },
          );
          return data.container?.state === 'EXITED';
        },
        { timeoutMs: 3000, description: 'EXITED in the cache' },
      );
    }
    onA.stop();
    onB.stop();
  });

  it('hands the node watcher to the other gateway when the leader goes', async () => {
    const docker = dockerFor(engine);
    const query = 'subscription { containerStatusChanged { container { id name state } previousState } }';
    const onB = await b.client.subscribe<ContainerEvent>(query);
    await a.client.close();
    await a.gw.close();
    await waitFor(() => b.lease.isLeader(), { timeoutMs: 5000, description: 'B to lead' });
    await waitFor(() => b.gw.core.watcher.isRunning, { timeoutMs: 5000, description: "B's watcher" });

    // A change made with the Docker API now reaches B's client through B's own watcher.
    const name = `hbgw-${suffix}-after`;
    const created = await docker.createContainer({
      name,
      Image: env.image,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
      HostConfig: { NetworkMode: 'none' },
    });
    await created.start();
    await onB.next(
      (e) =>
        e.containerStatusChanged.container.id === created.id &&
        e.containerStatusChanged.container.state === 'RUNNING',
      10_000,
      'RUNNING via the new leader',
    );
    await created.remove({ force: true });
    onB.stop();
  });
});
