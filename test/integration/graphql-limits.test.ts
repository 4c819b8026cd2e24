import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getIntrospectionQuery, Kind, parse, visit, type DocumentNode } from 'graphql';
import { pino } from 'pino';
import WebSocket from 'ws';
import { measureDocument } from '../../gateway/graphql/cost.js';
import { createGatewayServer, type GatewayServer } from '../../gateway/graphql/server.js';
import { CHANNEL, publishEvent } from '../../core/bus/channels.js';
import { createFakeWorld, type FakeWorld } from './api-fakes.js';

// The gateway runs with its default limits (README, "The GraphQL API"): documents of at most 32 KiB,
// 1,000 tokens and 20 operations, 10 levels, 1,000 selections with fragments expanded, 1,000 field
// merges, variables 16 levels deep and 64 KiB, bodies and messages of 256 KiB, 100 operations at once
// per graphql-ws connection.

interface GqlError {
  message: string;
  extensions?: Record<string, unknown>;
}
interface GqlResponse {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: GqlError[];
}

let world: FakeWorld;
let server: GatewayServer;
let adminToken: string;
const logLines: Array<{ level: number; msg?: string }> = [];

/** `{ me { ...F0 } }` where each fragment spreads the next one twice: 2^(levels-1) copies of `id`. */
function doubling(levels: number): string {
  let query = '{ me { ...F0 } }';
  for (let i = 0; i < levels - 1; i++) query += ` fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`;
  return `${query} fragment F${levels - 1} on User { id }`;
}

/** Fields, inline fragments and fragment spreads written in the document (not expanded). */
function selectionNodes(document: DocumentNode): number {
  let n = 0;
  visit(document, {
    [Kind.FIELD]: () => void n++,
    [Kind.INLINE_FRAGMENT]: () => void n++,
    [Kind.FRAGMENT_SPREAD]: () => void n++,
  });
  return n;
}

/** POSTs `body` (a string is sent as it is: JSON.stringify cannot write 100,000 levels). */
async function post(body: unknown, token?: string): Promise<GqlResponse> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, ...((await res.json()) as Omit<GqlResponse, 'status'>) };
}

const gql = (query: string, variables: Record<string, unknown> = {}, token?: string) =>
  post({ query, variables }, token);

const first = (r: { errors?: GqlError[] | undefined }) => r.errors?.[0];

type WsMessage = { id?: string; type: string; payload?: unknown };

/** A raw graphql-transport-ws connection: send operations, wait for messages by id, with deadlines. */
class Socket {
  readonly messages: WsMessage[] = [];
  closeCode: number | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as WsMessage);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static async open(token: string): Promise<Socket> {
    const ws = new WebSocket(server.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const socket = new Socket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await socket.until((m) => m.type === 'connection_ack');
    return socket;
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>): void {
    this.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  }

  send(message: string): void {
    this.ws.send(message);
  }

  complete(id: string): void {
    this.ws.send(JSON.stringify({ id, type: 'complete' }));
  }

  /** Resolves with the first message (from the start) that matches; fails after `ms` or on close. */
  async until(match: (m: WsMessage) => boolean, ms = 5000): Promise<WsMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.closeCode !== undefined) throw new Error(`socket closed with ${this.closeCode}`);
      if (Date.now() > deadline) throw new Error('no such message before the deadline');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** The errors the server answered operation `id` with. */
  async errorsOf(id: string): Promise<GqlError[]> {
    const m = await this.until((x) => x.id === id && (x.type === 'error' || x.type === 'next'));
    if (m.type !== 'error') throw new Error(`operation ${id} was not refused: ${JSON.stringify(m)}`);
    return m.payload as GqlError[];
  }

  /** Runs a query to its end and returns its result. */
  async query(id: string, query: string): Promise<GqlResponse> {
    this.subscribe(id, query);
    const m = await this.until((x) => x.id === id && (x.type === 'next' || x.type === 'error'));
    if (m.type === 'error') return { status: 0, errors: m.payload as GqlError[] };
    await this.until((x) => x.id === id && x.type === 'complete');
    return { status: 0, ...(m.payload as Omit<GqlResponse, 'status'>) };
  }

  async close(): Promise<void> {
    if (this.closeCode !== undefined) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close();
    await closed;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

beforeAll(async () => {
  world = await createFakeWorld({ adminPassword: 'admin-password' });
  server = await createGatewayServer({
    config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
    services: world.services,
    bus: world.bus,
    logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) }),
  });
  const r = await gql('mutation { login(username: "admin", password: "admin-password") { token } }');
  adminToken = (r.data?.['login'] as { token: string }).token;
  world.nodes.add({ id: 'node-a', ip: '10.0.0.1', name: 'host-a' });
});

afterAll(async () => {
  await server?.close();
});

describe('fragment blow-up', () => {
  it('measures a document once per fragment, however often its fragments are spread', () => {
    for (const levels of [23, 300]) {
      const document = parse(doubling(levels));
      const shape = measureDocument(document, { countMergesUpTo: 1000 });
      // each selection written in the document is walked once: 47 for 23 levels, not 2^23
      expect(shape.visited).toBe(selectionNodes(document));
      expect(shape.selections).toBe(3 * 2 ** (levels - 1));
      expect(shape.merges).toBeUndefined(); // never expanded: it is far over the selection limit
    }
    // within the limit, the merge count walks the expanded document once more, and no further
    const small = parse(doubling(8));
    const shape = measureDocument(small, { countMergesUpTo: 1000 });
    expect(shape.visited).toBe(selectionNodes(small) + shape.selections);
    expect(shape.merges).toEqual({ pairs: (128 * 127) / 2, worstPath: 'me.id', worstCount: 128 });
  });

  it('refuses the 23-level document without a token, by the rule that refuses a small one', async () => {
    for (const levels of [12, 23]) {
      const r = await gql(doubling(levels));
      expect(r.status).toBe(400);
      expect(r.errors).toHaveLength(1);
      expect(first(r)?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(first(r)?.message).toBe(
        `the document makes ${3 * 2 ** (levels - 1)} selections once its fragment spreads are expanded; ` +
          'at most 1000 are allowed',
      );
    }
    // nothing else validated it: the unknown field would have been reported by graphql's own rules
    const r = await gql(
      `${doubling(23)} fragment X on User { noSuchField }`.replace('{ me {', '{ me { ...X'),
    );
    expect(r.errors?.map((e) => e.message)).toEqual([expect.stringMatching(/selections once its fragment/)]);
  });

  it('keeps /healthz answering while the document is sent again and again', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    const socket = await Socket.open(adminToken);
    const hostile = Array.from({ length: 20 }, () => gql(doubling(23)));
    for (let i = 0; i < 20; i++) socket.subscribe(`h${i}`, doubling(23));
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    for (const r of await Promise.all(hostile))
      expect(first(r)?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    for (let i = 0; i < 20; i++) {
      expect((await socket.errorsOf(`h${i}`))[0]?.message).toMatch(/selections once its fragment spreads/);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await socket.close();
  });

  it('refuses it over graphql-ws with the same error, and the connection stays usable', async () => {
    const socket = await Socket.open(adminToken);
    socket.subscribe('1', doubling(23));
    const errors = await socket.errorsOf('1');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errors[0]?.message).toMatch(/^the document makes 12582912 selections/);
    expect((await socket.query('2', '{ me { id } }')).data).toEqual({ me: { id: 'admin' } });
    await socket.close();
  });
});

describe('document limits', () => {
  const tooManyTokens = `{ me { ${'id '.repeat(2000)} } }`;
  const tooLong = `{ me { id } }\n# ${'x'.repeat(40_000)}`;
  const tooManyMerges = `{ ${'me { id } '.repeat(60)} }`; // `me` and `me.id` 60 times: 2 × 1770 pairs
  const tooManyOperations = Array.from({ length: 21 }, (_, i) => `query Q${i} { me { id } }`).join(' ');

  it('refuses documents over the token, size, field-merge and operation limits over HTTP', async () => {
    const tokens = await gql(tooManyTokens, {}, adminToken);
    expect(tokens.status).toBe(400);
    expect(first(tokens)?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    expect(first(tokens)?.message).toMatch(/contains more th\w+ 1000 tokens/);

    const long = await gql(tooLong, {}, adminToken);
    expect(long.status).toBe(400);
    expect(first(long)?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    expect(first(long)?.message).toBe(
      `the document is ${Buffer.byteLength(tooLong)} bytes long; at most 32768 are allowed`,
    );

    const merges = await gql(tooManyMerges, {}, adminToken);
    expect(merges.status).toBe(400);
    expect(merges.errors).toHaveLength(1);
    expect(first(merges)?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(first(merges)?.message).toBe(
      'the document asks for the same fields at the same place too often: 3540 pairs of fields to merge ' +
        '(`me` is asked for 60 times); at most 1000 pairs are allowed',
    );
    const operations = await post({ query: tooManyOperations, operationName: 'Q0' }, adminToken);
    expect(operations.status).toBe(400);
    expect(first(operations)).toEqual({
      message: 'the document has 21 operations; at most 20 are allowed',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', operations: 21, maxOperations: 20 },
    });
    const twenty = await post(
      { query: tooManyOperations.replace(/ query Q20 .*$/, ''), operationName: 'Q19' },
      adminToken,
    );
    expect(twenty.data).toEqual({ me: { id: 'admin' } });
    // the same fields asked a few times still merge as GraphQL says
    const fine = await gql(`{ ${'me { id } '.repeat(10)} }`, {}, adminToken);
    expect(fine.errors).toBeUndefined();
    expect(fine.data).toEqual({ me: { id: 'admin' } });
  });

  it('refuses the same documents over graphql-ws', async () => {
    const socket = await Socket.open(adminToken);
    socket.subscribe('t', tooManyTokens);
    socket.subscribe('l', tooLong);
    socket.subscribe('m', tooManyMerges);
    socket.subscribe('o', 'query A { me { id } } query B { me { username } }');
    socket.subscribe(
      'd',
      '{ groups { nodes { containers { node { containers { node { containers { node { containers { node { id } } } } } } } } } } }',
    );
    expect((await socket.errorsOf('t'))[0]).toMatchObject({
      message: expect.stringMatching(/contains more th\w+ 1000 tokens/),
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
    expect((await socket.errorsOf('l'))[0]).toMatchObject({
      message: expect.stringMatching(/at most 32768 are allowed/),
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
    expect((await socket.errorsOf('m'))[0]).toMatchObject({
      message: expect.stringMatching(/3540 pairs of fields to merge/),
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    expect((await socket.errorsOf('d'))[0]).toMatchObject({
      message: 'operation is 11 levels deep; at most 10 are allowed',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    expect((await socket.errorsOf('o'))[0]?.extensions?.['code']).toBe('OPERATION_RESOLUTION_FAILURE');
    await socket.close();
  });

  it('lets the full introspection query through', async () => {
    const r = await gql(
      getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true }),
    );
    expect(r.errors).toBeUndefined();
    expect((r.data?.['__schema'] as { types: unknown[] }).types.length).toBeGreaterThan(20);
  });
});

describe('variables', () => {
  const query = 'query($id: ID!) { container(id: $id) { id } }';
  const deep = `{"id":${'['.repeat(100_000)}"x"${']'.repeat(100_000)}}`;

  it('refuses variables nested 100,000 deep with BAD_USER_INPUT naming the limit, on HTTP and ws', async () => {
    const r = await post(`{"query":${JSON.stringify(query)},"variables":${deep}}`, adminToken);
    expect(r.status).toBe(400);
    expect(first(r)).toEqual({
      message: 'variables are nested more than 16 levels deep; at most 16 are allowed',
      extensions: { code: 'BAD_USER_INPUT', maxVariablesDepth: 16 },
    });
    const socket = await Socket.open(adminToken);
    socket.send(
      `{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(query)},"variables":${deep}}}`,
    );
    expect((await socket.errorsOf('1'))[0]).toEqual(first(r));
    expect(socket.closeCode).toBeUndefined();
    expect((await socket.query('2', '{ me { id } }')).data).toEqual({ me: { id: 'admin' } });
    await socket.close();
  });

  it('refuses deep variables in a GET request, and a deep message that is no operation', async () => {
    const url = new URL(server.url);
    url.searchParams.set('query', query);
    url.searchParams.set('variables', `{"id":${'['.repeat(1000)}"x"${']'.repeat(1000)}}`);
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${adminToken}`, 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as GqlResponse).errors?.[0]).toEqual({
      message: 'variables are nested more than 16 levels deep; at most 16 are allowed',
      extensions: { code: 'BAD_USER_INPUT', maxVariablesDepth: 16 },
    });
    const socket = await Socket.open(adminToken);
    socket.send(`{"type":"ping","payload":${'['.repeat(100)}1${']'.repeat(100)}}`);
    await expect(socket.until(() => false, 2000)).rejects.toThrow('socket closed with 4400');
  });

  it('refuses bodies and messages over 256 KiB', async () => {
    const big = { query: '{ me { id } }', variables: { pad: 'x'.repeat(300_000) } };
    const r = await post(big, adminToken);
    expect(r.status).toBe(413);
    expect(first(r)?.message).toBe('request body larger than 262144 bytes');
    const socket = await Socket.open(adminToken);
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: big }));
    await expect(socket.until(() => false, 2000)).rejects.toThrow('socket closed with 1009');
  });

  it('refuses variables over 64 KiB, and lets ordinary ones through', async () => {
    const r = await gql(query, { id: 'x'.repeat(70_000) }, adminToken);
    expect(r.status).toBe(400);
    expect(first(r)?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(first(r)?.message).toBe(
      'variables are larger than 65536 bytes of JSON; at most 65536 are allowed',
    );
    const nested = { id: 'x', pad: [[[[[[[[[[[[[[[['16 levels']]]]]]]]]]]]]]]] };
    const ok = await gql(query, nested, adminToken);
    expect(ok.errors).toBeUndefined();
    expect(ok.data).toEqual({ container: null });
  });
});

describe('persisted queries', () => {
  it('answers a hash that does not match its query as a client error and does not log it as one', async () => {
    logLines.length = 0;
    const query = '{ me { id } }';
    const r = await post({
      query,
      extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
    });
    expect(r.status).toBe(400);
    expect(r.errors).toEqual([
      {
        message:
          'extensions.persistedQuery.sha256Hash is not the SHA-256 of the query: send the hex SHA-256 of the exact query text',
        extensions: { code: 'BAD_REQUEST' },
      },
    ]);
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
    // the right hash works (and registers the query)
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const ok = await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }, adminToken);
    expect(ok.data).toEqual({ me: { id: 'admin' } });
  });
});

describe('operations per graphql-ws connection', () => {
  const NODES = 'subscription { nodeStatusChanged { node { id status } } }';

  it('refuses the 101st operation running at once, with RATE_LIMITED, and keeps the others', async () => {
    const socket = await Socket.open(adminToken);
    for (let i = 1; i <= 101; i++) socket.subscribe(`s${i}`, NODES);
    const refused = await socket.errorsOf('s101');
    expect(refused).toEqual([
      {
        message: 'at most 100 operations may run at once on one connection; complete one first',
        extensions: { code: 'RATE_LIMITED', maxOperationsPerSocket: 100 },
      },
    ]);
    // a query counts too while the 100 run
    expect(first(await socket.query('q1', '{ me { id } }'))?.extensions?.['code']).toBe('RATE_LIMITED');
    // completing one makes room for one
    socket.complete('s1');
    socket.subscribe('s102', NODES);
    socket.subscribe('s103', NODES);
    expect(first({ errors: await socket.errorsOf('s103') })?.extensions?.['code']).toBe('RATE_LIMITED');

    for (let i = 0; i < 100 && server.hub.listenerCount < 1; i++) await new Promise((r) => setTimeout(r, 20));
    const node = (await world.services.nodes.get('node-a'))!;
    await publishEvent(world.bus, CHANNEL.nodeStatus, {
      node: { ...node, status: 'UNHEALTHY' },
      previousStatus: 'HEALTHY',
      at: new Date().toISOString(),
      groupIds: [],
    });
    const live = [...Array.from({ length: 99 }, (_, i) => `s${i + 2}`), 's102'];
    for (const id of live) await socket.until((m) => m.id === id && m.type === 'next');
    expect(socket.messages.some((m) => m.id === 's1' && m.type === 'next')).toBe(false);
    expect(socket.closeCode).toBeUndefined();

    // operations that end give their place back: 150 queries one after another, once the 100 are done
    for (const id of live) socket.complete(id);
    for (let i = 0; i < 150; i++) {
      expect((await socket.query(`after${i}`, '{ me { id } }')).data).toEqual({ me: { id: 'admin' } });
    }
    await socket.close();
  });
});
