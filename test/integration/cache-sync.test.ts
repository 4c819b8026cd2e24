import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL, type ContainerStatusMessage } from '../../core/bus/channels.js';
import { RedisBus } from '../../core/bus/redis-bus.js';
import { logger } from '../../core/logger.js';
import { EmbeddedStore } from '../../core/store/embedded-store.js';
import type { ContainerRecord } from '../../core/store/store.js';
import { CacheWriter, followCacheSync } from '../../gateway/cluster/cache-writer.js';
import { ClusterCache } from '../../gateway/cluster/cluster-cache.js';
import { loadTestEnv } from '../helpers/test-env.js';
import { TempDirs } from './gateway-harness.js';

const tmp = new TempDirs();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  tmp.cleanup();
});

const container = (i: number, state: ContainerRecord['state']): ContainerRecord => ({
  id: `c${String(i).padStart(63, '0')}`,
  name: `web-${i}`,
  nodeId: 'n1',
  image: 'nginx:1.27',
  state,
  status: state === 'RUNNING' ? 'Up' : 'Exited (0)',
  labels: {},
  createdAt: '2026-12-02T19:00:00.000Z',
});

/** Resolves with what `take` returned once it returned something for `count` messages, or fails at 5 s. */
function gather<T>(count: number, take: (message: ContainerStatusMessage) => T) {
  const seen: T[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    setTimeout(() => rej(new Error(`got ${seen.length} of ${count} events`)), 5000).unref();
  });
  const handler = (m: unknown): void => {
    seen.push(take(m as ContainerStatusMessage));
    if (seen.length === count) resolve();
  };
  return { seen, handler, done };
}

describe('the cache writer between two gateways on one Redis', () => {
  it('announces a batch as single events, each after the other gateway’s cache has the change', async () => {
    const channelPrefix = `hbtest:${randomUUID()}:`;
    const busA = await RedisBus.open(loadTestEnv().redisUrl, { channelPrefix });
    const busB = await RedisBus.open(loadTestEnv().redisUrl, { channelPrefix });
    const store = await EmbeddedStore.open(tmp.make('hb-cache-sync-'));
    cleanups.push(
      () => busA.close(),
      () => busB.close(),
      () => store.close(),
    );
    const cacheA = new ClusterCache();
    const cacheB = new ClusterCache();
    const writer = new CacheWriter({ cache: cacheA, store, bus: busA, origin: 'a', logger });
    const follow = await followCacheSync({ bus: busB, cache: cacheB, store, origin: 'b', logger });
    cleanups.push(follow);

    // What gateway B's subscribers would see, and what B's cache answered at that moment.
    const onB = gather(21, (m) => ({
      id: m.container.id,
      state: m.container.state,
      inCache: cacheB.getContainer(m.container.id)?.state,
    }));
    const onA = gather(21, (m) => `${m.container.id}:${m.container.state}`);
    await busB.subscribe(CHANNEL.containerStatus, onB.handler);
    await busA.subscribe(CHANNEL.containerStatus, onA.handler);

    const first = Array.from({ length: 20 }, (_, i) => container(i, 'RUNNING'));
    await writer.replaceNodeContainers('n1', first);
    await writer.containers([container(3, 'EXITED')], []);
    await Promise.all([onA.done, onB.done]);

    const expected = [
      ...first.map((c) => ({ id: c.id, state: 'RUNNING' })),
      { id: container(3, 'EXITED').id, state: 'EXITED' },
    ];
    expect(onB.seen.map(({ id, state }) => ({ id, state }))).toEqual(expected);
    // On B, each event finds the change in B's cache already: the sync message came first.
    expect(onB.seen.map((e) => e.inCache)).toEqual(expected.map((e) => e.state));
    expect(onA.seen).toEqual(expected.map((e) => `${e.id}:${e.state}`));
  });
});
