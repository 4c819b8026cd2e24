import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { logger } from '../../core/logger.js';
import { createGatewayServer, type GatewayServer } from '../../gateway/graphql/server.js';
import { CHANNEL, publishEvent } from '../../core/bus/channels.js';
import { createFakeWorld, type FakeWorld } from './api-fakes.js';

interface GqlResponse {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

let world: FakeWorld;
let server: GatewayServer;
let adminToken: string;
let aliceToken: string;
let bobToken: string;
let aliceGroup: string;
let bobGroup: string;

async function gql(
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GqlResponse> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as Omit<GqlResponse, 'status'>) };
}

const code = (r: GqlResponse) => r.errors?.[0]?.extensions?.['code'];

async function login(username: string, password: string): Promise<string> {
  const r = await gql('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {
    u: username,
    p: password,
  });
  const token = (r.data?.['login'] as { token: string } | undefined)?.token;
  if (!token) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
  return token;
}

function wsUrl(): string {
  return server.url.replace(/^http/, 'ws');
}

/** Opens a raw graphql-transport-ws socket, sends connection_init, resolves with the close code or 'ack'. */
function connectRaw(
  params: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<number | 'ack'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(), 'graphql-transport-ws', { headers });
    const deadline = setTimeout(() => reject(new Error('no answer from the ws server')), 5000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: params })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') {
        clearTimeout(deadline);
        resolve('ack');
        socket.close();
      }
    });
    socket.on('close', (closeCode) => {
      clearTimeout(deadline);
      resolve(closeCode);
    });
    socket.on('error', () => undefined);
  });
}

/**
 * Opens a raw graphql-transport-ws socket to the gateway at `graphqlUrl`, initialises it with `token`
 * and waits for the ack. `closed` resolves with the close code and when it came.
 */
async function openSocket(
  graphqlUrl: string,
  token: string,
): Promise<{ socket: WebSocket; closed: Promise<{ code: number; at: number }> }> {
  const socket = new WebSocket(graphqlUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    socket.on('close', (c) => resolve({ code: c, at: Date.now() })),
  );
  await new Promise<void>((resolve) => {
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.once('message', () => resolve());
  });
  return { socket, closed };
}

const META_EVENTS = JSON.stringify({
  id: '1',
  type: 'subscribe',
  payload: { query: 'subscription { metaEvents { metaId } }' },
});

function wsClient(token: string): Client {
  return createClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
}

/** Collects results of one subscription; `next(n)` waits (with a deadline) for n results. */
function collect(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: Array<{
    data?: unknown;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  }> = [];
  let waiter: (() => void) | undefined;
  let completed = false;
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (r) => {
        results.push(r as (typeof results)[number]);
        waiter?.();
      },
      error: (e) => {
        results.push({ errors: Array.isArray(e) ? e : [{ message: String(e) }] });
        waiter?.();
      },
      complete: () => {
        completed = true;
        waiter?.();
      },
    },
  );
  return {
    results,
    dispose,
    get completed() {
      return completed;
    },
    async next(n: number, ms = 3000): Promise<typeof results> {
      const until = Date.now() + ms;
      while (results.length < n && Date.now() < until) {
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 50);
        });
      }
      return results;
    },
  };
}

beforeAll(async () => {
  world = await createFakeWorld({ adminPassword: 'admin-password', maxFailedLogins: 3 });
  server = await createGatewayServer({
    config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
    services: world.services,
    bus: world.bus,
    logger,
    limits: { maxDepth: 6, maxComplexity: 3000, maxBodyBytes: 64 * 1024 },
  });
  adminToken = await login('admin', 'admin-password');
  for (const name of ['alice', 'bob']) {
    const r = await gql(
      'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }',
      { i: { username: name, password: `${name}-password`, admin: false } },
      adminToken,
    );
    expect(r.errors).toBeUndefined();
  }
  aliceToken = await login('alice', 'alice-password');
  bobToken = await login('Bob', 'bob-password');
  // Servers are the admins' to give: an admin makes each group with its server and hands it over.
  const g = async (owner: string, name: string, servers: string[]) => {
    const r = await gql(
      'mutation($i: CreateGroupInput!) { createGroup(input: $i) { id owners } }',
      { i: { name, servers, clusterMode: true } },
      adminToken,
    );
    const id = (r.data?.['createGroup'] as { id: string }).id;
    const u = await gql(
      'mutation($id: ID!, $o: [String!]) { updateGroup(id: $id, input: { owners: $o }) { id } }',
      { id, o: [owner] },
      adminToken,
    );
    expect(u.errors).toBeUndefined();
    return id;
  };
  aliceGroup = await g('alice', 'alice-group', ['10.0.0.1']);
  bobGroup = await g('bob', 'bob-group', ['10.0.0.2']);
  world.nodes.add({ id: 'node-a', ip: '10.0.0.1', name: 'host-a' });
  world.nodes.add({ id: 'node-b', ip: '10.0.0.2', name: 'host-b' });
  for (let i = 0; i < 5; i++) world.containers.add({ id: `aaaa${i}`, nodeId: 'node-a', name: `a-${i}` });
  for (let i = 0; i < 3; i++) world.containers.add({ id: `bbbb${i}`, nodeId: 'node-b', name: `b-${i}` });
});

afterAll(async () => {
  await server?.close();
});

describe('authentication over HTTP', () => {
  it('refuses every operation but login without a valid token', async () => {
    expect(code(await gql('{ me { id } }'))).toBe('UNAUTHENTICATED');
    expect(code(await gql('{ groups { id } }', {}, 'not-a-token'))).toBe('UNAUTHENTICATED');
    expect(code(await gql('mutation { deleteGroup(id: "x") }'))).toBe('UNAUTHENTICATED');
  });

  it('logs in, case-insensitively, and answers me', async () => {
    const r = await gql('{ me { id username admin } }', {}, bobToken);
    expect(r.data?.['me']).toEqual({ id: 'bob', username: 'bob', admin: false });
  });

  it('refuses a wrong password, then rate limits the client', async () => {
    const attempt = () => gql('mutation { login(username: "alice", password: "wrong-password") { token } }');
    expect(code(await attempt())).toBe('UNAUTHENTICATED');
    expect(code(await attempt())).toBe('UNAUTHENTICATED');
    expect(code(await attempt())).toBe('UNAUTHENTICATED');
    const limited = await attempt();
    expect(code(limited)).toBe('RATE_LIMITED');
    // the right password is refused too while limited
    expect(
      code(await gql('mutation { login(username: "alice", password: "alice-password") { token } }')),
    ).toBe('RATE_LIMITED');
  });

  it('only admins manage users', async () => {
    expect(code(await gql('{ users { id } }', {}, aliceToken))).toBe('FORBIDDEN');
    const r = await gql('{ users { id admin } }', {}, adminToken);
    expect((r.data?.['users'] as unknown[]).length).toBe(3);
  });
});

describe('access by group ownership', () => {
  it('shows a user only the groups they own; admins all', async () => {
    const alice = await gql('{ groups { id name owners } }', {}, aliceToken);
    expect(alice.data?.['groups']).toEqual([{ id: aliceGroup, name: 'alice-group', owners: ['alice'] }]);
    const admin = await gql('{ groups { id } }', {}, adminToken);
    expect((admin.data?.['groups'] as unknown[]).length).toBe(2);
  });

  it('answers FORBIDDEN for groups, nodes, containers and metas of other owners', async () => {
    // Lookups answer null, as for an id that does not exist: nobody can probe for others' ids.
    for (const [query, field] of [
      [`{ group(id: "${bobGroup}") { id } }`, 'group'],
      ['{ node(id: "10.0.0.2") { id } }', 'node'],
      ['{ container(id: "bbbb0") { id } }', 'container'],
    ] as const) {
      const r = await gql(query, {}, aliceToken);
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ [field]: null });
    }
    expect(
      code(
        await gql('query($g: ID!) { containers(groupId: $g) { totalCount } }', { g: bobGroup }, aliceToken),
      ),
    ).toBe('FORBIDDEN');
    expect(code(await gql('query($g: ID!) { metas(groupId: $g) { id } }', { g: bobGroup }, aliceToken))).toBe(
      'FORBIDDEN',
    );
    expect(code(await gql('mutation($g: ID!) { deleteGroup(id: $g) }', { g: bobGroup }, aliceToken))).toBe(
      'FORBIDDEN',
    );
    expect(
      code(await gql('mutation { operateContainer(id: "bbbb1", action: STOP) { state } }', {}, aliceToken)),
    ).toBe('FORBIDDEN');
  });

  it('lists only visible containers and nodes, with pagination', async () => {
    const r = await gql(
      '{ containers(first: 2) { nodes { id node { name } } totalCount hasNextPage endCursor } }',
      {},
      aliceToken,
    );
    const page = r.data?.['containers'] as {
      nodes: Array<{ id: string }>;
      totalCount: number;
      endCursor: string;
    };
    expect(page.totalCount).toBe(5);
    expect(page.nodes.map((c) => c.id)).toEqual(['aaaa0', 'aaaa1']);
    const next = await gql(
      'query($a: String) { containers(first: 10, after: $a) { nodes { id } hasNextPage } }',
      { a: page.endCursor },
      aliceToken,
    );
    expect((next.data?.['containers'] as { nodes: unknown[] }).nodes.length).toBe(3);
    const admin = await gql('{ containers { totalCount } nodes { id labels { key } } }', {}, adminToken);
    expect((admin.data?.['containers'] as { totalCount: number }).totalCount).toBe(8);
    const nodes = await gql('{ nodes { id } }', {}, aliceToken);
    expect(nodes.data?.['nodes']).toEqual([{ id: 'node-a' }]);
  });

  it('refuses turning cluster mode off without confirmation, saying what would be removed', async () => {
    const created = await gql(
      `mutation($g: ID!) { createMeta(input: { groupId: $g, instances: 2,
         config: { name: "web", image: "nginx:1.25", labels: [{ key: "a", value: "b" }] },
         webhooks: [{ url: "http://127.0.0.1:9/hook", secretToken: "s3cret-token" }] })
         { id name imageTag webhooks { url hasSecretToken } } }`,
      { g: aliceGroup },
      aliceToken,
    );
    expect(created.errors).toBeUndefined();
    expect(JSON.stringify(created.data)).not.toContain('s3cret');
    const off = await gql(
      'mutation($g: ID!) { updateGroup(id: $g, input: { clusterMode: false }) { clusterMode } }',
      { g: aliceGroup },
      aliceToken,
    );
    expect(code(off)).toBe('BAD_USER_INPUT');
    expect(off.errors?.[0]?.message).toMatch(/1 meta\(s\) \(web\) and their 2 container/);
    const confirmed = await gql(
      'mutation($g: ID!) { updateGroup(id: $g, input: { clusterMode: false, confirmRemoveClusterContainers: true }) { clusterMode } }',
      { g: aliceGroup },
      aliceToken,
    );
    expect(confirmed.data?.['updateGroup']).toEqual({ clusterMode: false });
  });
});

describe('audit log', () => {
  it('records every mutation with who, what, outcome, and no secrets', async () => {
    await gql('mutation { deleteGroup(id: "no-such-group") }', {}, adminToken);
    const r = await gql('{ auditLog(first: 100) { userId operation args outcome error } }', {}, adminToken);
    const entries = r.data?.['auditLog'] as Array<{
      userId: string | null;
      operation: string;
      args: Record<string, unknown>;
      outcome: string;
      error: string | null;
    }>;
    expect(entries[0]).toMatchObject({ userId: 'admin', operation: 'deleteGroup', outcome: 'ERROR' });
    const createUser = entries.find((e) => e.operation === 'createUser');
    expect(createUser?.args).toMatchObject({ input: { username: 'bob', password: '[redacted]' } });
    expect(entries.some((e) => e.operation === 'login' && e.outcome === 'OK' && e.userId === 'bob')).toBe(
      true,
    );
    const failedLogin = entries.find((e) => e.operation === 'login' && e.outcome === 'ERROR');
    expect(failedLogin).toMatchObject({ userId: null, args: { username: 'alice', password: '[redacted]' } });
    const meta = entries.find((e) => e.operation === 'createMeta');
    expect(JSON.stringify(meta?.args)).not.toContain('s3cret');
    expect(
      entries.some((e) => e.operation === 'createGroup' && e.userId === 'admin' && e.outcome === 'OK'),
    ).toBe(true);
    // Refusals are recorded too: alice tried to delete bob's group.
    expect(
      entries.some(
        (e) =>
          e.operation === 'deleteGroup' &&
          e.userId === 'alice' &&
          e.outcome === 'ERROR' &&
          /may not edit group/.test(e.error ?? ''),
      ),
    ).toBe(true);
    expect(code(await gql('{ auditLog { id } }', {}, aliceToken))).toBe('FORBIDDEN');
  });
});

describe('abuse limits and errors', () => {
  it('names each invalid argument field and never echoes the input back', async () => {
    const r = await gql(
      'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }',
      { i: { username: 'erin', password: 'pw-7chr' } },
      adminToken,
    );
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toBe('password: password must be longer than or equal to 8 characters');
    expect(r.errors?.[0]?.extensions?.['fields']).toEqual([
      { field: 'password', messages: ['password must be longer than or equal to 8 characters'] },
    ]);
    expect(JSON.stringify(r)).not.toContain('pw-7chr');

    const nested = await gql(
      'mutation($c: ContainerConfigInput!) { createContainer(nodeId: "node-a", config: $c) { id } }',
      { c: { name: 'web', image: 'busybox', ports: [{ privatePort: 80 }, { privatePort: 70000 }] } },
      adminToken,
    );
    expect(code(nested)).toBe('BAD_USER_INPUT');
    expect(nested.errors?.[0]?.message).toMatch(/^ports\.1\.privatePort: /);
  });

  it('refuses operations nested too deep', async () => {
    const r = await gql(
      '{ groups { nodes { containers { node { containers { node { containers { id } } } } } } } }',
      {},
      adminToken,
    );
    expect(r.status).toBe(400);
    expect(code(r)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toMatch(/levels deep/);
  });

  it('refuses operations that are too complex', async () => {
    const r = await gql(
      '{ containers(first: 500) { nodes { id name image state status node { name } } } }',
      {},
      adminToken,
    );
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.message).toMatch(/complexity \d+ exceeds the limit of 3000/);
    const ok = await gql('{ containers(first: 100) { nodes { id name } } }', {}, adminToken);
    expect(ok.errors).toBeUndefined();
  });

  it('refuses simple cross-site requests (CSRF prevention)', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query: 'mutation { deleteGroup(id: "x") }' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/);
    const get = await fetch(`${server.url}?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(get.status).toBe(400);
  });

  it('refuses bodies over the size limit', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query: `{ me { id } }`, variables: { pad: 'x'.repeat(100 * 1024) } }),
    });
    expect(res.status).toBe(413);
  });

  it('reports unknown errors as INTERNAL_SERVER_ERROR without details or stack', async () => {
    world.containers.failWith = new Error('ECONNREFUSED redis 10.1.2.3:6379');
    try {
      const r = await gql('{ containers { totalCount } }', {}, adminToken);
      expect(code(r)).toBe('INTERNAL_SERVER_ERROR');
      expect(r.errors?.[0]?.message).toBe('Internal server error');
      expect(JSON.stringify(r)).not.toMatch(/ECONNREFUSED|stacktrace/);
    } finally {
      world.containers.failWith = undefined;
    }
  });

  it('keeps client errors and validation messages', async () => {
    const r = await gql('{ containers(first: 501) { totalCount } }', {}, adminToken);
    expect(code(r)).toBe('BAD_USER_INPUT');
    const bad = await gql(
      'mutation { createUser(input: { username: "x y", password: "short" }) { id } }',
      {},
      adminToken,
    );
    expect(code(bad)).toBe('BAD_USER_INPUT');
  });
});

describe('health, readiness, metrics', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/humpback_graphql_operations_total/);
    expect(metrics).toMatch(/humpback_process_cpu/);
  });
});

describe('graphql-ws', () => {
  it('closes with 4401 without a token or with a bad one', async () => {
    expect(await connectRaw({})).toBe(4401);
    expect(await connectRaw({ authorization: 'Bearer nope' })).toBe(4401);
    expect(await connectRaw({ authorization: `Bearer ${aliceToken}` })).toBe('ack');
  });

  it('re-checks the token on each new operation: a deleted user is closed with 4401', async () => {
    await gql(
      'mutation { createUser(input: { username: "carol", password: "carol-password" }) { id } }',
      {},
      adminToken,
    );
    // (this client address is rate limited by an earlier test: log in with another client key)
    const { token } = await world.services.auth.login('carol', 'carol-password', 'another-client');
    const { socket, closed } = await openSocket(server.url, token);
    expect(code(await gql('mutation { deleteUser(id: "carol") }', {}, adminToken))).toBeUndefined();
    socket.send(META_EVENTS);
    expect((await closed).code).toBe(4401);
  });

  it('closes with 4403 for a browser page of a foreign origin', async () => {
    expect(
      await connectRaw({ authorization: `Bearer ${aliceToken}` }, { origin: 'https://evil.example' }),
    ).toBe(4403);
  });

  it('delivers container events filtered by group, node and meta, and by ownership', async () => {
    const alice = wsClient(aliceToken);
    const admin = wsClient(adminToken);
    const doc = `subscription($g: ID, $n: ID, $m: ID) {
      containerStatusChanged(groupId: $g, nodeId: $n, metaId: $m) { container { id state metaId } previousState at } }`;
    const aliceAll = collect(alice, doc);
    const adminNodeB = collect(admin, doc, { n: 'host-b' });
    const adminMeta = collect(admin, doc, { m: 'meta-1' });
    const forbidden = collect(alice, doc, { g: bobGroup });
    await forbidden.next(1);
    expect(forbidden.results[0]?.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    // wait until the three live subscriptions are attached
    for (let i = 0; i < 100 && server.hub.listenerCount < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const at = new Date().toISOString();
    const a = world.containers.containers[0]!;
    const b = world.containers.containers[5]!;
    await publishEvent(world.bus, CHANNEL.containerStatus, {
      container: { ...a, state: 'EXITED' },
      previousState: 'RUNNING',
      at,
      groupIds: [aliceGroup],
    });
    await publishEvent(world.bus, CHANNEL.containerStatus, {
      container: { ...b, state: 'EXITED', metaId: 'meta-1' },
      previousState: 'RUNNING',
      at,
      groupIds: [bobGroup],
    });
    await aliceAll.next(1);
    await adminNodeB.next(1);
    await adminMeta.next(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(aliceAll.results.map((r) => r.data)).toEqual([
      {
        containerStatusChanged: {
          container: { id: a.id, state: 'EXITED', metaId: null },
          previousState: 'RUNNING',
          at,
        },
      },
    ]);
    expect(
      adminNodeB.results.map(
        (r) =>
          (r.data as { containerStatusChanged: { container: { id: string } } }).containerStatusChanged
            .container.id,
      ),
    ).toEqual([b.id]);
    expect(adminMeta.results.map((r) => JSON.stringify(r.data))).toEqual([expect.stringContaining(b.id)]);
    for (const s of [aliceAll, adminNodeB, adminMeta, forbidden]) s.dispose();
    await alice.dispose();
    await admin.dispose();
  });

  it('runs one execution for many clients with the same document, variables and scope', async () => {
    const clients = Array.from({ length: 5 }, () => wsClient(adminToken));
    const doc = 'subscription { nodeStatusChanged { node { id status } previousStatus } }';
    const subs = clients.map((c) => collect(c, doc));
    for (let i = 0; i < 100 && server.hub.listenerCount < 1; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const base = server.url.replace(/\/graphql$/, '');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/humpback_subscription_executions 1\b/);
    expect(server.hub.listenerCount).toBe(1);
    const node = (await world.services.nodes.get('node-a'))!;
    await publishEvent(world.bus, CHANNEL.nodeStatus, {
      node: { ...node, status: 'UNHEALTHY' },
      previousStatus: 'HEALTHY',
      at: new Date().toISOString(),
      groupIds: [aliceGroup],
    });
    for (const s of subs) await s.next(1);
    for (const s of subs) {
      expect(s.results[0]?.data).toEqual({
        nodeStatusChanged: { node: { id: 'node-a', status: 'UNHEALTHY' }, previousStatus: 'HEALTHY' },
      });
    }
    for (const s of subs) s.dispose();
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it('delivers meta events to owners only', async () => {
    const bob = wsClient(bobToken);
    const alice = wsClient(aliceToken);
    const doc = 'subscription { metaEvents { event metaId groupId timestamp payload } }';
    const bobSub = collect(bob, doc);
    const aliceSub = collect(alice, doc);
    for (let i = 0; i < 100 && server.hub.listenerCount < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await publishEvent(world.bus, CHANNEL.metaEvent, {
      event: 'CreateMetaEvent',
      timestamp: 1_700_000_000,
      groupId: bobGroup,
      metaId: 'm1',
      payload: { Event: 'CreateMetaEvent', MetaBase: { MetaId: 'm1' } },
    });
    await bobSub.next(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(bobSub.results[0]?.data).toMatchObject({ metaEvents: { event: 'CreateMetaEvent', metaId: 'm1' } });
    expect(aliceSub.results).toEqual([]);
    bobSub.dispose();
    aliceSub.dispose();
    await bob.dispose();
    await alice.dispose();
  });

  it('refuses too deep subscriptions', async () => {
    const admin = wsClient(adminToken);
    const sub = collect(
      admin,
      'subscription { nodeStatusChanged { node { containers { node { containers { node { containers { id } } } } } } } }',
    );
    await sub.next(1);
    expect(sub.results[0]?.errors?.[0]?.message).toMatch(/levels deep/);
    await admin.dispose();
  });
});

describe('open connections', () => {
  it('closes a listening connection with 4401 when its token expires or its user is deleted', async () => {
    const w = await createFakeWorld({ tokenTtlSeconds: 2 });
    const s = await createGatewayServer({
      config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
      services: w.services,
      bus: w.bus,
      logger,
      authRecheckMillis: 100,
    });
    try {
      await w.services.auth.createUser({ username: 'dave', password: 'dave-password', admin: false });
      const listen = async (token: string) => {
        const { socket, closed } = await openSocket(s.url, token);
        socket.send(META_EVENTS);
        return closed;
      };
      const admin = await w.services.auth.login('admin', 'admin-password', 'c1');
      const dave = await w.services.auth.login('dave', 'dave-password', 'c2');
      const adminClosed = listen(admin.token);
      const daveClosed = listen(dave.token);
      await new Promise((r) => setTimeout(r, 300));
      await w.services.auth.deleteUser('dave');
      const deletedAt = Date.now();
      expect((await daveClosed).code).toBe(4401);
      const expiry = await adminClosed;
      expect(expiry.code).toBe(4401);
      // The admin's connection lived until its token expired, after dave's was closed.
      expect(expiry.at).toBeGreaterThan(deletedAt);
    } finally {
      await s.close();
    }
  });

  it('closes with 4403 when the viewer loses access to a group, and not while the store is away', async () => {
    const w = await createFakeWorld();
    const s = await createGatewayServer({
      config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
      services: w.services,
      bus: w.bus,
      logger,
      authRecheckMillis: 100,
    });
    try {
      const frank = await w.services.auth.createUser({
        username: 'frank',
        password: 'frank-password',
        admin: false,
      });
      const group = await w.groups.create(
        { name: 'frank-g', clusterMode: false, servers: [] },
        { userId: frank.id },
      );
      const { token } = await w.services.auth.login('frank', 'frank-password', 'c3');
      const { socket, closed } = await openSocket(s.url, token);
      socket.send(META_EVENTS);

      // The store cannot be reached for a while: nothing is closed.
      const list = w.groups.list.bind(w.groups);
      w.groups.list = async () => {
        throw new Error('Connection is closed.');
      };
      await new Promise((r) => setTimeout(r, 400));
      expect(socket.readyState).toBe(WebSocket.OPEN);
      w.groups.list = list;

      const changedAt = Date.now();
      await w.groups.update(group.id, { owners: [] });
      const close = await closed;
      expect(close.code).toBe(4403);
      expect(close.at).toBeGreaterThanOrEqual(changedAt);
    } finally {
      await s.close();
    }
  });
});

describe('drain', () => {
  it('closes WebSocket clients with 1001 and turns /readyz to 503 on close', async () => {
    const w = await createFakeWorld();
    const s = await createGatewayServer({
      config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
      services: w.services,
      bus: w.bus,
      logger,
      drainMillis: 1000,
    });
    const token = (await w.services.auth.login('admin', 'admin-password', 't')).token;
    const { closed } = await openSocket(s.url, token);
    await s.close();
    expect((await closed).code).toBe(1001);
  });
});
