import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import { TempDirs, TestClient, gatewayConfig, startTestAgent, startTestGateway } from './gateway-harness.js';

interface ContainerView {
  id: string;
  name: string;
  nodeId: string;
  state: string;
  index: number | null;
}
interface MetaView {
  id: string;
  instances: number;
  containers: ContainerView[];
}
interface HookBody {
  Timestamp: number;
  Event: string;
  MetaBase: { MetaId: string; Instances: number };
  HookContainers: Array<{
    IP: string;
    Container: { Id: string; Name: string; Status: { Pid: number; StartedAt: string; Running: boolean } };
  }>;
}

const META_FIELDS = 'id instances containers { id name nodeId state index }';

/** Records every webhook body as sent (text). */
class Receiver {
  readonly bodies: string[] = [];
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The raw text of every `next` of one metaEvents subscription over graphql-transport-ws. */
async function rawMetaEvents(
  graphqlUrl: string,
  token: string,
): Promise<{ frames: string[]; close(): void }> {
  const socket = new WebSocket(graphqlUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const frames: string[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data) => {
      const text = String(data);
      const type = (JSON.parse(text) as { type: string }).type;
      if (type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: 'subscription { metaEvents { metaId event payload } }' },
          }),
        );
        resolve();
      } else if (type === 'next') frames.push(text);
    });
  });
  return { frames, close: () => socket.close() };
}

/** The digits of the top-level "Timestamp" of a JSON text, as written (no number parsing). */
const timestampDigits = (text: string): string | undefined => /"Timestamp":(\d+)/.exec(text)?.[1];

/**
 * A Humpback v1 user's cluster containers (made as humpback-center makes them: HUMPBACK_CLUSTER_* env
 * only, v1 names) on two real engines; createMeta with the v1 MetaId imports the meta.
 */
describe('importing a Humpback v1 meta', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const names = ['n1', 'n2'];
  const agents = new Map<string, RunningAgent & { address: string }>();
  const receiver = new Receiver();
  const v1GroupId = randomUUID();
  const v1MetaId = randomUUID();
  const name = `v1web-${suffix}`;
  const v1Ids: string[] = [];
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let groupId: string;

  const meta = async (id: string): Promise<MetaView> =>
    (await client.request<{ meta: MetaView }>(`query($id: ID!) { meta(id: $id) { ${META_FIELDS} } }`, { id }))
      .meta;

  /** What humpback-center's createContainer sends to the engine (cluster/engine.go, container.go). */
  const createV1Container = async (engine: string, index: number): Promise<string> => {
    const docker = dockerFor(engineNamed(env, engine));
    const cname = `CLUSTER-${v1GroupId.slice(0, 8)}-${name}-${index}`;
    const c = await docker.createContainer({
      name: cname,
      Image: env.image,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
      Env: [
        `HUMPBACK_CLUSTER_GROUPID=${v1GroupId}`,
        `HUMPBACK_CLUSTER_METAID=${v1MetaId}`,
        `HUMPBACK_CLUSTER_CONTAINER_INDEX=${index}`,
        `HUMPBACK_CLUSTER_CONTAINER_ORIGINALNAME=${cname}`,
      ],
      HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'always' } },
    });
    await c.start();
    return c.id;
  };

  const createMeta = (input: Record<string, unknown>) =>
    client.request<{ createMeta: MetaView }>(
      `mutation($input: CreateMetaInput!) { createMeta(input: $input) { ${META_FIELDS} } }`,
      { input },
    );

  const importInput = (id: string) => ({
    id,
    groupId,
    instances: 2,
    config: {
      name,
      image: env.image,
      networkMode: 'none',
      command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
    },
    webhooks: [{ url: receiver.url, secretToken: 'v1-import-secret' }],
  });

  beforeAll(async () => {
    await receiver.start();
    for (const n of names)
      agents.set(n, await startTestAgent(engineNamed(env, n), tmp.make(`hb-agent-${n}-`)));
    v1Ids.push(await createV1Container('n1', 1), await createV1Container('n2', 2));
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-gw-'),
        HUMPBACK_WEBHOOK_ALLOW: '127.0.0.1/32',
      }),
    });
    client = new TestClient(gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: {
          name: `v1imp-${suffix}`,
          id: v1GroupId,
          clusterMode: true,
          servers: [...agents.values()].map((a) => a.address),
        },
      },
    );
    groupId = createGroup.id;
    expect(groupId).toBe(v1GroupId);
    await waitFor(
      async () => {
        const data = await client.request<{ nodes: Array<{ id: string }> }>(
          'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id } }',
          { g: groupId },
        );
        return data.nodes.length === 2 || undefined;
      },
      { timeoutMs: 20_000, description: 'two HEALTHY nodes' },
    );
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    for (const n of names) {
      const docker = dockerFor(engineNamed(env, n));
      const list = await docker.listContainers({ all: true, filters: { name: [name] } }).catch(() => []);
      for (const c of list)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    for (const a of agents.values()) await a.close().catch(() => undefined);
    await receiver.stop();
    tmp.cleanup();
  });

  it('refuses an id that is not a v1 MetaId, with a clear error', async () => {
    const res = await client.raw('mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }', {
      input: importInput('not-a-uuid'),
    });
    expect(res.errors?.map((e) => [e.extensions?.['code'], e.message])).toEqual([
      [
        'BAD_USER_INPUT',
        'id must be a Humpback v1 MetaId, a UUID such as 9a8b7c6d-0000-4000-8000-000000000002 (got "not-a-uuid")',
      ],
    ]);
  });

  let imported: MetaView;
  let subscription: Awaited<ReturnType<typeof rawMetaEvents>>;

  it('adopts the v1 containers under the v1 MetaId: none recreated, the webhook carries them', async () => {
    // the gateway has read both v1 containers' env (it lists them under the v1 MetaId)
    await waitFor(
      async () => {
        const data = await client.request<{ containers: { nodes: Array<{ metaId: string | null }> } }>(
          'query { containers(first: 500) { nodes { metaId } } }',
        );
        return data.containers.nodes.filter((c) => c.metaId === v1MetaId).length === 2 || undefined;
      },
      { timeoutMs: 15_000, description: 'both v1 containers seen under their MetaId' },
    );
    subscription = await rawMetaEvents(gateway!.url, client.token!);
    imported = (await createMeta(importInput(v1MetaId))).createMeta;
    expect(imported.id).toBe(v1MetaId);
    expect(imported.containers.map((c) => [c.id, c.index, c.state]).sort()).toEqual(
      [
        [v1Ids[0], 1, 'RUNNING'],
        [v1Ids[1], 2, 'RUNNING'],
      ].sort(),
    );
    const body = await waitFor(() => receiver.bodies.find((b) => b.includes('"CreateMetaEvent"')), {
      description: 'CreateMetaEvent webhook',
    });
    const hook = JSON.parse(body) as HookBody;
    expect(hook.MetaBase.MetaId).toBe(v1MetaId);
    expect(hook.HookContainers.map((h) => h.Container.Id).sort()).toEqual([...v1Ids].sort());
    // the group imported under the v1 GroupId owns them: its filtered list has both
    // (the meta filter leaves out single-mode containers of other tests on the group's nodes)
    const inGroup = await client.request<{ containers: { nodes: Array<{ id: string }> } }>(
      'query($g: ID!, $m: ID!) { containers(groupId: $g, metaId: $m, first: 500) { nodes { id } } }',
      { g: groupId, m: v1MetaId },
    );
    expect(inGroup.containers.nodes.map((c) => c.id).sort()).toEqual([...v1Ids].sort());
    for (const h of hook.HookContainers) {
      expect(h.Container.Status.Running).toBe(true);
      expect(h.Container.Status.Pid).toBeGreaterThan(0);
      expect(h.Container.Status.StartedAt).not.toBe('0001-01-01T00:00:00Z');
    }
  });

  it("writes the metaEvents payload's Timestamp with the webhook body's exact digits", async () => {
    const frame = await waitFor(() => subscription.frames.find((f) => f.includes('"CreateMetaEvent"')), {
      description: 'CreateMetaEvent over graphql-ws',
    });
    subscription.close();
    const body = receiver.bodies.find((b) => b.includes('"CreateMetaEvent"'))!;
    const digits = timestampDigits(body);
    expect(digits).toMatch(/^\d{19}$/);
    expect(timestampDigits(frame)).toBe(digits);
    // the rest of the payload is the webhook body, the hook's own secret blanked
    // {"id":"1","type":"next","payload":{"data":{"metaEvents":{..., "payload":<payload>}}}}
    const field = '"event":"CreateMetaEvent","payload":';
    const payload = frame.slice(frame.indexOf(field) + field.length, -'}}}}'.length);
    expect(payload).toBe(body.trimEnd().replace('"SecretToken":"v1-import-secret"', '"SecretToken":""'));
  });

  it("refuses a chosen id to a group's owner who is not an admin", async () => {
    const user = `v1owner-${suffix}`;
    await client.request(
      'mutation($u: String!) { createUser(input: { username: $u, password: "password-123", admin: false }) { id } }',
      { u: user },
    );
    await client.request(
      'mutation($id: ID!, $o: [String!]) { updateGroup(id: $id, input: { owners: $o }) { id } }',
      {
        id: groupId,
        o: [user],
      },
    );
    const owner = new TestClient(gateway!.url);
    await owner.login(user, 'password-123');
    const input = {
      ...importInput(randomUUID()),
      config: { ...importInput(v1MetaId).config, name: `${name}-o` },
    };
    const res = await owner.raw('mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }', {
      input,
    });
    expect(res.errors?.map((e) => [e.extensions?.['code'], e.message])).toEqual([
      ['FORBIDDEN', 'only admins may choose a meta id'],
    ]);
    const group = await owner.raw(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: { name: `v1own-${suffix}`, id: randomUUID(), clusterMode: true },
      },
    );
    expect(group.errors?.map((e) => [e.extensions?.['code'], e.message])).toEqual([
      ['FORBIDDEN', 'only admins may choose a group id'],
    ]);
    await owner.close();
  });

  it('refuses a group id that is taken or not a v1 GroupId', async () => {
    const create = (id: string) =>
      client.raw('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
        input: { name: `v1g-${id.slice(0, 6)}-${suffix}`, id, clusterMode: true },
      });
    expect((await create(v1GroupId)).errors?.map((e) => [e.extensions?.['code'], e.message])).toEqual([
      ['CONFLICT', `a group with id ${v1GroupId} already exists`],
    ]);
    expect((await create('x/y')).errors?.map((e) => [e.extensions?.['code'], e.message])).toEqual([
      ['BAD_USER_INPUT', 'id must be a Humpback v1 GroupId: 8 to 64 letters, digits or dashes (got "x/y")'],
    ]);
  });

  it('refuses the same id again', async () => {
    const res = await client.raw('mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }', {
      input: { ...importInput(v1MetaId), config: { ...importInput(v1MetaId).config, name: `${name}-b` } },
    });
    expect(res.errors?.map((e) => [e.extensions?.['code'], e.message])).toEqual([
      ['CONFLICT', `a meta with id ${v1MetaId} already exists`],
    ]);
  });

  it('scales up beside the v1 instances and back down without recreating them', async () => {
    const up = (
      await client.request<{ updateMeta: MetaView }>(
        `mutation($id: ID!) { updateMeta(id: $id, input: { instances: 4 }) { ${META_FIELDS} } }`,
        { id: v1MetaId },
      )
    ).updateMeta;
    expect(up.containers.map((c) => c.index).sort()).toEqual([1, 2, 3, 4]);
    expect(
      up.containers
        .filter((c) => v1Ids.includes(c.id))
        .map((c) => c.index)
        .sort(),
    ).toEqual([1, 2]);
    const down = (
      await client.request<{ updateMeta: MetaView }>(
        `mutation($id: ID!) { updateMeta(id: $id, input: { instances: 2 }) { ${META_FIELDS} } }`,
        { id: v1MetaId },
      )
    ).updateMeta;
    expect(down.containers.map((c) => c.id).sort()).toEqual([...v1Ids].sort());
    const after = await waitFor(
      async () => {
        const m = await meta(v1MetaId);
        return m.containers.length === 2 ? m : undefined;
      },
      { description: 'two instances' },
    );
    expect(after.containers.map((c) => c.id).sort()).toEqual([...v1Ids].sort());
    const events = receiver.bodies.map((b) => (JSON.parse(b) as HookBody).Event);
    expect(events).toEqual(['CreateMetaEvent', 'UpdateMetaEvent', 'UpdateMetaEvent']);
  });
});
