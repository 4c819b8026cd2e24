import { readFileSync } from 'node:fs';
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
import { buildHookPayload, encodeHookBody, type HookPayload } from '../../scheduler/webhook-payload.js';
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
  async publishMany(channel: string, messages: readonly unknown[]): Promise<void> {
    for (const m of messages) await this.publish(channel, m);
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

  it("encodes humpback-center's Hook byte for byte, each receiver with its own secret only", () => {
    const m = meta('http://x/', {
      webhooks: [
        { url: 'http://x/', secretToken: 's3cret-token' },
        { url: 'http://y/?a=1&b=<2>', secretToken: 'other-secret' },
      ],
      constraints: ['node==n1'],
      config: {
        name: 'web',
        image: 'humpback-test/busybox:latest',
        command: ['sleep', '3600'],
        env: ['A=1'],
        networkMode: 'bridge',
        ports: [{ privatePort: 80, publicPort: 8080 }],
        volumes: [{ containerPath: '/data', hostPath: '/srv/data', readOnly: true }],
        restartPolicy: 'always',
        labels: { z: '1', a: '2' },
        memoryMB: 64,
      },
    });
    const payload = buildHookPayload(
      'CreateMetaEvent',
      m,
      [
        {
          container: container(2),
          node: { ip: '10.0.0.2', name: 'n1' },
          detail: {
            pid: 4242,
            exitCode: 0,
            error: '',
            oomKilled: false,
            startedAt: '2023-11-14T22:13:20.123456789Z',
            finishedAt: '0001-01-01T00:00:00Z',
          },
        },
        { container: container(1), node: undefined },
      ],
      1_700_000_000_123,
    );
    const body = encodeHookBody(payload, 'other-secret', 1);
    const config = {
      Id: '',
      Image: 'humpback-test/busybox:latest',
      Command: 'sleep 3600',
      CommandWithoutEntryPoint: '',
      Name: 'web',
      Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', Ip: '' }],
      Volumes: [{ ContainerVolume: '/data', HostVolume: '/srv/data', BindMount: 'ro' }],
      Dns: null,
      Env: ['A=1'],
      HostName: '',
      NetworkMode: 'bridge',
      RestartPolicy: 'always',
      Extrahosts: null,
      Memory: 64,
      Links: null,
      Ulimits: null,
      Labels: { a: '2', z: '1' },
      LogConfig: { Type: '', Config: null },
    };
    const instance = (index: number, pid: number) => ({
      ...config,
      Id: `c${index}`,
      Name: `CLUSTER-group-01-web-${index}`,
      Env: [
        'A=1',
        'HUMPBACK_CLUSTER_GROUPID=group-0123456789',
        'HUMPBACK_CLUSTER_METAID=meta-1',
        `HUMPBACK_CLUSTER_CONTAINER_INDEX=${index}`,
        'HUMPBACK_CLUSTER_CONTAINER_ORIGINALNAME=web',
      ],
      Status: {
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: pid,
        ExitCode: 0,
        Error: '',
        StartedAt: '@time@',
        FinishedAt: '@time@',
      },
      Labels: {},
    });
    const golden = goldenHook({
      Timestamp: '@timestamp@',
      Event: 'CreateMetaEvent',
      MetaBase: {
        GroupId: '@group@',
        MetaId: '@meta@',
        IsRemoveDelay: false,
        IsRecovery: true,
        Instances: 2,
        WebHooks: [
          { Url: 'http://x/', SecretToken: '' },
          { Url: 'http://y/?a=1&b=<2>', SecretToken: 'other-secret' },
        ],
        Placement: { Constraints: ['node==n1'], Preferences: null, Platforms: null },
        ImageTag: 'latest',
        Config: config,
        CreateAt: '@time@',
        LastUpdateAt: '@time@',
        AvailableNodesChanged: false,
      },
      HookContainers: [
        { IP: '', Name: '', Container: instance(1, 0) },
        { IP: '10.0.0.2', Name: 'N1', Container: instance(2, 4242) },
      ],
    });
    expect(normalise(body)).toBe(golden);
    // The exact int64: ms * 10^6 written as an integer, never in float notation.
    expect(body.startsWith('{"Timestamp":1700000000123000000,"Event":')).toBe(true);
    expect(body).toContain('"CreateAt":1795305600,"LastUpdateAt":1795305600,');
    expect(body).toContain('"Url":"http://y/?a=1\\u0026b=\\u003c2\\u003e"');
    expect(body).not.toContain('s3cret');
    // Docker's times as the inspect gave them; an instance with no inspect has Go's zero time.
    expect(body).toContain(
      '"StartedAt":"2023-11-14T22:13:20.123456789Z","FinishedAt":"0001-01-01T00:00:00Z"',
    );
    expect(body).toContain('"Pid":0,"ExitCode":0,"Error":"","StartedAt":"0001-01-01T00:00:00Z"');
    // What subscribers get: the same object with no secret at all, and the same Timestamp digits.
    expect(JSON.stringify(payload)).not.toContain('secret');
    expect(JSON.stringify(payload.Timestamp)).toBe('1700000000123000000');
  });
});

const SPEC = JSON.parse(readFileSync(new URL('../fixtures/webhook-v1.json', import.meta.url), 'utf8')) as {
  fields: Field[];
  definitions: { Container: Field[] };
};

interface Field {
  key: string;
  type: string;
  omitempty?: boolean;
  fields?: Field[];
  items?: Field[];
  ref?: string;
}

/** Values in Go's marshal order, as humpback-center would write them, taken from webhook-v1.json. */
function goldenValue(fields: Field[], value: Record<string, unknown>): string {
  const known = new Set(fields.map((f) => f.key));
  const stray = Object.keys(value).filter((k) => !known.has(k));
  if (stray.length) throw new Error(`not in webhook-v1.json: ${stray.join(', ')}`);
  const parts: string[] = [];
  for (const field of fields) {
    const v = value[field.key];
    if (v === undefined) {
      if (!field.omitempty) throw new Error(`${field.key} is not omitempty in webhook-v1.json`);
      continue;
    }
    parts.push(`${JSON.stringify(field.key)}:${goldenOf(field, v)}`);
  }
  return `{${parts.join(',')}}`;
}

function goldenOf(field: Field, v: unknown): string {
  if (v === null) {
    if (!field.type.includes('null')) throw new Error(`${field.key} may not be null`);
    return 'null';
  }
  const sub = field.ref ? SPEC.definitions.Container : field.fields;
  if (sub) return goldenValue(sub, v as Record<string, unknown>);
  if (field.items)
    return `[${(v as Array<Record<string, unknown>>).map((i) => goldenValue(field.items!, i)).join(',')}]`;
  if (typeof v === 'string' && /^@.*@$/.test(v) && !field.type.startsWith('string')) return v;
  const expected = field.type.split(/[ <|]/)[0]!;
  const actual = Array.isArray(v) ? 'array' : typeof v === 'number' ? 'integer' : typeof v;
  if (expected !== actual) throw new Error(`${field.key}: ${actual} where webhook-v1.json has ${field.type}`);
  return JSON.stringify(v).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

function goldenHook(value: Record<string, unknown>): string {
  return `${goldenValue(SPEC.fields, value)}\n`;
}

/** Ids and times replaced, so the golden text says only what is fixed by the format. */
function normalise(body: string): string {
  return body
    .replace(/^\{"Timestamp":\d+,/, '{"Timestamp":@timestamp@,')
    .replaceAll('"group-0123456789"', '"@group@"')
    .replaceAll('"meta-1"', '"@meta@"')
    .replace(/"(CreateAt|LastUpdateAt)":\d+/g, '"$1":@time@')
    .replace(/"(StartedAt|FinishedAt)":"[^"]*"/g, '"$1":"@time@"');
}

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
          payloadJson: encodeHookBody(payload).trimEnd(),
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
    expect(req!.headers['content-type']).toBe('application/json;charset=utf-8');
    const sent = JSON.parse(req!.body) as HookPayload;
    expect([sent.Event, sent.HookContainers.map((c) => c.IP), sent.MetaBase.WebHooks]).toEqual([
      'UpgradeMetaEvent',
      ['10.0.0.1'],
      [{ Url: receiver.url, SecretToken: 's3cret-token' }],
    ]);
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
