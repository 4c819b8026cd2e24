import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor, removeContainersNamed } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  idleContainer,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

interface NodeView {
  id: string;
  name: string;
  ip: string;
  status: string;
}
interface ContainerView {
  id: string;
  name: string;
  nodeId: string;
  state: string;
  status: string;
}
interface ContainerEvent {
  containerStatusChanged: { container: ContainerView; previousState: string | null; at: string };
}
interface NodeEvent {
  nodeStatusChanged: { node: NodeView; previousStatus: string | null };
}

const CONTAINER_FIELDS = 'id name nodeId state status';

/**
 * The single-mode flow end to end, against the real engines of the test environment: agents in this
 * process (one per engine), the real gateway (embedded store) over HTTP and graphql-ws.
 */
describe('gateway single mode, end to end', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const agents: Array<RunningAgent & { address: string }> = [];
  let dataDir: string;
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let groupId: string;
  let nodes: NodeView[];

  beforeAll(async () => {
    for (const name of ['n1', 'n2'])
      agents.push(await startTestAgent(engineNamed(env, name), tmp.make(`hb-agent-${name}-`)));
    dataDir = tmp.make('hb-gw-');
    gateway = await startTestGateway({ config: gatewayConfig({ HUMPBACK_DATA_DIR: dataDir }) });
    client = new TestClient(gateway.url);
    await client.login();
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    // Leftovers of a failed run: every container this suite named.
    await removeContainersNamed(env, ['n1', 'n2'], `hbgw-${suffix}`);
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('refuses everything but login without a token', async () => {
    const anonymous = new TestClient(gateway!.url);
    expect(await anonymous.errorCode('{ groups { id } }')).toBe('UNAUTHENTICATED');
  });

  it('creates a group whose servers become HEALTHY nodes', async () => {
    const nodeEvents = await client.subscribe<NodeEvent>(
      'subscription { nodeStatusChanged { node { id name ip status } previousStatus } }',
    );
    // Upper case on purpose: servers are case-insensitive.
    const servers = agents.map((a) => a.address.toUpperCase());
    const { createGroup } = await client.request<{ createGroup: { id: string; servers: string[] } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id servers } }',
      { input: { name: `hbgw-${suffix}`, description: 'single mode e2e', clusterMode: false, servers } },
    );
    groupId = createGroup.id;
    expect(createGroup.servers).toEqual(agents.map((a) => a.address.toLowerCase()));

    nodes = await waitFor(
      async () => {
        const data = await client.request<{ nodes: NodeView[] }>(
          'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id name ip status } }',
          { g: groupId },
        );
        return data.nodes.length === 2 ? data.nodes : undefined;
      },
      { timeoutMs: 15_000, description: 'both nodes HEALTHY' },
    );
    const ips = nodes.map((n) => n.ip).sort();
    expect(ips).toEqual([engineNamed(env, 'n1').ip, engineNamed(env, 'n2').ip].sort());
    const healthy = await nodeEvents.next((e) => e.nodeStatusChanged.node.status === 'HEALTHY');
    expect(['PENDING', 'UNHEALTHY', null]).toContain(healthy.nodeStatusChanged.previousStatus);
    nodeEvents.stop();

    // node(id) answers by id, by ip and by hostname.
    const byIp = await client.request<{ node: NodeView | null }>('query($id: ID!) { node(id: $id) { id } }', {
      id: engineNamed(env, 'n1').ip,
    });
    expect(nodes.map((n) => n.id)).toContain(byIp.node?.id);
    const first = nodes[0]!;
    const byName = await client.request<{ node: NodeView | null }>(
      'query($id: ID!) { node(id: $id) { id } }',
      {
        id: first.name.toUpperCase(),
      },
    );
    expect(byName.node?.id).toBeDefined();
  });

  it('creates, watches, stops, reads logs of and removes a container', async () => {
    const node = nodes.find((n) => n.ip === engineNamed(env, 'n1').ip)!;
    const events = await client.subscribe<ContainerEvent>(
      `subscription($n: ID) { containerStatusChanged(nodeId: $n) { container { ${CONTAINER_FIELDS} } previousState at } }`,
      { n: node.id },
    );
    const name = `hbgw-${suffix}-web`;
    const { createContainer } = await client.request<{ createContainer: ContainerView }>(
      `mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { ${CONTAINER_FIELDS} } }`,
      { n: node.id, c: idleContainer(name, env.image) },
    );
    expect(createContainer).toMatchObject({ name, nodeId: node.id });
    const id = createContainer.id;

    const running = await events.next(
      (e) =>
        e.containerStatusChanged.container.id === id &&
        e.containerStatusChanged.container.state === 'RUNNING',
      5000,
      'RUNNING event',
    );
    expect(running.containerStatusChanged.container.name).toBe(name);

    // The cache answers queries: by node, by group, by state, and by id prefix.
    const listed = await client.request<{ containers: { nodes: ContainerView[]; totalCount: number } }>(
      `query($g: ID, $n: ID) { containers(groupId: $g, nodeId: $n, state: RUNNING, first: 10) { totalCount nodes { ${CONTAINER_FIELDS} } } }`,
      { g: groupId, n: node.id },
    );
    expect(listed.containers.nodes.map((c) => c.id)).toContain(id);
    const byPrefix = await client.request<{ container: ContainerView | null }>(
      `query($id: ID!) { container(id: $id) { ${CONTAINER_FIELDS} } }`,
      { id: id.slice(0, 12) },
    );
    expect(byPrefix.container?.id).toBe(id);

    // Live usage of the running container, sampled by its engine.
    const { containerStats: stats } = await client.request<{
      containerStats: { at: string; cpuPercent: number; memoryUsageBytes: number; memoryLimitBytes: number };
    }>('query($id: ID!) { containerStats(id: $id) { at cpuPercent memoryUsageBytes memoryLimitBytes } }', {
      id,
    });
    expect(stats.memoryUsageBytes).toBeGreaterThan(0);
    expect(stats.memoryLimitBytes).toBeGreaterThan(stats.memoryUsageBytes);
    expect(stats.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(Math.abs(Date.parse(stats.at) - Date.now())).toBeLessThan(60_000);

    // A name clash is a CONFLICT.
    expect(
      await client.errorCode(
        'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
        { n: node.id, c: idleContainer(name, env.image) },
      ),
    ).toBe('CONFLICT');

    // An image its registry cannot give is the engine's refusal, in its words, not an internal error.
    const pull = await client.raw(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      { n: node.id, c: idleContainer(`${name}-nopull`, '127.0.0.1:1/hb/missing:1') },
    );
    expect(pull.errors?.[0]?.extensions?.['code']).toBe('ENGINE_ERROR');
    expect(pull.errors?.[0]?.message).toMatch(/127\.0\.0\.1:1\/hb\/missing:1.*registry/);

    const stopped = await client.request<{ operateContainer: ContainerView }>(
      `mutation($id: ID!) { operateContainer(id: $id, action: STOP) { ${CONTAINER_FIELDS} } }`,
      { id },
    );
    expect(stopped.operateContainer.state).toBe('EXITED');
    const exited = await events.next(
      (e) =>
        e.containerStatusChanged.container.id === id && e.containerStatusChanged.container.state === 'EXITED',
      5000,
      'EXITED event',
    );
    expect(exited.containerStatusChanged.previousState).toBe('RUNNING');

    const logs = await client.request<{ containerLogs: string[] }>(
      'query($id: ID!) { containerLogs(id: $id, tail: 10) }',
      {
        id,
      },
    );
    expect(logs.containerLogs.join('\n')).toContain('hello-from-hbtest');

    const removed = await client.request<{ removeContainer: boolean }>(
      'mutation($id: ID!) { removeContainer(id: $id) }',
      {
        id,
      },
    );
    expect(removed.removeContainer).toBe(true);
    const gone = await client.request<{ container: ContainerView | null }>(
      'query($id: ID!) { container(id: $id) { id } }',
      {
        id,
      },
    );
    expect(gone.container).toBeNull();
    await expect(dockerFor(engineNamed(env, 'n1')).getContainer(id).inspect()).rejects.toThrow();
    events.stop();
  });

  it('sees a container started behind its back within a second of the Docker event', async () => {
    const engine = engineNamed(env, 'n2');
    const node = nodes.find((n) => n.ip === engine.ip)!;
    const events = await client.subscribe<ContainerEvent>(
      `subscription($g: ID) { containerStatusChanged(groupId: $g) { container { ${CONTAINER_FIELDS} } previousState } }`,
      { g: groupId },
    );
    const docker = dockerFor(engine);
    const name = `hbgw-${suffix}-outside`;
    const created = await docker.createContainer({
      name,
      Image: env.image,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
      HostConfig: { NetworkMode: 'none' },
    });
    const started = Date.now();
    await created.start();
    const running = await events.next(
      (e) =>
        e.containerStatusChanged.container.id === created.id &&
        e.containerStatusChanged.container.state === 'RUNNING',
      5000,
      'RUNNING event for a container made with the Docker API',
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(running.containerStatusChanged.container.nodeId).toBe(node.id);
    await created.remove({ force: true });
    await events.next(
      (e) =>
        e.containerStatusChanged.container.id === created.id &&
        e.containerStatusChanged.container.state === 'REMOVING',
      5000,
      'removal event',
    );
    events.stop();
  });

  it('answers NODE_UNAVAILABLE when the agent is down and marks the node UNHEALTHY', async () => {
    const agent = agents[1]!;
    const node = nodes.find((n) => n.ip === engineNamed(env, 'n2').ip)!;
    const nodeEvents = await client.subscribe<NodeEvent>(
      'subscription($g: ID) { nodeStatusChanged(groupId: $g) { node { id status } previousStatus } }',
      { g: groupId },
    );
    await agent.close();
    const code = await client.errorCode(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      { n: node.id, c: idleContainer(`hbgw-${suffix}-down`, env.image) },
    );
    expect(code).toBe('NODE_UNAVAILABLE');
    const unhealthy = await nodeEvents.next(
      (e) => e.nodeStatusChanged.node.id === node.id && e.nodeStatusChanged.node.status === 'UNHEALTHY',
      10_000,
      'UNHEALTHY event',
    );
    expect(unhealthy.nodeStatusChanged.previousStatus).toBe('HEALTHY');
    expect(await client.errorCode('query($n: ID!) { images(nodeId: $n) { id } }', { n: node.id })).toBe(
      'NODE_UNAVAILABLE',
    );
    nodeEvents.stop();
  });

  it('keeps groups and users across a gateway restart', async () => {
    await client.close();
    await gateway!.close();
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: dataDir, HUMPBACK_ADMIN_PASSWORD: '' }),
    });
    client = new TestClient(gateway.url);
    await client.login();
    const { group } = await client.request<{ group: { id: string; servers: string[] } | null }>(
      'query($id: ID!) { group(id: $id) { id servers } }',
      { id: groupId },
    );
    expect(group?.servers).toEqual(agents.map((a) => a.address.toLowerCase()));
    // The live agent's node comes back HEALTHY through the new gateway's watcher.
    const n1 = engineNamed(env, 'n1');
    await waitFor(
      async () => {
        const data = await client.request<{ nodes: NodeView[] }>(
          'query($g: ID!) { nodes(groupId: $g) { id ip status } }',
          {
            g: groupId,
          },
        );
        return data.nodes.find((n) => n.ip === n1.ip)?.status === 'HEALTHY';
      },
      { timeoutMs: 10_000, description: 'n1 HEALTHY after restart' },
    );
    const { deleteGroup } = await client.request<{ deleteGroup: boolean }>(
      'mutation($id: ID!) { deleteGroup(id: $id) }',
      {
        id: groupId,
      },
    );
    expect(deleteGroup).toBe(true);
  });
});
