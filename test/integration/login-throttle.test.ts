import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RedisBus } from '../../core/bus/redis-bus.js';
import { logger } from '../../core/logger.js';
import { EmbeddedStore } from '../../core/store/embedded-store.js';
import { RedisStore } from '../../core/store/redis-store.js';
import { auditEntryBytes, type AuditEntry, type Store } from '../../core/store/store.js';
import { StoreAuditService, TRUNCATED } from '../../gateway/services/audit-service.js';
import { StoreAuthService } from '../../gateway/services/auth-service.js';
import { createGatewayCore, type GatewayCore } from '../../gateway/wiring.js';
import { AlwaysLeader } from '../../gateway/leader/leadership.js';
import { createGatewayServer, type GatewayServer } from '../../gateway/graphql/server.js';
import { loadTestEnv } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TempDirs, gatewayConfig } from './gateway-harness.js';

const JWT_SECRET = 'login-throttle-test-secret-0123456789';
const TOKEN_TTL = 3600;
const FREE_PER_USER = 10;
const FREE_PER_CLIENT = 30;
const REFUSAL_INTERVAL = 60_000;
const LOGIN =
  'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { id } } }';

interface Response {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

interface Gateway {
  url: string;
  core: GatewayCore;
  server: GatewayServer;
  auth: StoreAuthService;
}

const code = (r: Response): unknown => r.errors?.[0]?.extensions?.['code'];
const retryAfter = (r: Response): unknown => r.errors?.[0]?.extensions?.['retryAfterSeconds'];

/** A GraphQL POST over plain node:http, so a test can choose the local address and the headers. */
function post(
  url: string,
  body: unknown,
  options: { token?: string; forwardedFor?: string; localAddress?: string } = {},
): Promise<Response> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        localAddress: options.localAddress,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Response);
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const codes = (responses: Response[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const r of responses) counts[String(code(r))] = (counts[String(code(r))] ?? 0) + 1;
  return counts;
};

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

async function auditLog(store: Store): Promise<AuditEntry[]> {
  return store.listAudit({ limit: 100_000 });
}

/**
 * 48 kB of labels, each within the schema's limits: about as much as a request's variables may carry
 * (64 KiB, gateway/graphql/server.ts limits), 12 times more than an audit entry keeps.
 */
const bigLabels = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(4000) }));
const CREATE_CONTAINER =
  'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }';

describe.each([{ kind: 'embedded' as const }, { kind: 'redis' as const }])(
  'login throttling and the audit log on a real gateway: $kind store',
  ({ kind }) => {
    const tmp = new TempDirs();
    const prefix = `hbt-throttle-${randomBytes(3).toString('hex')}:`;
    const gateways: Gateway[] = [];
    const dataDir = tmp.make('hb-throttle-');
    let clock = Date.now();

    /** A gateway whose auth and audit services run on the test's clock; several share one Redis. */
    async function startGateway(): Promise<Gateway> {
      const env = loadTestEnv();
      const config = gatewayConfig({
        HUMPBACK_DATA_DIR: dataDir,
        HUMPBACK_JWT_SECRET: JWT_SECRET,
        // The test's requests come from 127.0.0.1 (a trusted proxy) or 127.0.0.2 (not one).
        HUMPBACK_TRUSTED_PROXIES: '127.0.0.1',
        ...(kind === 'redis' ? { HUMPBACK_REDIS_URL: env.redisUrl } : {}),
      });
      const core = await createGatewayCore({
        config,
        logger,
        leadership: new AlwaysLeader(),
        ...(kind === 'redis'
          ? {
              store: await RedisStore.open(env.redisUrl, { keyPrefix: prefix }),
              bus: await RedisBus.open(env.redisUrl, { channelPrefix: prefix }),
            }
          : {}),
      });
      const now = (): number => clock;
      const auth = await StoreAuthService.open({
        store: core.store,
        config,
        logger,
        now,
        bcryptRounds: 4,
        tokenTtlSeconds: TOKEN_TTL,
        maxFailedLogins: FREE_PER_USER,
        maxFailedLoginsPerClient: FREE_PER_CLIENT,
        loginBackoffMs: 1000,
        maxLoginBackoffMs: 4000,
      });
      const audit = new StoreAuditService(core.store, now, { refusalIntervalMs: REFUSAL_INTERVAL });
      const server = await createGatewayServer({
        config,
        services: { ...core.services, auth, audit },
        bus: core.bus,
        logger,
      });
      const gateway = { url: server.url, core, server, auth };
      gateways.push(gateway);
      return gateway;
    }

    let gw: Gateway;
    /** Every gateway of the test: two sharing Redis, or the one embedded. */
    let all: Gateway[];

    beforeAll(async () => {
      gw = await startGateway();
      all = kind === 'redis' ? [gw, await startGateway()] : [gw];
      for (const name of ['alice', 'bob', 'carol']) {
        await gw.auth.createUser({
          username: name,
          password: `${name}-password`,
          admin: false,
        });
      }
    });

    afterAll(async () => {
      for (const g of gateways.splice(0).reverse()) {
        await g.server.close();
        await g.core.close();
      }
      if (kind === 'redis') {
        const admin = new Redis(loadTestEnv().redisUrl);
        try {
          const keys: string[] = [];
          for await (const batch of admin.scanStream({ match: `${prefix}*`, count: 1000 }))
            keys.push(...(batch as string[]));
          if (keys.length > 0) await admin.del(...keys);
        } finally {
          await admin.quit();
        }
      }
      tmp.cleanup();
    });

    it('of 100 parallel wrong guesses exactly the free ones are checked; the rest are RATE_LIMITED', async () => {
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          post(all[i % all.length]!.url, { query: LOGIN, variables: { u: 'alice', p: `guess-${i}` } }),
        ),
      );
      expect(codes(responses)).toEqual({ UNAUTHENTICATED: FREE_PER_USER, RATE_LIMITED: 100 - FREE_PER_USER });
      for (const r of responses.filter((r) => code(r) === 'RATE_LIMITED')) expect(retryAfter(r)).toBe(1);

      // The right password waits too, until the backoff is over; then it works.
      const right = { query: LOGIN, variables: { u: 'alice', p: 'alice-password' } };
      const early = await post(gw.url, right);
      expect(code(early)).toBe('RATE_LIMITED');
      expect(retryAfter(early)).toBe(1);
      clock += 1000;
      const ok = await post(all[all.length - 1]!.url, right);
      expect(ok.errors).toBeUndefined();
      const token = (ok.data?.['login'] as { token: string }).token;
      expect((await post(gw.url, { query: '{ me { id } }' }, { token })).data?.['me']).toEqual({
        id: 'alice',
      });
      // The right password started the username afresh.
      expect(code(await post(gw.url, { query: LOGIN, variables: { u: 'alice', p: 'wrong' } }))).toBe(
        'UNAUTHENTICATED',
      );
    });

    it('backs off exponentially up to the cap instead of locking the username', async () => {
      const guess = () => post(gw.url, { query: LOGIN, variables: { u: 'carol', p: 'wrong' } });
      for (let i = 0; i < FREE_PER_USER; i++) expect(code(await guess())).toBe('UNAUTHENTICATED');
      for (const wait of [1, 2, 4, 4, 4]) {
        const limited = await guess();
        expect(code(limited)).toBe('RATE_LIMITED');
        expect(retryAfter(limited)).toBe(wait);
        clock += wait * 1000 - 1;
        expect(code(await guess())).toBe('RATE_LIMITED');
        clock += 1;
        expect(code(await guess())).toBe('UNAUTHENTICATED');
      }
      clock += 4000;
      const ok = await post(gw.url, { query: LOGIN, variables: { u: 'carol', p: 'carol-password' } });
      expect(ok.errors).toBeUndefined();
    });

    it('limits a username across client addresses forwarded by a trusted proxy', async () => {
      const guesses = await Promise.all(
        Array.from({ length: FREE_PER_USER + 5 }, (_, i) =>
          post(
            gw.url,
            { query: LOGIN, variables: { u: 'bob', p: `guess-${i}` } },
            { forwardedFor: `198.51.100.${i + 1}` },
          ),
        ),
      );
      expect(codes(guesses)).toEqual({ UNAUTHENTICATED: FREE_PER_USER, RATE_LIMITED: 5 });
      clock += 1000;
      expect(
        (await post(gw.url, { query: LOGIN, variables: { u: 'bob', p: 'bob-password' } })).errors,
      ).toBeUndefined();
    });

    it('limits a client address across usernames: the right-most address a trusted proxy forwarded', async () => {
      // The client put a made-up address first; the proxy appended the one it saw.
      const spray = await Promise.all(
        Array.from({ length: FREE_PER_CLIENT + 1 }, (_, i) =>
          post(
            gw.url,
            { query: LOGIN, variables: { u: `sprayed-${i}`, p: 'wrong' } },
            { forwardedFor: `10.${i}.0.1, 203.0.113.9` },
          ),
        ),
      );
      expect(codes(spray)).toEqual({ UNAUTHENTICATED: FREE_PER_CLIENT, RATE_LIMITED: 1 });
      const next = { query: LOGIN, variables: { u: 'someone-new', p: 'wrong' } };
      expect(code(await post(gw.url, next, { forwardedFor: '203.0.113.9' }))).toBe('RATE_LIMITED');
      // Another forwarded address is another client.
      expect(code(await post(gw.url, next, { forwardedFor: '203.0.113.10' }))).toBe('UNAUTHENTICATED');
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      const spray = await Promise.all(
        Array.from({ length: FREE_PER_CLIENT + 1 }, (_, i) =>
          post(
            gw.url,
            { query: LOGIN, variables: { u: `untrusted-${i}`, p: 'wrong' } },
            { localAddress: '127.0.0.2', forwardedFor: `192.0.2.${i + 1}` },
          ),
        ),
      );
      // Every address it claimed was the one peer, 127.0.0.2.
      expect(codes(spray)).toEqual({ UNAUTHENTICATED: FREE_PER_CLIENT, RATE_LIMITED: 1 });
      expect(
        code(
          await post(
            gw.url,
            { query: LOGIN, variables: { u: 'untrusted-new', p: 'wrong' } },
            { localAddress: '127.0.0.2', forwardedFor: '192.0.2.200' },
          ),
        ),
      ).toBe('RATE_LIMITED');
      // ... while the address it claimed is a client of its own, untouched.
      expect(
        code(
          await post(
            gw.url,
            { query: LOGIN, variables: { u: 'untrusted-new', p: 'wrong' } },
            { forwardedFor: '192.0.2.1' },
          ),
        ),
      ).toBe('UNAUTHENTICATED');
      clock += 4000; // let 127.0.0.2's wait pass for the tests after
    });

    it('resolves the client address of graphql-ws connections the same way', async () => {
      const admin = await post(gw.url, { query: LOGIN, variables: { u: 'admin', p: ADMIN_PASSWORD } });
      const token = (admin.data?.['login'] as { token: string }).token;
      class ForwardedSocket extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { 'x-forwarded-for': '203.0.113.77' } });
        }
      }
      const client = createClient({
        url: gw.url.replace(/^http/, 'ws'),
        webSocketImpl: ForwardedSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      try {
        const viaWs = (u: string): Promise<Response> =>
          new Promise((resolve, reject) => {
            let result: Response = {};
            client.subscribe(
              { query: LOGIN, variables: { u, p: 'wrong' } },
              { next: (r) => (result = r as Response), error: reject, complete: () => resolve(result) },
            );
          });
        const results = await Promise.all(
          Array.from({ length: FREE_PER_CLIENT + 1 }, (_, i) => viaWs(`ws-sprayed-${i}`)),
        );
        expect(codes(results)).toEqual({ UNAUTHENTICATED: FREE_PER_CLIENT, RATE_LIMITED: 1 });
      } finally {
        await client.dispose();
      }
      // Over HTTP the same forwarded address is the same client.
      expect(
        code(
          await post(
            gw.url,
            { query: LOGIN, variables: { u: 'ws-new', p: 'wrong' } },
            { forwardedFor: '203.0.113.77' },
          ),
        ),
      ).toBe('RATE_LIMITED');
    });

    it('writes nothing of unauthenticated requests but small summaries of their refusal', async () => {
      const store = gw.core.store;
      const flush = async (): Promise<void> => {
        if (store instanceof EmbeddedStore) await store.flush();
      };
      await flush();
      const before = (await auditLog(store)).length;
      const beforeDir = await dirBytes(dataDir);
      const create = (i: number): Promise<Response> =>
        post(gw.url, {
          query: CREATE_CONTAINER,
          variables: { n: 'node-x', c: { name: `big-${i}`, image: 'busybox', labels: bigLabels } },
        });

      // After a quiet interval the first refusal is written at once (with what was still counted of
      // the throttled logins before); the next 49 are only counted ...
      clock += REFUSAL_INTERVAL;
      expect(code(await create(0))).toBe('UNAUTHENTICATED');
      const refused = await Promise.all(Array.from({ length: 49 }, (_, i) => create(i + 1)));
      expect(codes(refused)).toEqual({ UNAUTHENTICATED: 49 });
      await flush();
      expect((await auditLog(store)).length - before).toBe(1);
      // ... and written as one entry with the first refusal after the interval.
      clock += REFUSAL_INTERVAL;
      expect(code(await create(50))).toBe('UNAUTHENTICATED');
      await flush();

      const added = (await auditLog(store)).slice(0, -before || undefined);
      expect(added).toHaveLength(2);
      const [summary, first] = added as [AuditEntry, AuditEntry];
      expect(first.args['operations']).toMatchObject({ createContainer: 1 });
      expect(summary).toMatchObject({
        userId: null,
        operation: 'createContainer',
        outcome: 'error',
        args: { refused: 50, operations: { createContainer: 50 }, codes: { UNAUTHENTICATED: 50 } },
      });
      expect(JSON.stringify(added)).not.toContain('vvvv');
      expect(added.reduce((n, e) => n + auditEntryBytes(e), 0)).toBeLessThan(2 * 1024);
      if (kind === 'embedded') expect((await dirBytes(dataDir)) - beforeDir).toBeLessThan(4 * 1024);
    });

    it('cuts down the arguments of an authenticated request to a few kB, with a marker', async () => {
      const admin = await post(gw.url, { query: LOGIN, variables: { u: 'admin', p: ADMIN_PASSWORD } });
      const token = (admin.data?.['login'] as { token: string }).token;
      const r = await post(
        gw.url,
        {
          query: CREATE_CONTAINER,
          variables: { n: 'no-such-node', c: { name: 'big', image: 'busybox', labels: bigLabels } },
        },
        { token },
      );
      expect(code(r)).toBeDefined();
      const [entry] = await auditLog(gw.core.store);
      expect(entry).toMatchObject({ userId: 'admin', operation: 'createContainer', outcome: 'error' });
      expect(auditEntryBytes(entry!)).toBeLessThan(8 * 1024);
      expect(JSON.stringify(entry!.args)).toContain(TRUNCATED);
      expect(JSON.stringify(entry!.args)).toContain('big');
    });

    it('refuses a token signed with the real secret but without exp, or with exp beyond the TTL', async () => {
      const key = new TextEncoder().encode(JWT_SECRET);
      const iat = Math.floor(clock / 1000);
      const sign = (exp: number | undefined): Promise<string> => {
        const jwt = new SignJWT({ username: 'admin' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('humpback')
          .setSubject('admin')
          .setIssuedAt(iat);
        return (exp === undefined ? jwt : jwt.setExpirationTime(exp)).sign(key);
      };
      const me = async (token: string): Promise<Response> =>
        post(gw.url, { query: '{ me { id } }' }, { token });
      // The same token with a proper exp is accepted: the secret is right.
      expect((await me(await sign(iat + TOKEN_TTL))).data?.['me']).toEqual({ id: 'admin' });
      expect(code(await me(await sign(undefined)))).toBe('UNAUTHENTICATED');
      expect(code(await me(await sign(iat + TOKEN_TTL + 3600)))).toBe('UNAUTHENTICATED');

      const closed = await new Promise<number>((resolve) => {
        const ws = new WebSocket(gw.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
        ws.on(
          'open',
          () =>
            void sign(undefined).then((t) =>
              ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t}` } })),
            ),
        );
        ws.on('close', (c) => resolve(c));
      });
      expect(closed).toBe(4401);
    });
  },
);
