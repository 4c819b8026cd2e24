import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBus } from '../../core/bus.js';
import { loadGatewayConfig } from '../../core/config.js';
import { OutboundUrlPolicy } from '../../core/outbound-url.js';
import { EmbeddedStore } from '../../core/store/embedded-store.js';
import type { ContainerRecord, MetaRecord } from '../../core/store/store.js';
import { CHANNEL } from '../../core/bus/channels.js';
import { WebhookDispatcher } from '../../scheduler/webhook-dispatcher.js';
import { buildHookPayload } from '../../scheduler/webhook-payload.js';
import {
  exponentialBackoff,
  signBody,
  verifySignature,
  webhookHeaders,
  type RetryPolicy,
} from '../../scheduler/webhook-signing.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver on port 0; `respond` decides each status. */
class Receiver {
  readonly received: Received[] = [];
  respond: (n: number) => number | 'hang' = () => 200;
  private server: Server | undefined;
  private waiters: Array<{ count: number; resolve: () => void }> = [];
  port = 0;
  calls = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = this.respond(++this.calls);
        if (status === 'hang') return;
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = status;
        res.end();
        for (const w of [...this.waiters]) {
          if (this.ok().length >= w.count) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  ok(): Received[] {
    return this.received;
  }

  /** Resolves when `count` requests arrived; rejects after `ms`. */
  waitFor(count: number, ms = 5000): Promise<void> {
    if (this.ok().length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.ok().length} of ${count} requests`)), ms);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
}

class MemoryBus implements EventBus {
  readonly published: Array<{ channel: string; message: unknown }> = [];
  async publish(channel: string, message: unknown): Promise<void> {
    this.published.push({ channel, message });
  }
  async subscribe(): Promise<() => Promise<void>> {
    return async () => undefined;
  }
  async close(): Promise<void> {}
}

const fastPolicy: RetryPolicy = { maxAttempts: 1000, delayMs: () => 20 };

// The receivers are on loopback, which webhooks may reach only when an admin allows it.
const loopbackAllowed = new OutboundUrlPolicy({
  allow: loadGatewayConfig({
    HUMPBACK_AGENT_TOKEN: 'unit-test-agent-token',
    HUMPBACK_WEBHOOK_ALLOW: '127.0.0.1/32',
  }).webhookAllow,
});

function meta(url: string, over: Partial<MetaRecord> = {}): MetaRecord {
  return {
    id: 'meta-1',
    groupId: 'group-0123456789',
    name: 'web',
    image: 'humpback-test/busybox',
    imageTag: 'latest',
    instances: 2,
    config: { name: 'web', image: 'humpback-test/busybox:latest', command: ['sleep', '3600'] },
    constraints: [],
    webhooks: [{ url, secretToken: 's3cret-token' }],
    removeDelay: false,
    recovery: true,
    createdAt: '2026-11-22T00:00:00.000Z',
    updatedAt: '2026-11-22T00:00:00.000Z',
    ...over,
  };
}

const container = (index: number): ContainerRecord => ({
  id: `c${index}`,
  name: `CLUSTER-group-01-web-${index}`,
  nodeId: 'n1',
  image: 'humpback-test/busybox:latest',
  state: 'RUNNING',
  status: 'Up 1 second',
  labels: {},
  groupId: 'group-0123456789',
  metaId: 'meta-1',
  index,
  createdAt: '2026-11-22T00:00:00.000Z',
});

describe('webhook signing and backoff', () => {
  it('signs the raw body with HMAC-SHA256', () => {
    expect(signBody('{"a":1}', 'key')).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('{"a":1}', 'key', signBody('{"a":1}', 'key'))).toBe(true);
    expect(verifySignature('{"a":2}', 'key', signBody('{"a":1}', 'key'))).toBe(false);
    expect(verifySignature('{"a":1}', 'other', signBody('{"a":1}', 'key'))).toBe(false);
    expect(verifySignature('{"a":1}', 'key', undefined)).toBe(false);
  });

  it('matches a known HMAC-SHA256 vector (RFC 4231 case 2)', () => {
    expect(signBody('what do ya want for nothing?', 'Jefe')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('sends token and signature only with a secret', () => {
    expect(webhookHeaders('{}', 'tok')).toMatchObject({
      'X-Humpback-Token': 'tok',
      'X-Humpback-Signature': signBody('{}', 'tok'),
    });
    expect(webhookHeaders('{}', undefined)).not.toHaveProperty('X-Humpback-Token');
  });

  it('backs off exponentially with jitter and a cap', () => {
    const low = exponentialBackoff({ baseMs: 1000, maxMs: 10_000, random: () => 0 });
    const high = exponentialBackoff({ baseMs: 1000, maxMs: 10_000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map((n) => low.delayMs(n))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 3, 4, 5].map((n) => high.delayMs(n))).toEqual([1000, 2000, 4000, 8000, 10_000]);
    expect(exponentialBackoff().maxAttempts).toBe(10);
  });

  it("builds Humpback's payload without secrets", () => {
    const payload = buildHookPayload(
      'CreateMetaEvent',
      meta('http://x/'),
      [
        { container: container(1), node: { ip: '10.0.0.2', name: 'n1' } },
        { container: container(0), node: undefined },
      ],
      1_700_000_000_000,
    );
    expect(payload).toMatchObject({
      Timestamp: 1_700_000_000_000_000_000,
      Event: 'CreateMetaEvent',
      MetaBase: {
        GroupId: 'group-0123456789',
        MetaId: 'meta-1',
        Instances: 2,
        WebHooks: [{ Url: 'http://x/' }],
        ImageTag: 'latest',
      },
    });
    expect(payload.HookContainers.map((c) => [c.IP, c.Container.Index])).toEqual([
      ['', 0],
      ['10.0.0.2', 1],
    ]);
    expect(JSON.stringify(payload)).not.toContain('s3cret');
  });
});

describe('webhook dispatcher', () => {
  let dir: string;
  let store: EmbeddedStore;
  let receiver: Receiver;
  const dispatchers: WebhookDispatcher[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hb-webhook-'));
    store = await EmbeddedStore.open(dir);
    receiver = new Receiver();
    await receiver.start();
  });

  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
    await receiver.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const dispatcher = (options: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {}) => {
    const d = new WebhookDispatcher({
      store,
      policy: fastPolicy,
      pollMs: 50,
      timeoutMs: 500,
      urlPolicy: loopbackAllowed,
      ...options,
    });
    dispatchers.push(d);
    return d;
  };

  it('writes the outbox before delivering and publishes on the bus', async () => {
    const bus = new MemoryBus();
    const d = dispatcher({ bus });
    const { deliveries, payload } = await d.emit('CreateMetaEvent', meta(receiver.url), []);
    expect(deliveries).toHaveLength(1);
    const stored = await store.get('webhookDeliveries', deliveries[0]!.id);
    expect(stored).toMatchObject({
      attempts: 0,
      delivered: false,
      event: 'CreateMetaEvent',
      url: receiver.url,
    });
    expect(bus.published).toEqual([
      {
        channel: CHANNEL.metaEvent,
        message: {
          event: 'CreateMetaEvent',
          timestamp: payload.Timestamp,
          groupId: 'group-0123456789',
          metaId: 'meta-1',
          payload,
        },
      },
    ]);
    expect(receiver.received).toHaveLength(0); // not started: nothing sent
  });

  it('publishes events of metas without webhooks too', async () => {
    const bus = new MemoryBus();
    const { deliveries } = await dispatcher({ bus }).emit('RemoveMetaEvent', meta('', { webhooks: [] }), []);
    expect(deliveries).toHaveLength(0);
    expect(bus.published).toHaveLength(1);
  });

  it('delivers with token and a valid signature, and records the attempt', async () => {
    const d = dispatcher();
    d.start();
    const { deliveries } = await d.emit('UpgradeMetaEvent', meta(receiver.url), [
      { container: container(0), node: { ip: '10.0.0.1', name: 'n1' } },
    ]);
    await receiver.waitFor(1);
    const [req] = receiver.received;
    expect(req!.headers['x-humpback-token']).toBe('s3cret-token');
    expect(verifySignature(req!.body, 's3cret-token', req!.headers['x-humpback-signature'] as string)).toBe(
      true,
    );
    expect(JSON.parse(req!.body)).toMatchObject({
      Event: 'UpgradeMetaEvent',
      HookContainers: [{ IP: '10.0.0.1' }],
    });
    await d.stop();
    const record = await store.get('webhookDeliveries', deliveries[0]!.id);
    expect(record).toMatchObject({ attempts: 1, delivered: true, statusCode: 200 });
    expect(await d.deliveries('meta-1', 10)).toHaveLength(1);
  });

  it('retries failed attempts with backoff until the receiver accepts', async () => {
    receiver.respond = (n) => (n <= 2 ? 500 : 200);
    const d = dispatcher();
    d.start();
    const { deliveries } = await d.emit('OperateMetaEvent', meta(receiver.url), []);
    await receiver.waitFor(3);
    await d.stop();
    const record = await store.get('webhookDeliveries', deliveries[0]!.id);
    expect(record).toMatchObject({ attempts: 3, delivered: true, statusCode: 200 });
  });

  it('times out a hanging receiver and retries', async () => {
    receiver.respond = (n) => (n === 1 ? 'hang' : 200);
    const d = dispatcher({ timeoutMs: 100 });
    d.start();
    const { deliveries } = await d.emit('OperateMetaEvent', meta(receiver.url), []);
    await receiver.waitFor(1);
    await d.stop();
    const record = await store.get('webhookDeliveries', deliveries[0]!.id);
    expect(record).toMatchObject({ attempts: 2, delivered: true });
  });

  it('gives up after maxAttempts', async () => {
    receiver.respond = () => 503;
    const d = dispatcher({ policy: { maxAttempts: 3, delayMs: () => 5 } });
    d.start();
    const { deliveries } = await d.emit('OperateMetaEvent', meta(receiver.url), []);
    await receiver.waitFor(3);
    await new Promise((r) => setTimeout(r, 100));
    await d.stop();
    expect(receiver.received).toHaveLength(3);
    expect(await store.get('webhookDeliveries', deliveries[0]!.id)).toMatchObject({
      attempts: 3,
      delivered: false,
      statusCode: 503,
      error: 'answered 503',
    });
  });

  it('refuses a receiver the URL policy does not allow, without contacting it', async () => {
    const d = dispatcher({
      urlPolicy: new OutboundUrlPolicy(),
      policy: { maxAttempts: 1, delayMs: () => 5 },
    });
    d.start();
    const { deliveries } = await d.emit('CreateMetaEvent', meta(receiver.url), []);
    await d.stop();
    await d.flush();
    const record = await store.get('webhookDeliveries', deliveries[0]!.id);
    expect(record).toMatchObject({
      attempts: 1,
      delivered: false,
      error: 'refused: 127.0.0.1 is a loopback address',
    });
    expect(record?.statusCode).toBeUndefined();
    expect(receiver.calls).toBe(0);
  });

  it('delivers every event, in order, once a receiver that was down comes back', async () => {
    const port = receiver.port;
    await receiver.stop();
    const d = dispatcher();
    d.start();
    const url = `http://127.0.0.1:${port}/hook`;
    const events = ['CreateMetaEvent', 'UpdateMetaEvent', 'OperateMetaEvent', 'RemoveMetaEvent'] as const;
    for (const e of events) await d.emit(e, meta(url), []);
    await new Promise((r) => setTimeout(r, 150));
    const pending = await d.deliveries('meta-1', 10);
    expect(pending.every((p) => !p.delivered)).toBe(true);
    expect(pending.some((p) => p.attempts >= 1)).toBe(true);
    receiver = new Receiver();
    await receiver.start(port);
    await receiver.waitFor(events.length);
    expect(receiver.received.map((r) => JSON.parse(r.body).Event)).toEqual([...events]);
  });

  it('deletes finished entries after the retention time and keeps pending ones', async () => {
    const d = dispatcher({ retainMs: 300 });
    d.start();
    const delivered = await d.emit('CreateMetaEvent', meta(receiver.url), []);
    await receiver.waitFor(1);
    await d.stop();
    const dead = `http://127.0.0.1:${receiver.port}/x`;
    await receiver.stop();
    const pending = await d.emit('UpdateMetaEvent', meta(dead), []);
    await new Promise((r) => setTimeout(r, 500));
    await d.flush();
    expect(await store.get('webhookDeliveries', delivered.deliveries[0]!.id)).toBeUndefined();
    expect(await store.get('webhookDeliveries', pending.deliveries[0]!.id)).toMatchObject({
      delivered: false,
    });
  });

  it('picks up undelivered entries left by an earlier process', async () => {
    const first = dispatcher();
    await first.emit('MigrateMetaEvent', meta(receiver.url), []); // written, never started
    await first.stop();
    await store.close();
    store = await EmbeddedStore.open(dir);
    const second = dispatcher();
    second.start();
    await receiver.waitFor(1);
    expect(JSON.parse(receiver.received[0]!.body).Event).toBe('MigrateMetaEvent');
  });
});
