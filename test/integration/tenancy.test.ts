import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor, removeContainersNamed } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  idleContainer,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

/**
 * The tenancy findings of the security review, each as it was reproduced, against the real gateway
 * and real agents on real engines: an ordinary user cannot claim a node, see or touch another
 * group's containers, or start a container that reaches beyond itself.
 */
describe('tenancy', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const NAME = `hbten-${randomBytes(3).toString('hex')}`;
  const agents: Array<RunningAgent & { address: string }> = [];
  let gateway: RunningGateway;
  let admin: TestClient;
  let mallory: TestClient;
  let bob: TestClient;
  /** mallory's single-mode group on n1; bob's cluster group on n1 and n2. */
  let malloryGroup: string;
  let bobGroup: string;
  let n1: string;
  let n2: string;
  let bobMeta: string;
  const docker1 = () => dockerFor(engineNamed(env, 'n1'));

  const engineNames = async (): Promise<string[]> =>
    (await docker1().listContainers({ all: true, filters: { name: [NAME] } })).flatMap((c) => c.Names).sort();

  beforeAll(async () => {
    for (const name of ['n1', 'n2'])
      agents.push(await startTestAgent(engineNamed(env, name), tmp.make(`hb-ten-${name}-`)));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-ten-gw-') }),
    });
    admin = new TestClient(gateway.url);
    await admin.login();
    for (const u of ['mallory', 'bob']) {
      await admin.request(
        'mutation($u: String!) { createUser(input: { username: $u, password: "password-123", admin: false }) { id } }',
        { u },
      );
    }
    mallory = new TestClient(gateway.url);
    await mallory.login('mallory', 'password-123');
    bob = new TestClient(gateway.url);
    await bob.login('bob', 'password-123');
    const group = async (name: string, clusterMode: boolean, servers: string[], owner: string) => {
      const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
        'mutation($n: String!, $c: Boolean!, $s: [String!]) { createGroup(input: { name: $n, clusterMode: $c, servers: $s }) { id } }',
        { n: name, c: clusterMode, s: servers },
      );
      await admin.request(
        'mutation($id: ID!, $o: [String!]) { updateGroup(id: $id, input: { owners: $o }) { id } }',
        { id: createGroup.id, o: [owner] },
      );
      return createGroup.id;
    };
    malloryGroup = await group(`${NAME}-m`, false, [agents[0]!.address], 'mallory');
    bobGroup = await group(`${NAME}-b`, true, [agents[0]!.address, agents[1]!.address], 'bob');
    const nodes = await healthyNodes(admin, bobGroup, 2);
    n1 = nodes.find((n) => n.ip === engineNamed(env, 'n1').ip)!.id;
    n2 = nodes.find((n) => n.ip === engineNamed(env, 'n2').ip)!.id;
    // bob's meta: an instance on each node, one of them on the node mallory's group shares.
    const { createMeta } = await bob.request<{ createMeta: { id: string } }>(
      `mutation($g: ID!, $n: String!) { createMeta(input: { groupId: $g, instances: 2,
         config: { name: $n, image: "${env.image}", networkMode: "none", command: ["sleep", "3600"] } }) { id } }`,
      { g: bobGroup, n: `${NAME}-web` },
    );
    bobMeta = createMeta.id;
    await waitForRunning(bob, bobMeta, 2);
  });

  afterAll(async () => {
    await Promise.all([admin, mallory, bob].map((c) => c?.close()));
    await gateway?.close();
    await removeContainersNamed(env, ['n1', 'n2'], NAME);
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it("does not let a user claim a node: servers and node labels are the admins'", async () => {
    const before = await engineNames();
    const labelsBefore = await admin.request<{ node: { labels: unknown[] } }>(
      'query($n: ID!) { node(id: $n) { labels { key value } } }',
      { n: n2 },
    );
    const tries: Array<[string, Record<string, unknown>]> = [
      [
        'mutation($a: String!) { createGroup(input: { name: "grab", servers: [$a] }) { id } }',
        { a: agents[1]!.address },
      ],
      [
        'mutation($g: ID!, $a: String!) { addServer(groupId: $g, address: $a) { id } }',
        { g: malloryGroup, a: agents[1]!.address },
      ],
      [
        'mutation($g: ID!, $a: String!) { updateGroup(id: $g, input: { servers: [$a] }) { id } }',
        { g: malloryGroup, a: agents[1]!.address },
      ],
      [
        'mutation($g: ID!, $a: String!) { removeServer(groupId: $g, address: $a) { id } }',
        { g: malloryGroup, a: agents[0]!.address },
      ],
      [
        'mutation($n: ID!) { setNodeLabels(nodeId: $n, labels: [{ key: "zone", value: "mine" }]) { id } }',
        { n: n2 },
      ],
    ];
    for (const [doc, vars] of tries) expect(await mallory.errorCode(doc, vars)).toBe('FORBIDDEN');

    const { group } = await admin.request<{ group: { servers: string[] } }>(
      'query($g: ID!) { group(id: $g) { servers } }',
      { g: malloryGroup },
    );
    expect(group.servers).toEqual([agents[0]!.address]);
    expect(
      await admin.request('query($n: ID!) { node(id: $n) { labels { key value } } }', { n: n2 }),
    ).toEqual(labelsBefore);
    // mallory still cannot see n2 at all, and the engine is as it was
    expect(await mallory.request('query($n: ID!) { node(id: $n) { id } }', { n: n2 })).toEqual({
      node: null,
    });
    expect(await engineNames()).toEqual(before);
  });

  it("keeps another group's instances on a shared node out of sight and out of reach", async () => {
    const { containers } = await bob.request<{
      containers: { nodes: Array<{ id: string; nodeId: string }> };
    }>('query($m: ID!) { containers(metaId: $m) { nodes { id nodeId } } }', { m: bobMeta });
    const onShared = containers.nodes.find((c) => c.nodeId === n1)!;
    expect(onShared).toBeDefined();

    const seen = await mallory.request<{
      containers: { nodes: Array<{ id: string }> };
      node: { containers: Array<{ id: string }> };
    }>('query($n: ID!) { containers(nodeId: $n) { nodes { id } } node(id: $n) { containers { id } } }', {
      n: n1,
    });
    expect(seen.containers.nodes.map((c) => c.id)).not.toContain(onShared.id);
    expect(seen.node.containers.map((c) => c.id)).not.toContain(onShared.id);
    expect(
      await mallory.request('query($id: ID!) { container(id: $id) { id } }', { id: onShared.id }),
    ).toEqual({
      container: null,
    });
    for (const doc of [
      'mutation($id: ID!) { removeContainer(id: $id, force: true) }',
      'mutation($id: ID!) { operateContainer(id: $id, action: STOP) { id } }',
      'query($id: ID!) { containerLogs(id: $id) }',
    ]) {
      expect(await mallory.errorCode(doc, { id: onShared.id })).toBe('FORBIDDEN');
    }
    const inspect = await docker1().getContainer(onShared.id).inspect();
    expect(inspect.State.Running).toBe(true);
  });

  it('refuses containers that reach beyond themselves, and creates nothing', async () => {
    const before = await engineNames();
    const running = (await docker1().listContainers({ filters: { name: [`${NAME}-web`] } }))[0]!;
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [
        { volumes: [{ containerPath: '/host', hostPath: '/' }] },
        /volumes\.0\.hostPath: bind the host path \//,
      ],
      [
        { volumes: [{ containerPath: '/sock', hostPath: '/var/run/docker.sock' }] },
        /volumes\.0\.hostPath: mount the container engine's socket/,
      ],
      [
        { volumes: [{ containerPath: '/sock', hostPath: `${engineNamed(env, 'n1').socketPath}` }] },
        /volumes\.0\.hostPath: mount the container engine's socket/,
      ],
      [{ networkMode: 'host' }, /networkMode: use the host network/],
      [{ networkMode: `container:${running.Id}` }, /networkMode: join another container's network/],
    ];
    for (const [extra, message] of bad) {
      const r = await mallory.raw(
        'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
        { n: n1, c: { ...idleContainer(`${NAME}-bad`, env.image), ...extra } },
      );
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(r.errors?.[0]?.message).toMatch(message);
    }
    // The same policy holds for metas, when they are created and when their config changes.
    expect(
      await bob.errorCode(
        `mutation($g: ID!) { createMeta(input: { groupId: $g, instances: 1,
           config: { name: "${NAME}-m2", image: "${env.image}", networkMode: "host" } }) { id } }`,
        { g: bobGroup },
      ),
    ).toBe('FORBIDDEN');
    expect(
      await bob.errorCode(
        `mutation($m: ID!) { updateMeta(id: $m, input: { config: { name: "${NAME}-web", image: "${env.image}",
           volumes: [{ containerPath: "/etc-host", hostPath: "/etc" }] } }) { id } }`,
        { m: bobMeta },
      ),
    ).toBe('FORBIDDEN');
    expect(await engineNames()).toEqual(before);
  });

  it('refuses bind paths that smuggle options and labels that pass for a meta instance', async () => {
    // [config, caller, code, message]: a user's absolute host path is refused by the policy first.
    const cases: Array<[Record<string, unknown>, TestClient, string, RegExp]> = [
      [
        { volumes: [{ containerPath: '/x:rw,z', hostPath: 'data' }] },
        mallory,
        'BAD_USER_INPUT',
        /containerPath.*':'/,
      ],
      [
        { volumes: [{ containerPath: '/x:rw,z', hostPath: 'data' }] },
        admin,
        'BAD_USER_INPUT',
        /containerPath.*':'/,
      ],
      [
        { volumes: [{ containerPath: '/x', hostPath: '/tmp/a:/etc' }] },
        admin,
        'BAD_USER_INPUT',
        /hostPath.*':'/,
      ],
      [
        { volumes: [{ containerPath: '/x', hostPath: '/tmp/a:/etc' }] },
        mallory,
        'FORBIDDEN',
        /bind the host path/,
      ],
      [
        { labels: [{ key: 'humpback.group', value: bobGroup }] },
        mallory,
        'BAD_USER_INPUT',
        /humpback\.group is reserved/,
      ],
      [
        { labels: [{ key: 'Humpback.Meta', value: bobMeta }] },
        admin,
        'BAD_USER_INPUT',
        /Humpback\.Meta is reserved/,
      ],
    ];
    for (const [extra, client, code, message] of cases) {
      const r = await client.raw(
        'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
        { n: n1, c: { ...idleContainer(`${NAME}-smuggle`, env.image), ...extra } },
      );
      expect(r.errors?.[0]?.extensions?.code).toBe(code);
      expect(r.errors?.[0]?.message).toMatch(message);
    }
    expect(await engineNames()).not.toContain(`/${NAME}-smuggle`);
  });

  it('lets a user bind only below the host paths an admin allowed their group; admins anything, audited', async () => {
    const allowed = tmp.make('hb-ten-allowed-');
    mkdirSync(`${allowed}/data`);
    expect(
      await mallory.errorCode(
        'mutation($g: ID!, $p: [String!]) { updateGroup(id: $g, input: { allowedHostPaths: $p }) { id } }',
        { g: malloryGroup, p: ['/'] },
      ),
    ).toBe('FORBIDDEN');
    await admin.request(
      'mutation($g: ID!, $p: [String!]) { updateGroup(id: $g, input: { allowedHostPaths: $p }) { allowedHostPaths } }',
      { g: malloryGroup, p: [allowed] },
    );
    const create = (client: TestClient, name: string, hostPath: string) =>
      client.raw<{ createContainer: { id: string } }>(
        'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
        { n: n1, c: { ...idleContainer(name, env.image), volumes: [{ containerPath: '/data', hostPath }] } },
      );
    const escape = await create(mallory, `${NAME}-escape`, `${allowed}/../..`);
    expect(escape.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(escape.errors?.[0]?.message).toContain(`this group allows ${allowed}`);

    const ok = await create(mallory, `${NAME}-bind`, `${allowed}/data`);
    expect(ok.errors).toBeUndefined();
    const bound = await docker1().getContainer(ok.data!.createContainer.id).inspect();
    expect(bound.HostConfig.Binds).toEqual([`${allowed}/data:/data`]);

    const root = await create(admin, `${NAME}-root`, '/');
    expect(root.errors).toBeUndefined();
    const { auditLog } = await admin.request<{
      auditLog: Array<{ userId: string; operation: string; args: { config?: { volumes?: unknown } } }>;
    }>('{ auditLog(first: 5) { userId operation args } }');
    const entry = auditLog.find((e) => e.operation === 'createContainer' && e.userId === 'admin');
    expect(entry?.args.config?.volumes).toEqual([{ containerPath: '/data', hostPath: '/' }]);
  });
});

function waitForRunning(client: TestClient, metaId: string, count: number): Promise<boolean> {
  return waitFor(
    async () => {
      const { containers } = await client.request<{ containers: { nodes: Array<{ state: string }> } }>(
        'query($m: ID!) { containers(metaId: $m) { nodes { state } } }',
        { m: metaId },
      );
      return containers.nodes.filter((c) => c.state === 'RUNNING').length >= count;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: `${count} running instance(s) of meta ${metaId}` },
  );
}
