import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { verifySignature } from '../../scheduler/webhook-signing.js';
import {
  dockerFor,
  engineNamed,
  loadTestEnv,
  startEngine,
  stopEngine,
  waitFor,
} from '../helpers/test-env.js';
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
  imageTag: string;
  containers: ContainerView[];
}
interface NodeView {
  id: string;
  name: string;
  ip: string;
  status: string;
}

const META_FIELDS = 'id instances imageTag containers { id name nodeId state index }';
const SECRET = 'cluster-webhook-secret';

/** A webhook receiver on port 0 that records every request. */
class Receiver {
  readonly received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  private server: Server | undefined;
  url = '';

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  events(): string[] {
    return this.received.map((r) => (JSON.parse(r.body) as { Event: string }).Event);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * Cluster mode on the three real engines of the test environment: an agent per engine, one gateway
 * (embedded store, the leader) with short migration and recovery delays set through its config.
 */
describe('cluster mode on three engines', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const names = ['n1', 'n2', 'n3'];
  const agents = new Map<string, RunningAgent & { address: string }>();
  const receiver = new Receiver();
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let groupId: string;
  let nodes: NodeView[];
  let stoppedEngine: string | undefined;

  const meta = async (id: string): Promise<MetaView> =>
    (await client.request<{ meta: MetaView }>(`query($id: ID!) { meta(id: $id) { ${META_FIELDS} } }`, { id }))
      .meta;

  const running = (m: MetaView, exceptNode?: string) =>
    m.containers.filter((c) => c.state === 'RUNNING' && c.nodeId !== exceptNode);

  const perNode = (m: MetaView): number[] => {
    const counts = new Map<string, number>();
    for (const c of m.containers) counts.set(c.nodeId, (counts.get(c.nodeId) ?? 0) + 1);
    return [...counts.values()].sort();
  };

  const createMeta = async (
    name: string,
    instances: number,
    extra: Record<string, unknown> = {},
  ): Promise<MetaView> =>
    (
      await client.request<{ createMeta: MetaView }>(
        `mutation($input: CreateMetaInput!) { createMeta(input: $input) { ${META_FIELDS} } }`,
        {
          input: {
            groupId,
            instances,
            config: {
              name: `${name}-${suffix}`,
              image: env.image,
              networkMode: 'none',
              command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
            },
            webhooks: [{ url: receiver.url, secretToken: SECRET }],
            ...extra,
          },
        },
      )
    ).createMeta;

  beforeAll(async () => {
    await receiver.start();
    for (const name of names)
      agents.set(name, await startTestAgent(engineNamed(env, name), tmp.make(`hb-agent-${name}-`)));
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-gw-'),
        CENTER_MIGRATE_DELAY: '3',
        CENTER_RECOVERY_INTERVAL: '3',
        // The receiver is on loopback, which webhooks may reach only when an admin allows it.
        HUMPBACK_WEBHOOK_ALLOW: '127.0.0.1/32',
      }),
    });
    client = new TestClient(gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: {
          name: `hbcl-${suffix}`,
          clusterMode: true,
          servers: [...agents.values()].map((a) => a.address),
        },
      },
    );
    groupId = createGroup.id;
    nodes = await waitFor(
      async () => {
        const data = await client.request<{ nodes: NodeView[] }>(
          'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id name ip status } }',
          { g: groupId },
        );
        return data.nodes.length === 3 ? data.nodes : undefined;
      },
      { timeoutMs: 20_000, description: 'three HEALTHY nodes' },
    );
  });

  afterAll(async () => {
    if (stoppedEngine) await startEngine(stoppedEngine).catch(() => undefined);
    await client?.close();
    await gateway?.close();
    for (const name of names) {
      const docker = dockerFor(engineNamed(env, name));
      const list = await docker
        .listContainers({ all: true, filters: { name: [`-${suffix}-`] } })
        .catch(() => []);
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

  let web: MetaView;

  it('creates 6 instances, 2 per node, all RUNNING, and tells metaEvents subscribers', async () => {
    const events = await client.subscribe<{
      metaEvents: {
        event: string;
        metaId: string;
        groupId: string;
        payload: { MetaBase: { Instances: number } };
      };
    }>('subscription($g: ID) { metaEvents(groupId: $g) { event metaId groupId payload } }', { g: groupId });
    web = await createMeta('web', 6);
    const created = await events.next((e) => e.metaEvents.metaId === web.id, 10_000, 'CreateMetaEvent');
    expect(created.metaEvents).toMatchObject({
      event: 'CreateMetaEvent',
      groupId,
      payload: { MetaBase: { Instances: 6 } },
    });
    expect(JSON.stringify(created.metaEvents.payload)).not.toContain(SECRET);
    events.stop();
    expect(web.containers).toHaveLength(6);
    expect(perNode(web)).toEqual([2, 2, 2]);
    expect(web.containers.map((c) => c.index).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(web.containers[0]!.name).toMatch(new RegExp(`^CLUSTER-${groupId.slice(0, 8)}-web-${suffix}-\\d$`));
    await waitFor(async () => running(await meta(web.id)).length === 6 || undefined, {
      timeoutMs: 15_000,
      description: '6 RUNNING',
    });
  });

  it('scales to 9 and back to 3 without touching running instances', async () => {
    const before = new Set(web.containers.map((c) => c.id));
    const nine = (
      await client.request<{ updateMeta: MetaView }>(
        `mutation($id: ID!) { updateMeta(id: $id, input: { instances: 9 }) { ${META_FIELDS} } }`,
        { id: web.id },
      )
    ).updateMeta;
    expect(nine.containers).toHaveLength(9);
    expect(perNode(nine)).toEqual([3, 3, 3]);
    expect(nine.containers.filter((c) => before.has(c.id))).toHaveLength(6);
    const three = (
      await client.request<{ updateMeta: MetaView }>(
        `mutation($id: ID!) { updateMeta(id: $id, input: { instances: 3 }) { ${META_FIELDS} } }`,
        { id: web.id },
      )
    ).updateMeta;
    expect(three.containers.map((c) => c.index).sort()).toEqual([1, 2, 3]);
    expect(three.containers.every((c) => before.has(c.id))).toBe(true);
    web = three;
  });

  it('places by node label', async () => {
    const target = nodes[1]!;
    await client.request(
      'mutation($id: ID!, $l: [LabelInput!]!) { setNodeLabels(nodeId: $id, labels: $l) { id } }',
      {
        id: target.id,
        l: [{ key: 'zone', value: `z-${suffix}` }],
      },
    );
    const pinned = await createMeta('pinned', 2, { constraints: [`node.labels.zone==z-${suffix}`] });
    expect(pinned.containers.map((c) => c.nodeId)).toEqual([target.id, target.id]);
    const avoid = await createMeta('avoid', 2, { constraints: [`node.ip!=${target.ip}`] });
    expect(avoid.containers.some((c) => c.nodeId === target.id)).toBe(false);
    for (const id of [pinned.id, avoid.id])
      await client.request('mutation($id: ID!) { removeMeta(id: $id) }', { id });
  });

  it('rolls back an upgrade to a tag that does not exist, and upgrades to one that does', async () => {
    const code = await client.errorCode(
      'mutation($id: ID!) { upgradeMeta(id: $id, imageTag: "no-such-tag") { id } }',
      {
        id: web.id,
      },
    );
    expect(code).toBe('BAD_USER_INPUT');
    const after = await meta(web.id);
    expect(after.imageTag).toBe('latest');
    expect(after.containers).toHaveLength(3);
    expect(perNode(after)).toEqual(perNode(web));
    expect(
      await client.errorCode('mutation($id: ID!) { upgradeMeta(id: $id, imageTag: "latest") { id } }', {
        id: web.id,
      }),
    ).toBe('BAD_USER_INPUT');
    const v2 = env.imageV2.split(':').pop()!;
    const upgraded = (
      await client.request<{ upgradeMeta: MetaView }>(
        `mutation($id: ID!, $t: String!) { upgradeMeta(id: $id, imageTag: $t) { ${META_FIELDS} } }`,
        { id: web.id, t: v2 },
      )
    ).upgradeMeta;
    expect(upgraded.imageTag).toBe(v2);
    expect(upgraded.containers.map((c) => c.index).sort()).toEqual([1, 2, 3]);
    web = upgraded;
  });

  it('recovery recreates an instance removed by hand', async () => {
    const victim = web.containers.find((c) => c.index === 1)!;
    const node = nodes.find((n) => n.id === victim.nodeId)!;
    const engine = env.engines.find((e) => e.ip === node.ip)!;
    await dockerFor(engine).getContainer(victim.id).remove({ force: true });
    const back = await waitFor(
      async () => {
        const m = await meta(web.id);
        const one = m.containers.find((c) => c.index === 1 && c.id !== victim.id && c.state === 'RUNNING');
        return one && m.containers.length === 3 ? m : undefined;
      },
      { timeoutMs: 20_000, description: 'instance 1 recreated' },
    );
    expect(back.containers.map((c) => c.index).sort()).toEqual([1, 2, 3]);
    await waitFor(async () => receiver.events().includes('RecoveryMetaEvent') || undefined, {
      timeoutMs: 10_000,
      description: 'RecoveryMetaEvent delivered',
    });
    web = back;
  });

  it('migrates the instances of a dead node elsewhere and signs the MigrateMetaEvent', async () => {
    const victim = web.containers[0]!;
    const node = nodes.find((n) => n.id === victim.nodeId)!;
    const engine = env.engines.find((e) => e.ip === node.ip)!;
    const lostIndexes = web.containers.filter((c) => c.nodeId === node.id).map((c) => c.index);
    await agents.get(engine.name)!.close();
    stoppedEngine = engine.name;
    await stopEngine(engine.name);
    const migrated = await waitFor(
      async () => {
        const m = await meta(web.id);
        const live = running(m, node.id);
        return live.length === 3 ? m : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, description: 'instances running off the dead node' },
    );
    const live = running(migrated, node.id);
    expect(live.map((c) => c.index).sort()).toEqual([1, 2, 3]);
    for (const i of lostIndexes) expect(live.find((c) => c.index === i)!.name).toMatch(new RegExp(`-${i}$`));
    const hook = await waitFor(
      async () =>
        receiver.received.find((r) => (JSON.parse(r.body) as { Event: string }).Event === 'MigrateMetaEvent'),
      { timeoutMs: 15_000, description: 'MigrateMetaEvent at the receiver' },
    );
    expect(hook.headers['x-humpback-token']).toBe(SECRET);
    expect(verifySignature(hook.body, SECRET, hook.headers['x-humpback-signature'] as string)).toBe(true);
    const payload = JSON.parse(hook.body) as {
      MetaBase: { MetaId: string; WebHooks: Array<{ Url: string; SecretToken: string }> };
    };
    expect(payload.MetaBase.MetaId).toBe(web.id);
    // v1's body carries the hook's secret; each receiver sees only its own.
    expect(payload.MetaBase.WebHooks).toEqual([{ Url: receiver.url, SecretToken: SECRET }]);
  });

  it('delivers every event once a receiver that was down comes back', async () => {
    const late = new Receiver();
    await late.start();
    const url = late.url;
    const port = Number(new URL(url).port);
    await late.stop();
    const quiet = await createMeta('quiet', 1, { webhooks: [{ url, secretToken: SECRET }] });
    for (const action of ['STOP', 'START', 'RESTART']) {
      await client.request(
        'mutation($id: ID!, $a: ContainerAction!) { operateMeta(id: $id, action: $a) { id } }',
        {
          id: quiet.id,
          a: action,
        },
      );
    }
    const pending = await client.request<{
      webhookDeliveries: Array<{ delivered: boolean; attempts: number }>;
    }>('query($id: ID!) { webhookDeliveries(metaId: $id, first: 10) { delivered attempts } }', {
      id: quiet.id,
    });
    expect(pending.webhookDeliveries).toHaveLength(4);
    expect(pending.webhookDeliveries.every((d) => !d.delivered)).toBe(true);
    const back = new Receiver();
    await back.start(port);
    try {
      await waitFor(async () => (back.received.length >= 4 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 200,
        description: 'four events at the receiver',
      });
      expect(back.events()).toEqual([
        'CreateMetaEvent',
        'OperateMetaEvent',
        'OperateMetaEvent',
        'OperateMetaEvent',
      ]);
      for (const r of back.received) {
        expect(verifySignature(r.body, SECRET, r.headers['x-humpback-signature'] as string)).toBe(true);
      }
      const done = await client.request<{
        webhookDeliveries: Array<{ delivered: boolean; statusCode: number }>;
      }>('query($id: ID!) { webhookDeliveries(metaId: $id, first: 10) { delivered statusCode } }', {
        id: quiet.id,
      });
      expect(done.webhookDeliveries.every((d) => d.delivered && d.statusCode === 200)).toBe(true);
    } finally {
      await back.stop();
      await client.request('mutation($id: ID!) { removeMeta(id: $id) }', { id: quiet.id });
    }
  });

  it('removes the meta and every reachable container', async () => {
    expect(
      (
        await client.request<{ removeMeta: boolean }>('mutation($id: ID!) { removeMeta(id: $id) }', {
          id: web.id,
        })
      ).removeMeta,
    ).toBe(true);
    expect(
      (
        await client.request<{ meta: MetaView | null }>('query($id: ID!) { meta(id: $id) { id } }', {
          id: web.id,
        })
      ).meta,
    ).toBeNull();
    await waitFor(async () => receiver.events().includes('RemoveMetaEvent') || undefined, {
      timeoutMs: 10_000,
      description: 'RemoveMetaEvent delivered',
    });
  });
});
