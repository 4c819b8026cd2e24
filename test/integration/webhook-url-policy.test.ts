import { randomBytes } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { verifySignature } from '../../scheduler/webhook-signing.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import { TempDirs, TestClient, gatewayConfig, startTestAgent, startTestGateway } from './gateway-harness.js';

const SECRET = 'policy-webhook-secret';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on `host`, port 0, that records every request; `/fail` answers 503. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(readonly host: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = path === '/fail' ? 503 : 200;
        res.end('receiver text that must not show');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, this.host, r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string, host = this.host): string {
    return `http://${host}:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

interface DeliveryView {
  url: string;
  event: string;
  attempts: number;
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
}

/**
 * Webhook URLs on the real gateway, agent and engine: a gateway that allows the test bridge's range
 * (HUMPBACK_WEBHOOK_ALLOW) and resolves a few test names itself, a receiver on loopback (never
 * allowed here) and one on the bridge.
 */
describe('webhook URL policy', () => {
  const env = loadTestEnv();
  const engine = engineNamed(env, 'n1');
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const inside = new Receiver('127.0.0.1');
  const bridge = new Receiver(env.bridgeIp);
  // rebind.hook.test answers the bridge the first time (createMeta's check) and loopback after.
  const asked = new Map<string, number>();
  const lookup = async (host: string): Promise<LookupAddress[]> => {
    const n = (asked.get(host) ?? 0) + 1;
    asked.set(host, n);
    const address =
      host === 'allowed.hook.test'
        ? env.bridgeIp
        : host === 'inside.hook.test'
          ? '127.0.0.1'
          : host === 'rebind.hook.test'
            ? n === 1
              ? env.bridgeIp
              : '127.0.0.1'
            : undefined;
    if (address) return [{ address, family: 4 }];
    const { promises } = await import('node:dns');
    return promises.lookup(host, { all: true });
  };
  let agent: (RunningAgent & { address: string }) | undefined;
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let groupId: string;

  const createMeta = (name: string, webhooks: Array<{ url: string; secretToken?: string }>) =>
    client.raw<{ createMeta: { id: string } }>(
      'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }',
      {
        input: {
          groupId,
          instances: 1,
          config: {
            name: `${name}-${suffix}`,
            image: env.image,
            networkMode: 'none',
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          },
          webhooks,
        },
      },
    );

  const deliveries = async (metaId: string): Promise<DeliveryView[]> =>
    (
      await client.request<{ webhookDeliveries: DeliveryView[] }>(
        'query($id: ID!) { webhookDeliveries(metaId: $id, first: 50) { url event attempts delivered statusCode error } }',
        { id: metaId },
      )
    ).webhookDeliveries;

  const metaNames = async (): Promise<string[]> =>
    (
      await client.request<{ metas: Array<{ name: string }> }>(
        'query($g: ID!) { metas(groupId: $g) { name } }',
        {
          g: groupId,
        },
      )
    ).metas.map((m) => m.name);

  beforeAll(async () => {
    await inside.start();
    await bridge.start();
    agent = await startTestAgent(engine, tmp.make('hb-agent-policy-'));
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-gw-policy-'),
        HUMPBACK_WEBHOOK_ALLOW: `${env.bridgeIp}/24`,
      }),
      webhookLookup: lookup,
    });
    client = new TestClient(gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `hbpol-${suffix}`, clusterMode: true, servers: [agent.address] } },
    );
    groupId = createGroup.id;
    await waitFor(
      async () =>
        (
          await client.request<{ nodes: unknown[] }>(
            'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id } }',
            {
              g: groupId,
            },
          )
        ).nodes.length === 1,
      { timeoutMs: 20_000, description: 'the node HEALTHY' },
    );
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    const docker = dockerFor(engine);
    const list = await docker
      .listContainers({ all: true, filters: { name: [`-${suffix}-`] } })
      .catch(() => []);
    for (const c of list)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await agent?.close().catch(() => undefined);
    await inside.stop();
    await bridge.stop();
    tmp.cleanup();
  });

  it('refuses loopback, names of loopback and agent addresses at createMeta, storing nothing', async () => {
    const cases: Array<[string, RegExp]> = [
      [inside.url('/hook'), /^webhooks\[1\]\.url: 127\.0\.0\.1 is a loopback address$/],
      [
        inside.url('/hook', 'localhost'),
        /^webhooks\[1\]\.url: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/,
      ],
      [
        inside.url('/hook', 'inside.hook.test'),
        /^webhooks\[1\]\.url: inside\.hook\.test resolves to 127\.0\.0\.1, a loopback address$/,
      ],
      [
        inside.url('/hook', '[::ffff:127.0.0.1]'),
        /^webhooks\[1\]\.url: ::ffff:7f00:1 is a loopback address \(IPv4 127\.0\.0\.1\)$/,
      ],
      // inside the allowed range, but an agent's: the node's IP, and the agent's API address
      [
        `http://${engine.ip}:8500/`,
        new RegExp(`^webhooks\\[1\\]\\.url: ${engine.ip.replace(/\./g, '\\.')} is an agent's address$`),
      ],
      [`http://${agent!.address}/v1/containers`, /^webhooks\[1\]\.url: 127\.0\.0\.1 is an agent's address$/],
      ['http://user:secret@allowed.hook.test/', /^webhooks\[1\]\.url: credentials in the URL/],
      // (the input type's own URL check answers first, naming the field its way)
      ['gopher://allowed.hook.test:70/', /^webhooks(\[1\]|\.1)\.url: /],
    ];
    for (const [url, message] of cases) {
      const result = await createMeta('refused', [{ url: bridge.url('/first') }, { url }]);
      expect(result.errors?.[0]?.extensions?.code, url).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message, url).toMatch(message);
    }
    expect(await metaNames()).not.toContain(`refused-${suffix}`);
    const containers = await dockerFor(engine).listContainers({
      all: true,
      filters: { name: [`refused-${suffix}`] },
    });
    expect(containers).toEqual([]);
    expect(inside.received).toEqual([]);
    expect(bridge.received).toEqual([]);
  });

  it('delivers to an allowed range, signed, and reports failures in its own words', async () => {
    const created = await createMeta('allowed', [
      { url: bridge.url('/by-ip'), secretToken: SECRET },
      { url: bridge.url('/by-name', 'allowed.hook.test'), secretToken: SECRET },
      { url: bridge.url('/fail') },
    ]);
    expect(created.errors).toBeUndefined();
    const metaId = created.data!.createMeta.id;
    const list = await waitFor(
      async () => {
        const d = await deliveries(metaId);
        return d.length === 3 && d.every((x) => x.attempts >= 1) ? d : undefined;
      },
      { timeoutMs: 15_000, description: 'three deliveries attempted' },
    );
    const byPath = (path: string) => list.find((d) => d.url.endsWith(path))!;
    expect(byPath('/by-ip')).toMatchObject({ delivered: true, statusCode: 200, error: null });
    expect(byPath('/by-name')).toMatchObject({ delivered: true, statusCode: 200, error: null });
    expect(byPath('/fail')).toMatchObject({ delivered: false, statusCode: 503, error: 'answered 503' });

    const byIp = bridge.received.find((r) => r.path === '/by-ip')!;
    expect(JSON.parse(byIp.body)).toMatchObject({ Event: 'CreateMetaEvent' });
    expect(byIp.headers['x-humpback-token']).toBe(SECRET);
    expect(verifySignature(byIp.body, SECRET, byIp.headers['x-humpback-signature'] as string)).toBe(true);
    // Connected to the checked address, with the name the URL gave as Host.
    const byName = bridge.received.find((r) => r.path === '/by-name')!;
    expect(byName.headers.host).toBe(`allowed.hook.test:${bridge.port}`);
    expect(verifySignature(byName.body, SECRET, byName.headers['x-humpback-signature'] as string)).toBe(true);

    // updateMeta checks the same way and leaves the webhooks as they were.
    const update = await client.raw(
      'mutation($id: ID!, $input: UpdateMetaInput!) { updateMeta(id: $id, input: $input) { id } }',
      { id: metaId, input: { webhooks: [{ url: 'http://10.0.0.1/' }] } },
    );
    expect(update.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(update.errors?.[0]?.message).toBe('webhooks[0].url: 10.0.0.1 is a private address');
    const badToken = await client.raw(
      'mutation($id: ID!, $input: UpdateMetaInput!) { updateMeta(id: $id, input: $input) { id } }',
      { id: metaId, input: { webhooks: [{ url: bridge.url('/by-ip'), secretToken: 'line\nbreak' }] } },
    );
    expect(badToken.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(badToken.errors?.[0]?.message).toMatch(/^webhooks\[0\]\.secretToken: /);
    const { meta } = await client.request<{ meta: { webhooks: Array<{ url: string }> } }>(
      'query($id: ID!) { meta(id: $id) { webhooks { url } } }',
      { id: metaId },
    );
    expect(meta.webhooks.map((w) => w.url)).toEqual([
      bridge.url('/by-ip'),
      bridge.url('/by-name', 'allowed.hook.test'),
      bridge.url('/fail'),
    ]);
  });

  it('refuses at delivery a name that resolves to loopback only then, and never contacts it', async () => {
    const url = inside.url('/rebound', 'rebind.hook.test');
    const created = await createMeta('rebind', [{ url, secretToken: SECRET }]);
    expect(created.errors).toBeUndefined();
    const metaId = created.data!.createMeta.id;
    const [delivery] = await waitFor(
      async () => {
        const d = await deliveries(metaId);
        return d.length === 1 && d[0]!.attempts >= 1 ? d : undefined;
      },
      { timeoutMs: 15_000, description: 'the delivery attempted' },
    );
    expect(delivery).toEqual({
      url,
      event: 'CreateMetaEvent',
      attempts: delivery!.attempts,
      delivered: false,
      statusCode: null,
      error: 'refused: rebind.hook.test resolves to 127.0.0.1, a loopback address',
    });
    expect(asked.get('rebind.hook.test')).toBeGreaterThanOrEqual(2);
    expect(inside.received).toEqual([]);
    expect(bridge.received.filter((r) => r.path === '/rebound')).toEqual([]);
  });
});
