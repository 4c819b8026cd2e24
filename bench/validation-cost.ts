/**
 * Validation cost: how long the gateway takes over each hostile document of issue 17 (and the worst
 * ones the default limits still let through) against normal queries, in one process. For each:
 * in-process (what the gateway does with the request body before it runs anything: the nesting scan,
 * JSON.parse, size checks, parse, validation with the gateway's rules, complexity), over HTTP and
 * over graphql-ws (one connection), the median of --runs sequential requests. Every request sends a
 * new query text (a comment changes), so Apollo's document cache never answers it.
 *
 *   npx tsx bench/validation-cost.ts [--runs 30]
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import {
  getIntrospectionQuery,
  getOperationAST,
  GraphQLError,
  Lexer,
  parse,
  Source,
  specifiedRules,
  TokenKind,
  validate,
} from 'graphql';
import WebSocket from 'ws';
import { logger } from '../core/logger.js';
import {
  complexityError,
  costLimitRule,
  documentSizeError,
  variablesError,
} from '../gateway/graphql/guards.js';
import { jsonNestsDeeper } from '../gateway/graphql/cost.js';
import { createGatewayServer, MAX_VALIDATION_ERRORS, resolveLimits } from '../gateway/graphql/server.js';
import { createFakeWorld } from '../test/integration/api-fakes.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
const runs = Number(values.runs);

interface Case {
  name: string;
  query: string;
  operationName?: string;
  /** Raw JSON text (JSON.stringify cannot write 100,000 levels). */
  variables?: string;
}

const doubling = (levels: number): string => {
  let q = '{ me { ...F0 } }';
  for (let i = 0; i < levels - 1; i++) q += ` fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`;
  return `${q} fragment F${levels - 1} on User { id }`;
};
const list = (n: number, item: (i: number) => string, sep = ' ') =>
  Array.from({ length: n }, (_, i) => item(i)).join(sep);

const tokens = (query: string): number => {
  const lexer = new Lexer(new Source(query));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
};
const limits = resolveLimits();
/** The largest n for which `make(n)` stays within the token limit (`over`: the smallest beyond it). */
const fit = (make: (n: number) => string, over = false): string => {
  let n = 1;
  while (tokens(make(n + 1)) <= limits.maxTokens) n++;
  return make(over ? n + 1 : n);
};

const CASES: Case[] = [
  { name: 'normal: me', query: 'query Me { me { id username admin } }' },
  {
    name: 'normal: containers page',
    query:
      'query Containers($first: Int) { containers(first: $first) { totalCount endCursor hasNextPage ' +
      'nodes { id name nodeId image state status metaId index createdAt node { id name ip } } } }',
    variables: '{"first":50}',
  },
  {
    name: 'normal: dashboard',
    query:
      '{ groups { id name clusterMode } nodes { id name ip status } all: containers(first: 0) { totalCount } ' +
      list(6, (i) => `s${i}: containers(state: RUNNING, first: 0) { totalCount }`) +
      ' metas: containers(first: 0) { totalCount } }',
  },
  { name: 'normal: introspection', query: getIntrospectionQuery({ descriptions: true }) },
  { name: 'fragment doubling, 23 levels', query: doubling(23) },
  { name: 'fragment doubling, token limit', query: fit(doubling) },
  { name: 'same field, token limit', query: fit((n) => `{ me { ${'id '.repeat(n)} } }`) },
  { name: 'me { id } repeated', query: fit((n) => `{ ${'me { id } '.repeat(n)} }`) },
  {
    name: 'nested duplicates',
    query: fit((n) => `{ ${'groups { nodes { containers { id } } } '.repeat(n)} }`),
  },
  {
    name: 'fragments at one place',
    query: fit(
      (n) =>
        `{ me { ${list(n, (i) => `...F${i}`)} } } ${list(n, (i) => `fragment F${i} on User { id username }`)}`,
    ),
  },
  {
    name: 'conflicting aliases',
    query: fit((n) => `{ me { ${list(n, (i) => `a: ${i % 2 ? 'id' : 'username'}`)} } }`),
  },
  { name: 'accepted: me { id } 32 times', query: `{ ${'me { id } '.repeat(32)} }` },
  { name: 'accepted: aliases, token limit', query: fit((n) => `{ ${list(n, (i) => `a${i}: me { id }`)} }`) },
  {
    name: 'accepted: fragments, 1000 sel.',
    query: `{ ${list(10, (i) => `a${i}: me { ...F0 }`)} } fragment F0 on User { ${list(49, (i) => `b${i}: id`)} }`,
  },
  { name: 'operations, token limit', query: fit((n) => list(n, (i) => `query Q${i} { me { id } }`)) },
  {
    name: 'accepted: 20 operations',
    query: list(20, (i) => `query Q${i} { me { id } }`),
    operationName: 'Q0',
  },
  { name: 'nesting, token limit', query: fit((n) => `{ ${'me { '.repeat(n)} id ${'} '.repeat(n)} }`) },
  {
    name: 'list literal, token limit',
    query: fit((n) => `{ container(id: ${'['.repeat(n)}"x"${']'.repeat(n)}) { id } }`),
  },
  {
    name: 'unused variables, token limit',
    query: fit((n) => `query(${list(n, (i) => `$v${i}: Int`)}) { me { id } }`),
  },
  {
    name: 'repeated directives, token limit',
    query: fit((n) => `{ me { id ${'@skip(if: false) '.repeat(n)} } }`),
  },
  { name: 'one token over the limit', query: fit((n) => `{ me { ${'id '.repeat(n)} } }`, true) },
  { name: '32 KB comment (accepted)', query: `{ me { id } }\n# ${'x'.repeat(32_000)}` },
  { name: '40 KB comment', query: `{ me { id } }\n# ${'x'.repeat(40_000)}` },
  {
    name: 'variables 100,000 deep',
    query: 'query($id: ID!) { container(id: $id) { id } }',
    variables: `{"id":${'['.repeat(100_000)}"x"${']'.repeat(100_000)}}`,
  },
  {
    name: 'variables 16 deep, 60 KB',
    query: 'query($id: ID!) { container(id: $id) { id } }',
    variables: JSON.stringify({
      id: 'x',
      pad: Array.from({ length: 250 }, () =>
        JSON.parse(`${'['.repeat(15)}"${'y'.repeat(200)}"${']'.repeat(15)}`),
      ),
    }),
  },
  {
    name: 'variables 70 KB',
    query: 'query($id: ID!) { container(id: $id) { id } }',
    variables: JSON.stringify({ id: 'x'.repeat(70_000) }),
  },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const ms = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e6;

const world = await createFakeWorld({ adminPassword: 'bench-password' });
const gateway = await createGatewayServer({
  config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
  services: world.services,
  bus: world.bus,
  logger,
  ws: { flushMillis: 0 }, // no write-coalescing window in the figures
});
const { token } = await world.services.auth.login('admin', 'bench-password', 'bench');
const rules = [...specifiedRules, costLimitRule(limits)];

const bodyOf = (c: Case, query: string): string =>
  `{"query":${JSON.stringify(query)},"operationName":${JSON.stringify(c.operationName ?? null)},"variables":${c.variables ?? '{}'}}`;

/** What the gateway does with a request body before running its operation; returns the refusal's code. */
function inProcess(body: Buffer): string {
  if (jsonNestsDeeper(body, limits.maxVariablesDepth + 2)) return 'BAD_USER_INPUT';
  const { query, operationName, variables } = JSON.parse(String(body)) as {
    query: string;
    operationName: string | null;
    variables: Record<string, unknown>;
  };
  const early =
    documentSizeError(query, limits.maxDocumentBytes) ??
    variablesError(variables, { maxDepth: limits.maxVariablesDepth, maxBytes: limits.maxVariablesBytes });
  if (early) return String(early.extensions['code']);
  let document;
  try {
    document = parse(query, { maxTokens: limits.maxTokens });
  } catch (err) {
    return err instanceof GraphQLError ? 'GRAPHQL_PARSE_FAILED' : 'threw';
  }
  const errors = validate(gateway.schema, document, rules, { maxErrors: MAX_VALIDATION_ERRORS });
  if (errors.length > 0) return 'GRAPHQL_VALIDATION_FAILED';
  if (!getOperationAST(document, operationName)) return 'OPERATION_RESOLUTION_FAILURE';
  const tooComplex = complexityError({
    schema: gateway.schema,
    document,
    operationName,
    variables,
    max: limits.maxComplexity,
  });
  return tooComplex ? 'GRAPHQL_VALIDATION_FAILED' : 'ok';
}

async function overHttp(c: Case, query: string): Promise<string> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: bodyOf(c, query),
  });
  const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
  return body.errors?.[0]?.extensions?.code ?? 'ok';
}

const socket = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
await new Promise<void>((resolve) => socket.once('open', () => resolve()));
socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
await new Promise<void>((resolve) => socket.once('message', () => resolve()));
const pending = new Map<string, (code: string) => void>();
socket.on('message', (data) => {
  const m = JSON.parse(String(data)) as { id: string; type: string; payload?: unknown };
  const done = pending.get(m.id);
  if (!done) return;
  if (m.type === 'error') {
    pending.delete(m.id);
    done((m.payload as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code ?? 'error');
  } else if (m.type === 'complete') {
    pending.delete(m.id);
    done('ok');
  }
});
let wsId = 0;
function overWs(c: Case, query: string): Promise<string> {
  const id = String(++wsId);
  return new Promise((resolve) => {
    pending.set(id, resolve);
    socket.send(
      `{"id":"${id}","type":"subscribe","payload":{"query":${JSON.stringify(query)},"operationName":${JSON.stringify(c.operationName ?? null)},"variables":${c.variables ?? 'null'}}}`,
    );
  });
}

console.log(`median of ${runs} runs each (ms); outcome is the error code the gateway answers with`);
console.log(
  `${'document'.padEnd(34)} ${'bytes'.padStart(7)}  ${'outcome'.padEnd(26)} ${'in-process'.padStart(10)} ${'HTTP'.padStart(8)} ${'ws'.padStart(8)}`,
);
let serial = 0;
for (const c of CASES) {
  const fresh = () => `${c.query}\n# ${++serial}`;
  const times = { local: [] as number[], http: [] as number[], ws: [] as number[] };
  let outcome = '';
  for (let i = 0; i < runs + 3; i++) {
    const body = Buffer.from(bodyOf(c, fresh()));
    let t = process.hrtime.bigint();
    outcome = inProcess(body);
    const local = ms(t);
    t = process.hrtime.bigint();
    const http = await overHttp(c, fresh());
    const httpMs = ms(t);
    t = process.hrtime.bigint();
    const ws = await overWs(c, fresh());
    const wsMs = ms(t);
    if (http !== outcome || ws !== outcome) outcome = `${outcome} / http ${http} / ws ${ws}`;
    if (i < 3) continue; // warm-up
    times.local.push(local);
    times.http.push(httpMs);
    times.ws.push(wsMs);
  }
  console.log(
    `${c.name.padEnd(34)} ${String(Buffer.byteLength(c.query) + (c.variables?.length ?? 0)).padStart(7)}  ${outcome.padEnd(26)} ${median(times.local).toFixed(2).padStart(10)} ${median(times.http).toFixed(2).padStart(8)} ${median(times.ws).toFixed(2).padStart(8)}`,
  );
}
socket.close();
await gateway.close();
