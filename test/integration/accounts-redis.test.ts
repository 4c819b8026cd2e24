import { randomBytes } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBus } from '../../core/bus/redis-bus.js';
import { RedisStore } from '../../core/store/redis-store.js';
import { AlwaysLeader } from '../../gateway/leader/leadership.js';
import type { RunningGateway } from '../../gateway/main.js';
import { loadTestEnv } from '../helpers/test-env.js';
import { TempDirs, TestClient, gatewayConfig, startTestGateway } from './gateway-harness.js';
import { openSocket, within } from './ws-close.js';

/**
 * Two gateways on one Redis: a token revoked or a password changed on one closes the connections
 * open on the other at once (over the bus), and the other refuses the token on its next request.
 */
describe('accounts across gateways (Redis store and bus)', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const prefix = `hbt-acct-${randomBytes(3).toString('hex')}:`;
  const gateways: RunningGateway[] = [];
  const sockets: Client[] = [];
  let a: TestClient;
  let b: TestClient;

  async function gateway(name: string): Promise<TestClient> {
    const gw = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_REDIS_URL: env.redisUrl, HUMPBACK_DATA_DIR: tmp.make('hb-acct-gw-') }),
      store: await RedisStore.open(env.redisUrl, { keyPrefix: prefix }),
      bus: await RedisBus.open(env.redisUrl, { channelPrefix: prefix, connectionName: `hbt-acct-${name}` }),
      // no agents and no servers here: each gateway may lead
      leadership: new AlwaysLeader(),
      cluster: false,
    });
    gateways.push(gw);
    const client = new TestClient(gw.url);
    await client.login();
    return client;
  }

  beforeAll(async () => {
    a = await gateway('a');
    b = await gateway('b');
  });

  afterAll(async () => {
    for (const s of sockets) await s.dispose();
    for (const g of gateways) await g.close();
    const redis = new Redis(env.redisUrl);
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      await redis.quit();
    }
    tmp.cleanup();
  });

  it('closes on B the connection of a token revoked on A', async () => {
    const { createApiToken } = await a.request<{
      createApiToken: { token: string; apiToken: { id: string } };
    }>('mutation { createApiToken(name: "ci", scopes: [READ]) { token apiToken { id } } }');
    const onB = Object.assign(new TestClient(b.url), { token: createApiToken.token });
    expect(await onB.request('{ me { id } }')).toEqual({ me: { id: 'admin' } });
    const { client, closed } = await openSocket(b.url, createApiToken.token);
    sockets.push(client);
    await a.request('mutation($id: ID!) { revokeApiToken(id: $id) }', { id: createApiToken.apiToken.id });
    expect(await within(closed, 5000, 'the close on B')).toEqual({
      code: 4401,
      reason: 'Token expired or revoked',
    });
    expect(await onB.errorCode('{ me { id } }')).toBe('UNAUTHENTICATED');
  });

  it("closes on B a user's session when they change their password on A", async () => {
    await a.request(
      'mutation { createUser(input: { username: "sam", password: "password-123", admin: false }) { id } }',
    );
    const samOnB = new TestClient(b.url);
    await samOnB.login('sam', 'password-123');
    expect(await samOnB.request('{ me { id } }')).toEqual({ me: { id: 'sam' } });
    const { client, closed } = await openSocket(b.url, samOnB.token!);
    sockets.push(client);
    const samOnA = Object.assign(new TestClient(a.url), { token: samOnB.token });
    await samOnA.request(
      'mutation { changePassword(oldPassword: "password-123", newPassword: "password-456") }',
    );
    expect(await within(closed, 5000, 'the close on B')).toEqual({
      code: 4401,
      reason: 'Token expired or revoked',
    });
    expect(await samOnB.errorCode('{ me { id } }')).toBe('UNAUTHENTICATED');
  });
});
