import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventBus } from '../../core/bus.js';
import { LocalBus } from '../../core/bus/local-bus.js';
import { openBus } from '../../core/bus/open-bus.js';
import { RedisBus } from '../../core/bus/redis-bus.js';
import { loadTestEnv } from '../helpers/test-env.js';

const testRedisUrl = (): string => loadTestEnv().redisUrl;

/** Collects messages and resolves once `count` have arrived, or fails at the deadline. */
function collector(count: number, deadlineMs = 5000) {
  const messages: unknown[] = [];
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(
    () => reject(new Error(`got ${messages.length} of ${count} messages`)),
    deadlineMs,
  );
  const handler = (message: unknown): void => {
    messages.push(message);
    if (messages.length === count) {
      clearTimeout(timer);
      resolve();
    }
  };
  return { messages, handler, done };
}

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

describe.each([
  { name: 'LocalBus', open: async (): Promise<EventBus> => new LocalBus() },
  {
    name: 'RedisBus',
    open: async (): Promise<EventBus> =>
      RedisBus.open(testRedisUrl(), { channelPrefix: `hbtest:${randomUUID()}:` }),
  },
])('EventBus: $name', ({ open }) => {
  const bus = async (): Promise<EventBus> => {
    const b = await open();
    buses.push(b);
    return b;
  };

  it('delivers every message to several subscribers, in publish order', async () => {
    const b = await bus();
    const subs = [collector(200), collector(200), collector(200)];
    for (const s of subs) await b.subscribe('events', s.handler);
    for (let i = 0; i < 200; i++) void b.publish('events', { i });
    await Promise.all(subs.map((s) => s.done));
    const expected = Array.from({ length: 200 }, (_, i) => ({ i }));
    for (const s of subs) expect(s.messages).toEqual(expected);
  });

  it('calls handlers asynchronously, never inside publish', async () => {
    const b = await bus();
    const c = collector(1);
    await b.subscribe('events', c.handler);
    const publishing = b.publish('events', 'x');
    expect(c.messages).toEqual([]);
    await publishing;
    await c.done;
    expect(c.messages).toEqual(['x']);
  });

  it('keeps channels apart and sends JSON copies', async () => {
    const b = await bus();
    const a = collector(1);
    const other = collector(1);
    await b.subscribe('a', a.handler);
    await b.subscribe('b', other.handler);
    const at = new Date('2026-11-22T03:00:00Z');
    await b.publish('a', { at, skip: undefined });
    await b.publish('b', 2);
    await Promise.all([a.done, other.done]);
    expect(a.messages).toEqual([{ at: '2026-11-22T03:00:00.000Z' }]);
    expect(other.messages).toEqual([2]);
  });

  it('stops delivering after unsubscribe, to that handler only', async () => {
    const b = await bus();
    const stays = collector(3);
    const leaves: unknown[] = [];
    await b.subscribe('events', stays.handler);
    const unsubscribe = await b.subscribe('events', (m) => leaves.push(m));
    await b.publish('events', 1);
    // Deliveries are ordered, so once `stays` has seen 1 the other handler has too.
    await expect.poll(() => stays.messages.length).toBe(1);
    await unsubscribe();
    await unsubscribe();
    await b.publish('events', 2);
    await b.publish('events', 3);
    await stays.done;
    expect(leaves).toEqual([1]);
  });

  it('unsubscribing the last handler and subscribing again still delivers', async () => {
    const b = await bus();
    const first = await b.subscribe('events', () => undefined);
    await first();
    const c = collector(1);
    await b.subscribe('events', c.handler);
    await b.publish('events', 'again');
    await c.done;
    expect(c.messages).toEqual(['again']);
  });

  it('a throwing handler does not stop the others', async () => {
    const b = await bus();
    await b.subscribe('events', () => {
      throw new Error('boom');
    });
    const c = collector(2);
    await b.subscribe('events', c.handler);
    await b.publish('events', 1);
    await b.publish('events', 2);
    await c.done;
    expect(c.messages).toEqual([1, 2]);
  });

  it('refuses to publish what is not JSON', async () => {
    const b = await bus();
    await expect(b.publish('events', undefined)).rejects.toThrow(TypeError);
  });
});

describe('RedisBus across gateways', () => {
  it('two RedisBus instances on one Redis see each other’s messages', async () => {
    const channelPrefix = `hbtest:${randomUUID()}:`;
    const a = await RedisBus.open(testRedisUrl(), { channelPrefix });
    const b = await RedisBus.open(testRedisUrl(), { channelPrefix });
    buses.push(a, b);
    const onA = collector(2);
    const onB = collector(2);
    await a.subscribe('events', onA.handler);
    await b.subscribe('events', onB.handler);
    await a.publish('events', 'from a');
    await b.publish('events', 'from b');
    await Promise.all([onA.done, onB.done]);
    expect(onA.messages).toEqual(onB.messages);
    expect(new Set(onA.messages)).toEqual(new Set(['from a', 'from b']));
  });

  it('subscribes again by itself after the connection is killed', async () => {
    const connectionName = `hbtest-sub-${randomUUID().slice(0, 8)}`;
    const bus = await RedisBus.open(testRedisUrl(), {
      channelPrefix: `hbtest:${randomUUID()}:`,
      connectionName,
    });
    buses.push(bus);
    const before = collector(1);
    const after = collector(1);
    await bus.subscribe('events', before.handler);
    await bus.publish('events', 'before');
    await before.done;

    const reconnected = new Promise<void>((resolve) => bus.onReconnect(resolve));
    const admin = new Redis(testRedisUrl());
    try {
      const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
      const line = list.split('\n').find((l) => l.includes(` name=${connectionName} `));
      const id = /(?:^|\s)id=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      expect(await admin.call('CLIENT', 'KILL', 'ID', id!)).toBe(1);
    } finally {
      await admin.quit();
    }
    await reconnected;
    await bus.subscribe('events', after.handler);
    await bus.publish('events', 'after');
    await after.done;
    expect(before.messages).toEqual(['before', 'after']);
  });
});

describe('openBus', () => {
  it('opens a LocalBus without a Redis URL and a RedisBus with one', async () => {
    const local = await openBus({});
    const redis = await openBus({ redisUrl: testRedisUrl() });
    buses.push(local, redis);
    expect(local).toBeInstanceOf(LocalBus);
    expect(redis).toBeInstanceOf(RedisBus);
  });
});
