import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, EmbeddedStore } from '../../core/store/embedded-store.js';
import { openBus } from '../../core/bus/open-bus.js';
import { openStore } from '../../core/store/open-store.js';
import { RedisStore } from '../../core/store/redis-store.js';
import {
  AuditEntryTooLargeError,
  auditEntryBytes,
  StoreConflictError,
  type AttemptLimit,
  type AuditEntry,
  type ContainerRecord,
  type GroupRecord,
  type SettingRecord,
  type Store,
} from '../../core/store/store.js';
import type { UsageSample } from '../../core/store/usage.js';
import { loadTestEnv } from '../helpers/test-env.js';

const testRedisUrl = (): string => loadTestEnv().redisUrl;

interface StoreLimits {
  auditLimit?: number;
  auditMaxBytes?: number;
}

interface Harness {
  /** Opens a fresh, empty store. */
  open(options?: StoreLimits): Promise<Store>;
  /** Removes what the test left behind. */
  cleanup(): Promise<void>;
}

function embeddedHarness(): Harness {
  const dirs: string[] = [];
  return {
    async open(options = {}) {
      const dir = await mkdtemp(join(tmpdir(), 'hb-store-'));
      dirs.push(dir);
      return EmbeddedStore.open(dir, options);
    },
    async cleanup() {
      for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

function redisHarness(): Harness {
  const prefixes: string[] = [];
  return {
    async open(options = {}) {
      const prefix = `hbtest:${randomUUID()}:`;
      prefixes.push(prefix);
      return RedisStore.open(testRedisUrl(), { ...options, keyPrefix: prefix });
    },
    async cleanup() {
      const admin = new Redis(testRedisUrl());
      try {
        for (const prefix of prefixes.splice(0)) {
          const keys: string[] = [];
          for await (const batch of admin.scanStream({ match: `${prefix}*`, count: 1000 }))
            keys.push(...(batch as string[]));
          if (keys.length > 0) await admin.del(...keys);
        }
      } finally {
        await admin.quit();
      }
    },
  };
}

const now = '2026-11-22T03:00:00.000Z';

function group(id: string, name = id): GroupRecord {
  return {
    id,
    name,
    clusterMode: false,
    servers: ['10.0.0.1'],
    owners: ['admin'],
    createdAt: now,
    updatedAt: now,
  };
}

function container(id: string, nodeId = 'n1'): ContainerRecord {
  return {
    id,
    name: `c-${id}`,
    nodeId,
    image: 'busybox',
    state: 'RUNNING',
    status: 'Up',
    labels: {},
    createdAt: now,
  };
}

function audit(id: string, operation = 'createGroup'): AuditEntry {
  return { id, at: now, userId: 'admin', operation, args: { id }, outcome: 'ok' };
}

/** An audit entry of about `bytes` bytes. */
function sizedAudit(id: string, bytes: number): AuditEntry {
  const entry = audit(id);
  return { ...entry, args: { id, pad: 'x'.repeat(Math.max(0, bytes - auditEntryBytes(entry) - 10)) } };
}

const t0 = Date.parse('2026-11-22T03:00:00.000Z');
const attempts = (key: string, over: Partial<AttemptLimit> = {}): AttemptLimit => ({
  key,
  free: 3,
  baseDelayMs: 1000,
  maxDelayMs: 4000,
  windowMs: 60_000,
  ...over,
});

const byId = <T extends { id: string }>(docs: T[]): T[] => [...docs].sort((a, b) => a.id.localeCompare(b.id));

describe.each([
  { name: 'EmbeddedStore', harness: embeddedHarness() },
  { name: 'RedisStore', harness: redisHarness() },
])('Store contract: $name', ({ harness }) => {
  let store: Store;
  const open = async (options?: StoreLimits): Promise<Store> => (store = await harness.open(options));

  afterEach(async () => {
    await store?.close().catch(() => undefined);
    await harness.cleanup();
  });

  it('gets undefined for a missing document and an empty list for an empty collection', async () => {
    await open();
    expect(await store.get('groups', 'nope')).toBeUndefined();
    expect(await store.list('groups')).toEqual([]);
  });

  it('creates, and refuses a second create of the same id with StoreConflictError', async () => {
    await open();
    await store.create('groups', 'g1', group('g1', 'first'));
    const err = await store.create('groups', 'g1', group('g1', 'second')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConflictError);
    expect(err).toMatchObject({ collection: 'groups', id: 'g1' });
    expect((await store.get('groups', 'g1'))?.name).toBe('first');
  });

  it('only one of many concurrent creates of one id wins', async () => {
    await open();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.create('groups', 'race', group('race', `n${i}`))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StoreConflictError);
  });

  it('puts (insert or replace) and lists', async () => {
    await open();
    await store.put('groups', 'g1', group('g1', 'a'));
    await store.put('groups', 'g2', group('g2', 'b'));
    await store.put('groups', 'g1', group('g1', 'c'));
    expect(byId(await store.list('groups')).map((g) => g.name)).toEqual(['c', 'b']);
  });

  it('keeps collections apart', async () => {
    await open();
    await store.put('groups', 'x', group('x'));
    await store.put('settings', 'x', { id: 'x', value: '1' });
    expect(await store.get('groups', 'x')).toEqual(group('x'));
    expect(await store.get('settings', 'x')).toEqual({ id: 'x', value: '1' });
    await store.clear('settings');
    expect(await store.get('groups', 'x')).toEqual(group('x'));
  });

  it('returns copies: changing a returned document does not change the store', async () => {
    await open();
    await store.put('groups', 'g1', group('g1'));
    const got = (await store.get('groups', 'g1'))!;
    got.servers.push('evil');
    const listed = await store.list('groups');
    listed[0]!.name = 'evil';
    expect(await store.get('groups', 'g1')).toEqual(group('g1'));
  });

  it('stores documents as JSON: undefined fields are dropped', async () => {
    await open();
    await store.put('groups', 'g1', { ...group('g1'), description: undefined });
    expect(await store.get('groups', 'g1')).toEqual(group('g1'));
    expect(Object.keys((await store.get('groups', 'g1'))!)).not.toContain('description');
  });

  it('putMany inserts and replaces many documents at once', async () => {
    await open();
    await store.put('containers', 'c0', container('c0', 'old'));
    const docs = Array.from({ length: 1200 }, (_, i) => [`c${i}`, container(`c${i}`)] as const);
    await store.putMany('containers', docs);
    const all = await store.list('containers');
    expect(all).toHaveLength(1200);
    expect(await store.get('containers', 'c0')).toEqual(container('c0'));
    await store.putMany('containers', []);
    expect(await store.list('containers')).toHaveLength(1200);
  });

  it('update creates, changes and deletes, and returns what was written', async () => {
    await open();
    const created = await store.update('settings', 's', (cur) => {
      expect(cur).toBeUndefined();
      return { id: 's', value: '1' };
    });
    expect(created).toEqual({ id: 's', value: '1' });
    const changed = await store.update('settings', 's', (cur) => ({ id: 's', value: `${cur!.value}+` }));
    expect(changed).toEqual({ id: 's', value: '1+' });
    expect(await store.get('settings', 's')).toEqual({ id: 's', value: '1+' });
    expect(await store.update('settings', 's', () => undefined)).toBeUndefined();
    expect(await store.get('settings', 's')).toBeUndefined();
    expect(await store.update('settings', 'absent', () => undefined)).toBeUndefined();
    expect(await store.list('settings')).toEqual([]);
  });

  it('update writes nothing when fn throws', async () => {
    await open();
    await store.put('settings', 's', { id: 's', value: '1' });
    await expect(
      store.update('settings', 's', () => {
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await store.get('settings', 's')).toEqual({ id: 's', value: '1' });
  });

  it('update is atomic: 50 concurrent increments end at exactly 50', async () => {
    await open();
    const increment = (cur: SettingRecord | undefined): SettingRecord => ({
      id: 'counter',
      value: String(Number(cur?.value ?? 0) + 1),
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.update('settings', 'counter', increment)),
    );
    expect((await store.get('settings', 'counter'))?.value).toBe('50');
    // Every increment saw a different value.
    expect(new Set(results.map((r) => r?.value)).size).toBe(50);
  });

  it('delete says whether something was deleted', async () => {
    await open();
    await store.put('groups', 'g1', group('g1'));
    expect(await store.delete('groups', 'g1')).toBe(true);
    expect(await store.delete('groups', 'g1')).toBe(false);
    expect(await store.delete('groups', 'never')).toBe(false);
    expect(await store.get('groups', 'g1')).toBeUndefined();
  });

  it('deleteMany removes the listed documents and ignores unknown ids', async () => {
    await open();
    await store.putMany(
      'containers',
      ['a', 'b', 'c', 'd'].map((id) => [id, container(id)] as const),
    );
    await store.deleteMany('containers', ['a', 'c', 'zz']);
    await store.deleteMany('containers', []);
    expect(byId(await store.list('containers')).map((c) => c.id)).toEqual(['b', 'd']);
  });

  it('clear empties one collection', async () => {
    await open();
    await store.putMany(
      'containers',
      ['a', 'b'].map((id) => [id, container(id)] as const),
    );
    await store.put('groups', 'g1', group('g1'));
    await store.clear('containers');
    await store.clear('metas');
    expect(await store.list('containers')).toEqual([]);
    expect(await store.get('containers', 'a')).toBeUndefined();
    expect(await store.list('groups')).toHaveLength(1);
    await store.put('containers', 'a', container('a'));
    expect(await store.list('containers')).toHaveLength(1);
  });

  it('two instances on the same data see each other and update atomically (Redis: two gateways)', async () => {
    await open();
    if (!(store instanceof RedisStore)) return;
    const other = await RedisStore.open(testRedisUrl(), { keyPrefix: store.keyPrefix });
    try {
      await other.put('groups', 'g1', group('g1'));
      expect(await store.get('groups', 'g1')).toEqual(group('g1'));
      const inc = (cur: SettingRecord | undefined): SettingRecord => ({
        id: 'n',
        value: String(Number(cur?.value ?? 0) + 1),
      });
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? store : other).update('settings', 'n', inc)),
      );
      expect((await store.get('settings', 'n'))?.value).toBe('50');
      // Attempt counts are shared too: 100 attempts over both give exactly the free ones.
      const user = attempts('user:shared', { free: 10 });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? store : other).countAttempt([user], t0)),
      );
      expect(results.filter((r) => r.outcome === 'counted')).toHaveLength(10);
      await other.settleAttempt({ reset: ['user:shared'], release: [] });
      expect(await store.countAttempt([user], t0)).toEqual({ outcome: 'counted', counts: [1] });
    } finally {
      await other.close();
    }
  });

  it('Redis: measures an audit log written before the byte count existed, then keeps it in bytes', async () => {
    await open();
    if (!(store instanceof RedisStore)) return;
    for (let i = 1; i <= 20; i++) await store.appendAudit(sizedAudit(`e${i}`, 1000));
    const admin = new Redis(testRedisUrl());
    try {
      await admin.del(`${store.keyPrefix}audit:bytes`);
    } finally {
      await admin.quit();
    }
    const capped = await RedisStore.open(testRedisUrl(), { keyPrefix: store.keyPrefix, auditMaxBytes: 5000 });
    try {
      await capped.appendAudit(sizedAudit('e21', 1000));
      const listed = await capped.listAudit({ limit: 100 });
      expect(listed.map((e) => e.id)).toEqual(['e21', 'e20', 'e19', 'e18', 'e17']);
    } finally {
      await capped.close();
    }
  });

  it('lists the audit log newest first and pages with before', async () => {
    await open();
    for (let i = 1; i <= 7; i++) await store.appendAudit(audit(`e${i}`));
    const ids = (entries: AuditEntry[]): string[] => entries.map((e) => e.id);
    expect(ids(await store.listAudit({ limit: 3 }))).toEqual(['e7', 'e6', 'e5']);
    expect(ids(await store.listAudit({ limit: 3, before: 'e5' }))).toEqual(['e4', 'e3', 'e2']);
    expect(ids(await store.listAudit({ limit: 3, before: 'e2' }))).toEqual(['e1']);
    expect(ids(await store.listAudit({ limit: 3, before: 'e1' }))).toEqual([]);
    expect(ids(await store.listAudit({ limit: 3, before: 'unknown' }))).toEqual([]);
    expect(ids(await store.listAudit({ limit: 0 }))).toEqual([]);
    expect(ids(await store.listAudit({ limit: 100 }))).toHaveLength(7);
    expect((await store.listAudit({ limit: 1 }))[0]).toEqual(audit('e7'));
  });

  it('keeps audit order for concurrent appends', async () => {
    await open();
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.appendAudit(audit(`e${i}`))));
    const listed = (await store.listAudit({ limit: 100 })).map((e) => e.id);
    expect(listed).toEqual(Array.from({ length: 30 }, (_, i) => `e${29 - i}`));
  });

  it('caps the audit log to the newest entries', async () => {
    await open({ auditLimit: 5 });
    for (let i = 1; i <= 40; i++) await store.appendAudit(audit(`e${i}`));
    const listed = (await store.listAudit({ limit: 100 })).map((e) => e.id);
    expect(listed.slice(0, 5)).toEqual(['e40', 'e39', 'e38', 'e37', 'e36']);
    // The embedded store trims in chunks, so it may keep a few more than the limit; never fewer.
    expect(listed.length).toBeGreaterThanOrEqual(5);
    expect(listed.length).toBeLessThanOrEqual(40);
  });

  it('caps the audit log in bytes, keeping the newest entries, and refuses an entry larger than the cap', async () => {
    await open({ auditMaxBytes: 10_000 });
    for (let i = 1; i <= 60; i++) await store.appendAudit(sizedAudit(`e${i}`, 1000));
    const listed = await store.listAudit({ limit: 1000 });
    expect(listed.reduce((sum, e) => sum + auditEntryBytes(e), 0)).toBeLessThanOrEqual(10_000);
    // The embedded store trims to a little below the cap, so it may keep one less.
    expect(listed.length).toBeGreaterThanOrEqual(8);
    expect(listed.map((e) => e.id)).toEqual(Array.from({ length: listed.length }, (_, i) => `e${60 - i}`));
    await expect(store.appendAudit(sizedAudit('huge', 20_000))).rejects.toBeInstanceOf(
      AuditEntryTooLargeError,
    );
    expect((await store.listAudit({ limit: 1000 })).map((e) => e.id)).toEqual(listed.map((e) => e.id));
  });

  it('counts attempts; after the free ones each waits twice as long as the one before, up to the cap', async () => {
    await open();
    const user = attempts('user:a');
    for (let i = 1; i <= 3; i++)
      expect(await store.countAttempt([user], t0)).toEqual({ outcome: 'counted', counts: [i] });
    // The third was the last free one: the next waits 1 s, then 2 s, then 4 s (the cap), then 4 s.
    expect(await store.countAttempt([user], t0 + 400)).toEqual({ outcome: 'wait', retryAfterMs: 600 });
    expect(await store.countAttempt([user], t0 + 1000)).toEqual({ outcome: 'counted', counts: [4] });
    expect(await store.countAttempt([user], t0 + 2999)).toEqual({ outcome: 'wait', retryAfterMs: 1 });
    expect(await store.countAttempt([user], t0 + 3000)).toEqual({ outcome: 'counted', counts: [5] });
    expect(await store.countAttempt([user], t0 + 3000)).toEqual({ outcome: 'wait', retryAfterMs: 4000 });
    expect(await store.countAttempt([user], t0 + 7000)).toEqual({ outcome: 'counted', counts: [6] });
    expect(await store.countAttempt([user], t0 + 7000)).toEqual({ outcome: 'wait', retryAfterMs: 4000 });
    // Other keys are not affected.
    expect(await store.countAttempt([attempts('user:other')], t0 + 7000)).toEqual({
      outcome: 'counted',
      counts: [1],
    });
  });

  it('counts atomically: of 100 concurrent attempts exactly the free ones are counted', async () => {
    await open();
    const user = attempts('user:b', { free: 10 });
    const results = await Promise.all(Array.from({ length: 100 }, () => store.countAttempt([user], t0)));
    const counts = results.flatMap((r) => (r.outcome === 'counted' ? r.counts : []));
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(results.filter((r) => r.outcome === 'wait')).toHaveLength(90);
  });

  it('counts an attempt for every key or for none: one waiting key holds it back for all', async () => {
    await open();
    const user = attempts('user:c', { free: 1 });
    const ip = attempts('ip:c', { free: 5 });
    expect(await store.countAttempt([user, ip], t0)).toEqual({ outcome: 'counted', counts: [1, 1] });
    expect(await store.countAttempt([user, ip], t0 + 10)).toEqual({ outcome: 'wait', retryAfterMs: 990 });
    // The refused attempt was counted nowhere.
    expect(await store.countAttempt([ip], t0 + 10)).toEqual({ outcome: 'counted', counts: [2] });
  });

  it('settles an attempt: reset forgets a key, release takes the attempt back', async () => {
    await open();
    const user = attempts('user:d', { free: 2 });
    const ip = attempts('ip:d', { free: 2 });
    await store.countAttempt([user, ip], t0);
    await store.countAttempt([user, ip], t0);
    expect(await store.countAttempt([user, ip], t0)).toMatchObject({ outcome: 'wait' });
    await store.settleAttempt({ reset: ['user:d'], release: ['ip:d', 'ip:never-counted'] });
    // The user starts again; the address is back to one attempt, within its free ones.
    expect(await store.countAttempt([user, ip], t0 + 1)).toEqual({ outcome: 'counted', counts: [1, 2] });
    await store.settleAttempt({ reset: [], release: ['ip:d', 'ip:d', 'ip:d'] });
    expect(await store.countAttempt([ip], t0 + 2)).toEqual({ outcome: 'counted', counts: [1] });
    expect(await store.countAttempt([attempts('ip:never-counted')], t0 + 2)).toEqual({
      outcome: 'counted',
      counts: [1],
    });
  });

  it('forgets a key windowMs after its last counted attempt and its wait', async () => {
    await open();
    const user = attempts('user:e', { free: 1, windowMs: 10_000 });
    await store.countAttempt([user], t0); // waits 1 s, forgotten at t0 + 11 s
    expect(await store.countAttempt([user], t0 + 10_999)).toEqual({ outcome: 'counted', counts: [2] });
    // waits 2 s from t0 + 10.999 s, forgotten 10 s later
    expect(await store.countAttempt([user], t0 + 22_998)).toEqual({ outcome: 'counted', counts: [3] });
    expect(await store.countAttempt([user], t0 + 22_998 + 4000 + 10_000)).toEqual({
      outcome: 'counted',
      counts: [1],
    });
  });

  it('keeps usage points per series and range, one per time, newest span and count only', async () => {
    await open();
    const at = (i: number): number => t0 + i * 10_000;
    const sample = (i: number, cpu = i): UsageSample => ({
      at: at(i),
      cpuPercent: cpu + 0.25,
      memoryUsedBytes: 1000 + i,
      networkRxBytes: 10 * i,
      networkTxBytes: undefined,
    });
    expect(await store.usageHistory(['container:a'], 'HOUR', 0)).toEqual([[]]);
    await store.addUsage([
      { series: 'container:a', range: 'HOUR', sample: sample(2) },
      { series: 'container:a', range: 'HOUR', sample: sample(1) },
      { series: 'container:b', range: 'HOUR', sample: sample(1, 50) },
      { series: 'container:a', range: 'DAY', sample: { ...sample(0), at: t0 } },
    ]);
    // The same time again replaces its point.
    await store.addUsage([{ series: 'container:a', range: 'HOUR', sample: sample(2, 7) }]);
    expect(await store.usageHistory(['container:a', 'container:b', 'node:x'], 'HOUR', 0)).toEqual([
      [sample(1), sample(2, 7)],
      [sample(1, 50)],
      [],
    ]);
    expect(await store.usageHistory(['container:a'], 'HOUR', at(2))).toEqual([[sample(2, 7)]]);
    expect(await store.usageHistory(['container:a'], 'DAY', 0)).toEqual([[{ ...sample(0), at: t0 }]]);
    // 400 points of 10 s: only the last 360 (one hour) are kept.
    await store.addUsage(
      Array.from({ length: 400 }, (_, i) => ({
        series: 'node:n',
        range: 'HOUR' as const,
        sample: sample(i),
      })),
    );
    const hour = (await store.usageHistory(['node:n'], 'HOUR', 0))[0]!;
    expect(hour).toHaveLength(360);
    expect(hour[0]!.at).toBe(at(40));
    // A point a week after the last drops everything older than the span before it.
    await store.addUsage([{ series: 'node:n', range: 'HOUR', sample: sample(100_000) }]);
    expect(await store.usageHistory(['node:n'], 'HOUR', 0)).toEqual([[sample(100_000)]]);
    await store.deleteUsage(['container:a']);
    expect(await store.usageHistory(['container:a', 'container:b'], 'HOUR', 0)).toEqual([
      [],
      [sample(1, 50)],
    ]);
    expect(await store.usageHistory(['container:a'], 'DAY', 0)).toEqual([[]]);
  });

  it('refuses to work after close', async () => {
    await open();
    await store.put('groups', 'g1', group('g1'));
    await store.close();
    await expect(store.get('groups', 'g1')).rejects.toThrow();
    await expect(store.put('groups', 'g2', group('g2'))).rejects.toThrow();
  });
});

describe('openStore', () => {
  it('opens the embedded store without a Redis URL and the Redis store with one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hb-store-'));
    try {
      const embedded = await openStore({ dataDir: dir });
      expect(embedded).toBeInstanceOf(EmbeddedStore);
      await embedded.close();
      const redis = await openStore({ dataDir: dir, redisUrl: testRedisUrl() });
      expect(redis).toBeInstanceOf(RedisStore);
      await redis.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('warns at open when Redis runs without AOF', async () => {
    const admin = new Redis(testRedisUrl());
    const [, appendonly] = (await admin.call('CONFIG', 'GET', 'appendonly')) as string[];
    await admin.quit();
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const store = await RedisStore.open(testRedisUrl(), {
      logger: log,
      keyPrefix: `hbtest:${randomUUID()}:`,
    });
    await store.close();
    expect(lines.some((l) => l.includes('appendonly no'))).toBe(appendonly === 'no');
  });

  it('fails clearly when Redis cannot be reached', async () => {
    await expect(RedisStore.open('redis://127.0.0.1:1')).rejects.toThrow(
      /cannot connect to Redis at redis:\/\/127\.0\.0\.1:1\/?: .*ECONNREFUSED/,
    );
    await expect(openBus({ redisUrl: 'redis://:secret@127.0.0.1:1' })).rejects.toThrow(
      /cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/?: .*ECONNREFUSED/,
    );
  });
});

describe('EmbeddedStore persistence', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hb-store-persist-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const freshDir = async (): Promise<string> => mkdtemp(join(dir, 'case-'));

  it('keeps usage history across close and reopen', async () => {
    const where = await freshDir();
    const a = await EmbeddedStore.open(where);
    const point: UsageSample = { at: t0, cpuPercent: 1.5, memoryUsedBytes: 2048, networkRxBytes: 3 };
    await a.addUsage([{ series: 'node:n1', range: 'WEEK', sample: point }]);
    await a.close();
    const b = await EmbeddedStore.open(where);
    try {
      expect(await b.usageHistory(['node:n1'], 'WEEK', 0)).toEqual([
        [{ ...point, networkTxBytes: undefined }],
      ]);
    } finally {
      await b.close();
    }
  });

  it('keeps desired state across close and reopen, but not the cache collections', async () => {
    const where = await freshDir();
    const a = await EmbeddedStore.open(where);
    await a.create('groups', 'g1', group('g1'));
    await a.put('groups', 'g2', group('g2'));
    await a.delete('groups', 'g2');
    await a.update('settings', 's', () => ({ id: 's', value: 'x' }));
    await a.put('nodes', 'n1', {
      id: 'n1',
      name: 'n1',
      ip: '10.0.0.1',
      apiAddr: '10.0.0.1:8500',
      status: 'HEALTHY',
      cpus: 2,
      memoryBytes: 1,
      engineLabels: {},
      updatedAt: now,
    });
    await a.putMany('containers', [['c1', container('c1')]]);
    await a.appendAudit(audit('e1'));
    await a.close();

    const b = await EmbeddedStore.open(where);
    try {
      expect(await b.list('groups')).toEqual([group('g1')]);
      expect(await b.get('settings', 's')).toEqual({ id: 's', value: 'x' });
      expect(await b.list('nodes')).toEqual([]);
      expect(await b.list('containers')).toEqual([]);
      expect(await b.listAudit({ limit: 10 })).toEqual([audit('e1')]);
    } finally {
      await b.close();
    }
  });

  it('refuses a second open of the same directory, and allows it after close', async () => {
    const where = await freshDir();
    const a = await EmbeddedStore.open(where);
    await expect(EmbeddedStore.open(where)).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(EmbeddedStore.open(join(where, '.'))).rejects.toThrow(/in use by process/);
    await a.close();
    const b = await EmbeddedStore.open(where);
    await b.close();
  });

  it('tolerates a torn last journal line', async () => {
    const where = await freshDir();
    const a = await EmbeddedStore.open(where);
    await a.put('groups', 'g1', group('g1'));
    await a.close();
    // As a crash in the middle of a write would leave it: one complete line, then a partial one.
    const journal = (await readdir(where)).find((f) => f.startsWith('journal-'))!;
    await appendFile(
      join(where, journal),
      `${JSON.stringify({ op: 'put', c: 'groups', id: 'g2', doc: group('g2') })}\n{"op":"put","c":"groups","id":"g3","doc":{"id":"g3","na`,
    );

    const b = await EmbeddedStore.open(where);
    try {
      expect(byId(await b.list('groups')).map((g) => g.id)).toEqual(['g1', 'g2']);
      // Appending after the cut must not glue onto the torn bytes.
      await b.put('groups', 'g4', group('g4'));
    } finally {
      await b.close();
    }
    const c = await EmbeddedStore.open(where);
    expect(byId(await c.list('groups')).map((g) => g.id)).toEqual(['g1', 'g2', 'g4']);
    await c.close();
  });

  it('loses nothing acknowledged when the writing process is killed with SIGKILL, again and again', async () => {
    const where = await freshDir();
    // Different kill points; the small compaction size makes kills land in compactions too.
    for (const killAfter of [300, 1500, 2500]) {
      const acked = await killWriterAfter(where, killAfter);
      const store = await EmbeddedStore.open(where);
      try {
        const settings = new Map((await store.list('settings')).map((s) => [s.id, s.value]));
        for (const id of acked.puts) expect(settings.get(id), id).toBe(`v${id.slice(1)}`);
        expect(Number(settings.get('counter'))).toBeGreaterThanOrEqual(acked.counter);
        const logged = new Set((await store.listAudit({ limit: 10_000 })).map((e) => e.id));
        for (const id of acked.audits) expect(logged.has(id), id).toBe(true);
        expect(acked.puts.size).toBeGreaterThan(killAfter / 4);
      } finally {
        await store.close();
      }
    }
  });
});

/**
 * Runs test/helpers/embedded-store-writer.ts on `where` and kills it with SIGKILL once it has
 * acknowledged `acks` writes; returns every write it acknowledged.
 */
async function killWriterAfter(
  where: string,
  acks: number,
): Promise<{ puts: Set<string>; audits: Set<string>; counter: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/embedded-store-writer.ts', where, '8192'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  const acked = { puts: new Set<string>(), audits: new Set<string>(), counter: 0 };
  let seen = 0;
  let childPid = 0;
  const lines = createInterface({ input: child.stdout });
  const drained = new Promise<void>((resolve) => lines.once('close', resolve));
  const enough = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`only ${seen} acknowledged writes in 30 s`)), 30_000);
    lines.on('line', (line) => {
      const [kind, value = ''] = line.split(' ');
      if (kind === 'ready') childPid = Number(value);
      else if (kind === 'put') acked.puts.add(value);
      else if (kind === 'audit') acked.audits.add(value);
      else if (kind === 'counter') acked.counter = Math.max(acked.counter, Number(value));
      if (++seen === acks) {
        clearTimeout(deadline);
        resolve();
      }
    });
  });
  try {
    await enough;
    // While the writer holds the directory, this process may not open it.
    await expect(EmbeddedStore.open(where)).rejects.toThrow(`in use by process ${childPid}`);
  } finally {
    child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  // Lines already in the pipe when the kill landed were acknowledged too.
  await drained;
  return acked;
}
