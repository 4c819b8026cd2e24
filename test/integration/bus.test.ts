import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventBus } from '../../core/bus.js';
import { LocalBus } from '../../core/bus/local-bus.js';
import { openBus } from '../../core/bus/open-bus.js';
import { RedisBus } from '../../core/bus/redis-bus.js';
import { loadTestEnv, waitFor, freePort } from '../helpers/test-env.js';

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
    const published = Array.from({ length: 200 }, (_, i) => b.publish('events', { i }));
    await Promise.all([...published, ...subs.map((s) => s.done)]);
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

  it('keeps channels apart', async () => {
    const b = await bus();
    const a = collector(1);
    const other = collector(1);
    await b.subscribe('a', a.handler);
    await b.subscribe('b', other.handler);
    await b.publish('a', { at: '2026-11-22T03:00:00.000Z' });
    await b.publish('b', 2);
    await Promise.all([a.done, other.done]);
    expect(a.messages).toEqual([{ at: '2026-11-22T03:00:00.000Z' }]);
    expect(other.messages).toEqual([2]);
  });

  it('hands a batch to the handlers one message at a time, in order with single publishes', async () => {
    const b = await bus();
    const c = collector(6);
    await b.subscribe('events', c.handler);
    await Promise.all([
      b.publish('events', 'first'),
      b.publishMany('events', [{ i: 1 }, { i: 2 }, [3]]),
      b.publishMany('events', []),
      b.publishMany('events', ['alone']),
      b.publish('events', 'last'),
    ]);
    await c.done;
    expect(c.messages).toEqual(['first', { i: 1 }, { i: 2 }, [3], 'alone', 'last']);
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
    await expect(b.publishMany('events', [1, undefined])).rejects.toThrow(TypeError);
  });
});

describe('LocalBus', () => {
  it('hands handlers a JSON copy, as another gateway would get it', async () => {
    const b = new LocalBus();
    buses.push(b);
    const c = collector(2);
    await b.subscribe('events', c.handler);
    const message = { at: new Date('2026-11-22T03:00:00Z'), skip: undefined, list: [1] };
    await b.publish('events', message);
    await b.publishMany('events', [message]);
    await c.done;
    expect(c.messages).toEqual([
      { at: '2026-11-22T03:00:00.000Z', list: [1] },
      { at: '2026-11-22T03:00:00.000Z', list: [1] },
    ]);
    expect(c.messages[0]).not.toBe(c.messages[1]);
  });
});

describe('RedisBus across gateways', () => {
  const pair = async (): Promise<{ a: RedisBus; b: RedisBus; prefix: string }> => {
    const prefix = `hbtest:${randomUUID()}:`;
    const a = await RedisBus.open(testRedisUrl(), { channelPrefix: prefix });
    const b = await RedisBus.open(testRedisUrl(), { channelPrefix: prefix });
    buses.push(a, b);
    return { a, b, prefix };
  };

  it('each bus gets every message once, in order per publisher, its own in-process', async () => {
    const { a, b } = await pair();
    const onA = collector(201);
    const onB = collector(201);
    await a.subscribe('events', onA.handler);
    await b.subscribe('events', onB.handler);
    const published: Array<Promise<void>> = [];
    for (let i = 0; i < 100; i++) {
      published.push(a.publish('events', { from: 'a', i }), b.publish('events', { from: 'b', i }));
    }
    await Promise.all(published);
    // `a` had its own messages in-process and gets `b`'s from Redis in order: `b`'s last word is its
    // last. (`b` has that word in-process at once, maybe before the last of `a`'s has come.)
    await b.publish('events', 'end');
    await Promise.all([onA.done, onB.done]);
    expect(onA.messages.at(-1)).toBe('end');
    expect(onB.messages.filter((m) => m === 'end')).toHaveLength(1);
    for (const messages of [onA.messages, onB.messages]) {
      for (const from of ['a', 'b']) {
        const own = messages.filter((m) => (m as { from?: string }).from === from);
        expect(own).toEqual(Array.from({ length: 100 }, (_, i) => ({ from, i })));
      }
    }
  });

  it('hands its own handlers the published value and the other bus its JSON copy', async () => {
    const { a, b } = await pair();
    const onA = collector(1);
    const onB = collector(1);
    await a.subscribe('events', onA.handler);
    await b.subscribe('events', onB.handler);
    const message = { at: new Date('2026-11-22T03:00:00Z'), skip: undefined };
    await a.publish('events', message);
    await Promise.all([onA.done, onB.done]);
    expect(onA.messages[0]).toBe(message);
    expect(onB.messages).toEqual([{ at: '2026-11-22T03:00:00.000Z' }]);
  });

  it('unpacks a batch from another bus into single messages, in order with its other messages', async () => {
    const { a, b } = await pair();
    const onB = collector(5);
    await b.subscribe('events', onB.handler);
    await a.publish('events', 0);
    await a.publishMany('events', [{ i: 1 }, [2], 'three']);
    await a.publish('events', 4);
    await onB.done;
    expect(onB.messages).toEqual([0, { i: 1 }, [2], 'three', 4]);
  });

  it('takes plain JSON text from any publisher, and drops text that is not JSON', async () => {
    const { a, prefix } = await pair();
    const onA = collector(3);
    await a.subscribe('events', onA.handler);
    const plain = new Redis(testRedisUrl());
    try {
      for (const text of ['{"plain":true}', 'not json', '@12345678*{"not":"an array"}', '[1,2]', '"@"']) {
        await plain.publish(`${prefix}events`, text);
      }
    } finally {
      await plain.quit();
    }
    await onA.done;
    expect(onA.messages).toEqual([{ plain: true }, [1, 2], '@']);
  });

  it('still hands its own handlers what it publishes while Redis is gone, and rejects', async () => {
    const port = await freePort();
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => server.once('exit', resolve));
    try {
      const url = `redis://127.0.0.1:${port}`;
      const bus = await waitFor(
        () => RedisBus.open(url, { channelPrefix: 'hbtest:' }).catch(() => undefined),
        {
          description: 'a private redis-server',
        },
      );
      buses.push(bus);
      const c = collector(3);
      await bus.subscribe('events', c.handler);
      server.kill('SIGKILL');
      await exited;
      await waitFor(() => !bus.isConnected(), { description: 'the bus to see Redis gone' });
      await expect(bus.publish('events', 'one')).rejects.toThrow();
      await expect(bus.publishMany('events', ['two', 'three'])).rejects.toThrow();
      await c.done;
      expect(c.messages).toEqual(['one', 'two', 'three']);
    } finally {
      server.kill('SIGKILL');
    }
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
