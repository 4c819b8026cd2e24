import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../core/store/embedded-store.js';
import { RedisStore } from '../../core/store/redis-store.js';
import type { Store } from '../../core/store/store.js';
import { migrateGroupOwners, OWNERS_MIGRATED_SETTING } from '../../gateway/services/team-service.js';
import { loadTestEnv } from '../helpers/test-env.js';
import { TempDirs, TestClient, gatewayConfig, startTestGateway } from './gateway-harness.js';

/**
 * Stores written before teams (groups with `owners`, no `grants` or `public`) are migrated at gateway
 * start: each group's owners become a team granted OWNER, once.
 */

const at = '2026-01-01T00:00:00.000Z';
const later = () => new Date('2026-12-01T00:00:00.000Z');

/** The old shape, exactly as a gateway before issue 13 wrote it. */
async function writeOldShape(store: Store): Promise<void> {
  const passwordHash = await bcrypt.hash('password-123', 4);
  for (const [id, admin] of [
    ['admin', true],
    ['alice', false],
    ['bob', false],
  ] as const) {
    await store.put('users', id, { id, username: id, passwordHash, admin, createdAt: at });
  }
  await store.put('groups', 'g1', {
    id: 'g1',
    name: 'web',
    clusterMode: false,
    servers: [],
    owners: ['alice', 'bob'],
    allowedHostPaths: [],
    createdAt: at,
    updatedAt: at,
  });
  await store.put('groups', 'g2', {
    id: 'g2',
    name: 'empty',
    clusterMode: false,
    servers: [],
    owners: [],
    createdAt: at,
    updatedAt: at,
  });
}

async function expectMigrated(store: Store): Promise<void> {
  expect(await migrateGroupOwners(store, { now: later })).toBe(1);
  const migrated = {
    id: 'g1',
    name: 'web',
    clusterMode: false,
    servers: [],
    owners: [],
    grants: [{ teamId: 'owners-g1', role: 'OWNER' }],
    allowedHostPaths: [],
    createdAt: at,
    updatedAt: at,
  };
  expect(await store.get('groups', 'g1')).toEqual(migrated);
  expect(await store.get('groups', 'g2')).toEqual({
    id: 'g2',
    name: 'empty',
    clusterMode: false,
    servers: [],
    owners: [],
    createdAt: at,
    updatedAt: at,
  });
  const team = {
    id: 'owners-g1',
    name: 'web owners',
    members: ['alice', 'bob'],
    createdAt: later().toISOString(),
  };
  expect(await store.list('teams')).toEqual([team]);
  expect(await store.get('settings', OWNERS_MIGRATED_SETTING)).toEqual({
    id: OWNERS_MIGRATED_SETTING,
    value: later().toISOString(),
  });

  // A second start changes nothing, even for owners named after the migration.
  await store.update('groups', 'g2', (g) => (g ? { ...g, owners: ['bob'] } : undefined));
  expect(await migrateGroupOwners(store, { now: later })).toBe(0);
  expect(await store.get('groups', 'g1')).toEqual(migrated);
  expect((await store.get('groups', 'g2'))?.owners).toEqual(['bob']);
  expect(await store.list('teams')).toEqual([team]);
}

describe('migration of group owners into OWNER grants', () => {
  const tmp = new TempDirs();
  const redisPrefixes: string[] = [];

  afterAll(async () => {
    tmp.cleanup();
    const redis = new Redis(loadTestEnv().redisUrl);
    try {
      for (const prefix of redisPrefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
    } finally {
      await redis.quit();
    }
  });

  it('migrates an embedded store once', async () => {
    const store = await EmbeddedStore.open(tmp.make('hb-mig-emb-'));
    try {
      await writeOldShape(store);
      await expectMigrated(store);
    } finally {
      await store.close();
    }
  });

  it('migrates a Redis store once', async () => {
    const prefix = `hbtest:${randomUUID()}:`;
    redisPrefixes.push(prefix);
    const store = await RedisStore.open(loadTestEnv().redisUrl, { keyPrefix: prefix });
    try {
      await writeOldShape(store);
      await expectMigrated(store);
    } finally {
      await store.close();
    }
  });

  it('runs when a gateway starts on an old store: the former owners keep OWNER through the team', async () => {
    const dir = tmp.make('hb-mig-gw-');
    const old = await EmbeddedStore.open(dir);
    await writeOldShape(old);
    await old.close();
    const gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: dir }),
      cluster: false,
    });
    try {
      const alice = new TestClient(gateway.url);
      await alice.login('alice', 'password-123');
      expect(
        await alice.request('{ groups { id owners grants { role team { id name members { id } } } } }'),
      ).toEqual({
        groups: [
          {
            id: 'g1',
            owners: [],
            grants: [
              {
                role: 'OWNER',
                team: { id: 'owners-g1', name: 'web owners', members: [{ id: 'alice' }, { id: 'bob' }] },
              },
            ],
          },
        ],
      });
      expect(
        await alice.request(
          'mutation { updateGroup(id: "g1", input: { description: "still mine" }) { description } }',
        ),
      ).toEqual({ updateGroup: { description: 'still mine' } });
    } finally {
      await gateway.close();
    }
  });
});
