import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import { LABEL } from '../../core/labels.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  idleContainer,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

interface MetaView {
  id: string;
  name: string;
  instances: number;
  containers: Array<{ id: string; nodeId: string; state: string }>;
}

const META_FIELDS = 'id name instances containers { id nodeId state }';
const NAMES = ['n1', 'n2', 'n3'] as const;

/**
 * Turning cluster mode off, on the real services: one gateway (embedded store, the leader), an agent
 * per engine of the test environment, a cluster-mode group over the three nodes with two metas, and
 * a single-mode container on each of the same nodes. Without the confirmation nothing changes; with
 * it every cluster container of the group leaves every engine and the single-mode containers stay.
 */
describe('turning cluster mode off on three engines', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const agents: Array<RunningAgent & { address: string }> = [];
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let groupId: string;
  let metas: MetaView[] = [];
  /** The single-mode container on each node, by container id. */
  const singles = new Map<string, { engine: string; name: string }>();

  const docker = (name: string) => dockerFor(engineNamed(env, name));

  /** The group's cluster containers on every engine, as the engines list them (stopped ones too). */
  const clusterContainersOnEngines = async (): Promise<Array<{ id: string; running: boolean }>> => {
    const found: Array<{ id: string; running: boolean }> = [];
    for (const name of NAMES) {
      const list = await docker(name).listContainers({
        all: true,
        filters: { label: [`${LABEL.group}=${groupId}`] },
      });
      found.push(...list.map((c) => ({ id: c.Id, running: c.State === 'running' })));
    }
    return found.sort((a, b) => a.id.localeCompare(b.id));
  };

  const groupMetas = async (): Promise<MetaView[]> =>
    (
      await client.request<{ metas: MetaView[] }>(
        `query($g: ID!) { metas(groupId: $g) { ${META_FIELDS} } }`,
        {
          g: groupId,
        },
      )
    ).metas;

  const clusterMode = async (): Promise<boolean> =>
    (
      await client.request<{ group: { clusterMode: boolean } }>(
        'query($id: ID!) { group(id: $id) { clusterMode } }',
        {
          id: groupId,
        },
      )
    ).group.clusterMode;

  const turnOff = (confirm?: boolean) =>
    client.raw<{ updateGroup: { clusterMode: boolean } }>(
      'mutation($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { clusterMode } }',
      {
        id: groupId,
        input: {
          clusterMode: false,
          ...(confirm === undefined ? {} : { confirmRemoveClusterContainers: confirm }),
        },
      },
    );

  const createMeta = (groupIdOf: string, name: string, instances: number) =>
    client.raw<{ createMeta: MetaView }>(
      `mutation($input: CreateMetaInput!) { createMeta(input: $input) { ${META_FIELDS} } }`,
      {
        input: {
          groupId: groupIdOf,
          instances,
          config: {
            name: `${name}-${suffix}`,
            image: env.image,
            networkMode: 'none',
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          },
        },
      },
    );

  beforeAll(async () => {
    for (const name of NAMES)
      agents.push(await startTestAgent(engineNamed(env, name), tmp.make(`hb-off-${name}-`)));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-off-gw-') }),
    });
    client = new TestClient(gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `hboff-${suffix}`, clusterMode: true, servers: agents.map((a) => a.address) } },
    );
    groupId = createGroup.id;
    const nodes = await healthyNodes(client, groupId, 3);

    for (const [name, instances] of [
      ['web', 4],
      ['worker', 2],
    ] as const) {
      const created = await createMeta(groupId, name, instances);
      expect(created.errors).toBeUndefined();
      metas.push(created.data!.createMeta);
    }
    for (const node of nodes) {
      const engine = env.engines.find((e) => e.ip === node.ip)!.name;
      const name = `single-${engine}-${suffix}`;
      const { createContainer } = await client.request<{ createContainer: { id: string } }>(
        'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
        { n: node.id, c: idleContainer(name, env.image) },
      );
      singles.set(createContainer.id, { engine, name });
    }
    metas = await waitFor(
      async () => {
        const now = await groupMetas();
        const running = now.flatMap((m) => m.containers).filter((c) => c.state === 'RUNNING');
        return running.length === 6 ? now : undefined;
      },
      { timeoutMs: 20_000, description: "the metas' 6 instances RUNNING" },
    );
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    for (const name of NAMES) {
      const list = await docker(name)
        .listContainers({ all: true, filters: { name: [`-${suffix}`] } })
        .catch(() => []);
      for (const c of list)
        await docker(name)
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('has the metas on every node and the single-mode containers beside them', async () => {
    const onEngines = await clusterContainersOnEngines();
    expect(onEngines).toHaveLength(6);
    expect(onEngines.every((c) => c.running)).toBe(true);
    const nodesUsed = new Set(metas.flatMap((m) => m.containers.map((c) => c.nodeId)));
    expect(nodesUsed.size).toBe(3);
    expect(singles.size).toBe(3);
  });

  it('refuses without confirmation, saying what would be removed, and changes nothing', async () => {
    const before = await clusterContainersOnEngines();
    for (const confirm of [undefined, false]) {
      const refused = await turnOff(confirm);
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const message = refused.errors?.[0]?.message ?? '';
      expect(message).toContain('2 meta(s)');
      expect(message).toContain(`web-${suffix}`);
      expect(message).toContain(`worker-${suffix}`);
      expect(message).toContain('6 container instance(s)');
      expect(message).toContain('confirmRemoveClusterContainers: true');
    }
    expect(await clusterMode()).toBe(true);
    const after = await groupMetas();
    expect(after.map((m) => [m.id, m.instances]).sort()).toEqual(
      metas.map((m) => [m.id, m.instances]).sort(),
    );
    expect(await clusterContainersOnEngines()).toEqual(before);
  });

  it('with confirmation removes every cluster container from every engine and keeps the single-mode ones', async () => {
    const confirmed = await turnOff(true);
    expect(confirmed.errors).toBeUndefined();
    expect(confirmed.data?.updateGroup).toEqual({ clusterMode: false });

    await waitFor(async () => (await clusterContainersOnEngines()).length === 0 || undefined, {
      timeoutMs: 30_000,
      description: "no container of the group's metas on any engine",
    });
    expect(await groupMetas()).toEqual([]);
    for (const m of metas) {
      const { meta } = await client.request<{ meta: { id: string } | null }>(
        'query($id: ID!) { meta(id: $id) { id } }',
        {
          id: m.id,
        },
      );
      expect(meta).toBeNull();
    }
    for (const [id, { engine, name }] of singles) {
      const inspected = await docker(engine).getContainer(id).inspect();
      expect(inspected.Name).toBe(`/${name}`);
      expect(inspected.State.Running).toBe(true);
    }
    expect(await clusterMode()).toBe(false);
  });

  it('refuses a new meta in the group now that it is not in cluster mode, storing nothing', async () => {
    const refused = await createMeta(groupId, 'late', 1);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toBe(`group ${groupId} is not in cluster mode`);
    expect(await groupMetas()).toEqual([]);
    expect(await clusterContainersOnEngines()).toEqual([]);
  });
});
