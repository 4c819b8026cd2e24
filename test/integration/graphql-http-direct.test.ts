/**
 * POST /graphql with a plain JSON body is answered without express (gateway/graphql/http-direct.ts):
 * every answer must be the one the express route gives. The same requests go to the gateway and to
 * a second HTTP server over the gateway's express app alone, and the answers are compared.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../core/logger.js';
import { createGatewayServer, type GatewayServer } from '../../gateway/graphql/server.js';
import { createFakeWorld } from './api-fakes.js';

let gateway: GatewayServer;
let viaExpress: http.Server;
let expressUrl: string;
let token: string;

beforeAll(async () => {
  const world = await createFakeWorld({ adminPassword: 'direct-password' });
  gateway = await createGatewayServer({
    config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
    services: world.services,
    bus: world.bus,
    logger,
  });
  token = (await world.services.auth.login('admin', 'direct-password', 'test')).token;
  viaExpress = http.createServer(gateway.app);
  viaExpress.keepAliveTimeout = gateway.httpServer.keepAliveTimeout;
  await new Promise<void>((resolve) => viaExpress.listen(0, '127.0.0.1', resolve));
  expressUrl = `http://127.0.0.1:${(viaExpress.address() as AddressInfo).port}/graphql`;
});

afterAll(async () => {
  await new Promise((resolve) => viaExpress.close(resolve));
  await gateway.close();
});

const JSON_TYPE = { 'content-type': 'application/json' };
const auth = () => ({ ...JSON_TYPE, authorization: `Bearer ${token}` });
const body = (value: unknown) => JSON.stringify(value);
const ME = { query: '{ me { id username } }' };

const CASES: Array<[name: string, headers: () => Record<string, string>, body: string | Buffer]> = [
  ['a query', auth, body(ME)],
  ['without a token', () => JSON_TYPE, body(ME)],
  ['with a bad token', () => ({ ...JSON_TYPE, authorization: 'Bearer nope' }), body(ME)],
  ['broken JSON', auth, '{"query": "{ me { id } }"'],
  ['a JSON syntax error', auth, '{"query": x}'],
  ['an empty body', auth, ''],
  ['a string', auth, '"abc"'],
  ['a number after spaces', auth, '  123'],
  ['only spaces', auth, '   '],
  ['null', auth, 'null'],
  ['a byte order mark', auth, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body(ME))])],
  [
    'invalid UTF-8',
    auth,
    Buffer.from([...Buffer.from('{"query":"{ me { id } }","x":"'), 0xff, 0xfe, 0x22, 0x7d]),
  ],
  [
    'variables too deep',
    auth,
    `{"query":"{ me { id } }","variables":{"a":${'['.repeat(40)}${']'.repeat(40)}}}`,
  ],
  ['a document too long', auth, body({ query: `{ me { id ${' '.repeat(40_000)} } }` })],
  ['a batch', auth, body([ME])],
  ['no query', auth, body({ variables: {} })],
  ['a query that is no string', auth, body({ query: 5 })],
  ['a parse error', auth, body({ query: '{ me { id ' })],
  ['a validation error', auth, body({ query: '{ nope }' })],
  [
    'a bad variable',
    auth,
    body({ query: 'query($id: ID!) { container(id: $id) { id } }', variables: { id: 5.5 } }),
  ],
  ['a missing variable', auth, body({ query: 'query($id: ID!) { container(id: $id) { id } }' })],
  ['a subscription', auth, body({ query: 'subscription { nodeStatusChanged { at } }' })],
  [
    'a failing mutation',
    auth,
    body({ query: 'mutation { login(username: "admin", password: "wrong") { token } }' }),
  ],
  ['two operations, no name', auth, body({ query: 'query A { me { id } } query B { me { id } }' })],
  [
    'two operations, one named',
    auth,
    body({ query: 'query A { me { id } } query B { me { id } }', operationName: 'B' }),
  ],
  [
    'a persisted query hash that does not match',
    auth,
    body({ ...ME, extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
  ],
  ['charset=utf-8', () => ({ ...auth(), 'content-type': 'application/json; charset=utf-8' }), body(ME)],
  ['charset="UTF-8"', () => ({ ...auth(), 'content-type': 'application/json; charset="UTF-8"' }), body(ME)],
  ['an upper-case media type', () => ({ ...auth(), 'content-type': 'Application/JSON' }), body(ME)],
  [
    'Accept: graphql-response+json',
    () => ({ ...auth(), accept: 'application/graphql-response+json' }),
    body(ME),
  ],
  ['Accept: text/html', () => ({ ...auth(), accept: 'text/html' }), body(ME)],
  ['text/plain (CSRF prevention)', () => ({ ...auth(), 'content-type': 'text/plain' }), body(ME)],
  [
    'a charset express.json refuses',
    () => ({ ...auth(), 'content-type': 'application/json; charset=latin1' }),
    body(ME),
  ],
  ['a body over the limit', auth, body({ ...ME, variables: { pad: 'x'.repeat(300_000) } })],
];

interface Answer {
  status: number;
  headers: string[];
  text: string;
}

async function ask(url: string, headers: Record<string, string>, payload: string | Buffer): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers, body: payload });
  return {
    status: res.status,
    headers: [...res.headers.entries()].filter(([k]) => k !== 'date').map(([k, v]) => `${k}: ${v}`),
    text: await res.text(),
  };
}

describe('POST /graphql without express', () => {
  it.each(CASES)('answers %s exactly as the express route does', async (_name, headers, payload) => {
    const direct = await ask(gateway.url, headers(), payload);
    const express = await ask(expressUrl, headers(), payload);
    expect(direct).toEqual(express);
  });

  it('leaves a chunked body (no Content-Length) to express, which answers it', async () => {
    const chunked = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: auth(),
        body: new Blob([body(ME)]).stream(),
        duplex: 'half',
      } as RequestInit);
    const [direct, express] = [await chunked(gateway.url), await chunked(expressUrl)];
    expect(direct.status).toBe(200);
    expect(await direct.json()).toEqual(await express.json());
  });

  it('answers what it should, not merely the same', async () => {
    const ok = await ask(gateway.url, auth(), body(ME));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ data: { me: { id: 'admin', username: 'admin' } } });
    const broken = await ask(gateway.url, auth(), '{"query": x}');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.text).errors[0].extensions).toEqual({ code: 'BAD_REQUEST' });
    const deep = await ask(gateway.url, auth(), `{"variables":{"a":${'['.repeat(40)}${']'.repeat(40)}}}`);
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
