import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLeaseLeadership } from '../../gateway/leader/leadership.js';
import { loadTestEnv, waitFor } from '../helpers/test-env.js';

describe('Redis lease leadership', () => {
  const env = loadTestEnv();
  const clients: Redis[] = [];
  const key = `humpback:test-leader:${randomUUID()}`;

  const connect = (): Redis => {
    const r = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
    clients.push(r);
    return r;
  };

  let admin: Redis;
  beforeAll(() => {
    admin = connect();
  });

  afterAll(async () => {
    await admin.del(key);
    for (const c of clients) c.disconnect();
  });

  it('elects exactly one, hands over on close and on a lapsed lease', async () => {
    const a = new RedisLeaseLeadership({ redis: connect(), key, ttlMs: 600, renewMs: 100, id: 'a' });
    const b = new RedisLeaseLeadership({ redis: connect(), key, ttlMs: 600, renewMs: 100, id: 'b' });
    const changes: string[] = [];
    a.onChange((l) => changes.push(`a:${l}`));
    b.onChange((l) => changes.push(`b:${l}`));
    await a.start();
    await b.start();
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(await admin.get(key)).toBe('a');

    // The holder renews: after several lease lengths it still leads.
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);

    // A clean close releases the lease; the other takes it within a renewal period or two.
    await a.close();
    expect(a.isLeader()).toBe(false);
    await waitFor(() => b.isLeader(), { timeoutMs: 2000, description: 'b to lead' });
    expect(changes).toEqual(['a:true', 'a:false', 'b:true']);

    // Someone else holds the key (b's lease lapsed, e.g. a long pause): b steps down.
    await admin.set(key, 'c', 'PX', 5000);
    await waitFor(() => !b.isLeader(), { timeoutMs: 2000, description: 'b to step down' });
    await b.close();
    expect(await admin.get(key)).toBe('c');
  });
});
