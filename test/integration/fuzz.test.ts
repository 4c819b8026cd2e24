// Seeded fuzzing of everything a client can reach: GraphQL over HTTP and graphql-ws on a real gateway,
// and the agent's REST API on a real agent and engine. Thousands of hostile cases per run, the same
// on every run (FUZZ_SEED replays another seed). Asserted for every answer: no 5xx other than the
// documented ones, no stack trace or file path, no success without a valid token; afterwards both
// processes answer their health checks.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv } from '../helpers/test-env.js';
import {
  EXTREME_NUMBERS,
  HOSTILE_STRINGS,
  Rng,
  brokenJson,
  fuzzSeed,
  hostileJson,
  leaks,
} from '../helpers/fuzz.js';
import {
  AGENT_TOKEN,
  TempDirs,
  TestClient,
  gatewayConfig,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = loadTestEnv();
const engine = engineNamed(env, 'n1');
const docker: Docker = dockerFor(engine);
const run = randomBytes(3).toString('hex');
const tmp = new TempDirs();
/** A few seconds on a quiet machine; generous for a machine that is busy with more than this. */
const FUZZ_TIMEOUT = 240_000;

let gateway: RunningGateway;
let agent: RunningAgent & { address: string };
let schema: GraphQLSchema;
let adminToken: string;
let userToken: string;
let containersBefore: Set<string>;

/** A finding: what was sent, what came back, and why it is wrong. */
interface Finding {
  case: string;
  problem: string;
  answer: string;
}

/** Runs `count` cases, `width` at a time. */
async function inParallel(count: number, width: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await one(next++);
    }),
  );
}

/** encodeURIComponent for any string (a lone surrogate becomes U+FFFD instead of throwing). */
const uri = (s: string): string => encodeURIComponent(s.replace(/\p{Cs}/gu, '\ufffd'));

/** Header values are bytes: what fetch can send of a string (anything else becomes '?'). */
const latin1 = (s: string): string => s.replace(/[^\x20-\x7e\x80-\xff\t]/g, '?');

/** Fails with one example per kind of problem (the first case of each), and how many there were. */
function expectNoFindings(findings: Finding[], seed: number): void {
  const byProblem = new Map<string, Finding & { count: number }>();
  for (const f of findings) {
    const key = f.problem.replace(/\d+/g, 'N');
    const seen = byProblem.get(key);
    if (seen) seen.count++;
    else byProblem.set(key, { ...f, count: 1 });
  }
  expect([...byProblem.values()], `seed ${seed}: ${findings.length} findings`).toEqual([]);
}

function describeCase(what: unknown): string {
  const text = typeof what === 'string' ? what : JSON.stringify(what);
  return text.length > 300 ? `${text.slice(0, 300)}... (${text.length} chars)` : text;
}

// ---------------------------------------------------------------------------------------------------
// GraphQL documents from the schema itself

/**
 * Arguments and fields that name a host or URL get addresses of this machine or invalid ones only:
 * the gateway would resolve and dial anything else, and the tests never use the network beyond this
 * machine.
 */
const ADDRESS_NAME = /server|url|target|address|host|registry|endpoint/i;
const SAFE_ADDRESSES = [
  '127.0.0.1:9',
  '127.0.0.1',
  '[::1]:9',
  '',
  ' ',
  '\u0000',
  'http://127.0.0.1:9/x',
  'https://127.0.0.1:9',
  'not a host!',
  '256.1.1.1',
  '127.0.0.1:99999',
  'file:///etc/passwd',
  'x'.repeat(300),
];

/** A value for an input type: mostly of the right shape with hostile content, sometimes of any shape. */
function inputValue(rng: Rng, type: GraphQLInputType, depth = 0, name = ''): unknown {
  if (ADDRESS_NAME.test(name)) {
    const named = getNamedType(type);
    const one = () => rng.pick(SAFE_ADDRESSES);
    if (isInputObjectType(named)) return inputObject(rng, named, depth);
    return isListType(isNonNullType(type) ? type.ofType : type) ? [one(), one()] : one();
  }
  if (rng.chance(0.08)) return hostileJson(rng, 2);
  if (isNonNullType(type)) return inputValue(rng, type.ofType, depth);
  if (rng.chance(0.05)) return null;
  if (isListType(type)) {
    if (rng.chance(0.02)) return Array.from({ length: 5000 }, () => 'x');
    return Array.from({ length: rng.int(3) }, () => inputValue(rng, type.ofType, depth + 1, name));
  }
  if (isEnumType(type)) {
    return rng.chance(0.8) ? rng.pick(type.getValues()).value : rng.pick(HOSTILE_STRINGS);
  }
  if (isInputObjectType(type)) {
    if (depth > 4) return {};
    const out: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields()))
      if (isNonNullType(field.type) || rng.chance(0.5))
        out[field.name] = inputValue(rng, field.type, depth + 1);
    if (rng.chance(0.1)) out[rng.pick(HOSTILE_STRINGS).slice(0, 30) || 'extra'] = hostileJson(rng, 1);
    return out;
  }
  switch (type.name) {
    case 'Int':
      return rng.chance(0.7) ? rng.pick(EXTREME_NUMBERS) : rng.int(100);
    case 'Float':
      return rng.pick(EXTREME_NUMBERS);
    case 'Boolean':
      return rng.chance(0.5);
    case 'DateTime':
      return rng.pick(['2026-01-01T00:00:00Z', '0000-00-00', '9999-99-99T99:99:99Z', ...HOSTILE_STRINGS]);
    default:
      return rng.pick(HOSTILE_STRINGS);
  }
}

function inputObject(rng: Rng, type: GraphQLInputObjectType, depth: number): Record<string, unknown> {
  if (depth > 4) return {};
  const out: Record<string, unknown> = {};
  for (const field of Object.values(type.getFields()))
    if (isNonNullType(field.type) || rng.chance(0.5))
      out[field.name] = inputValue(rng, field.type, depth + 1, field.name);
  if (rng.chance(0.1)) out[rng.pick(HOSTILE_STRINGS).slice(0, 30) || 'extra'] = hostileJson(rng, 1);
  return out;
}

/** A selection set for an output type: some leaf fields, objects two levels deep at most. */
function selection(rng: Rng, type: GraphQLObjectType, depth: number): string {
  const fields = Object.values(type.getFields()).filter((f) => f.args.every((a) => !isNonNullType(a.type)));
  const chosen: string[] = [];
  for (const f of fields) {
    const named = getNamedType(f.type);
    if (isLeafType(named)) {
      if (rng.chance(0.5)) chosen.push(f.name);
    } else if (isObjectType(named) && depth < 2 && rng.chance(0.3)) {
      chosen.push(`${f.name} { ${selection(rng, named, depth + 1)} }`);
    }
  }
  return chosen.length ? chosen.join(' ') : '__typename';
}

/** One operation on a random root field of `rootType`, its arguments as variables. */
function operation(
  rng: Rng,
  kind: 'query' | 'mutation' | 'subscription',
): { query: string; variables: Record<string, unknown>; field: string } {
  const root =
    kind === 'query'
      ? schema.getQueryType()
      : kind === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  const fields = Object.values(root!.getFields());
  let field: GraphQLField<unknown, unknown> = rng.pick(fields);
  // Password hashing (bcrypt) costs ~100 ms a call by design: rarer, so the run stays a few seconds.
  while (PASSWORD_FIELDS.has(field.name) && rng.chance(0.8)) field = rng.pick(fields);
  const declared: string[] = [];
  const passed: string[] = [];
  const variables: Record<string, unknown> = {};
  field.args.forEach((arg, i) => {
    if (!isNonNullType(arg.type) && rng.chance(0.4)) return;
    declared.push(`$a${i}: ${String(arg.type)}`);
    passed.push(`${arg.name}: $a${i}`);
    variables[`a${i}`] = inputValue(rng, arg.type, 0, arg.name);
  });
  const named = getNamedType(field.type);
  const sub = isObjectType(named) ? ` { ${selection(rng, named, 0)} }` : '';
  const vars = declared.length ? `(${declared.join(', ')})` : '';
  const args = passed.length ? `(${passed.join(', ')})` : '';
  return { query: `${kind} F${vars} { ${field.name}${args}${sub} }`, variables, field: field.name };
}

const PASSWORD_FIELDS = new Set(['login', 'createUser', 'changePassword', 'setUserPassword']);

/** The operations a request without a valid token may succeed at. */
const ANONYMOUS_OK = new Set(['login']);

/** HTTP statuses the gateway documents for GraphQL requests. */
const GATEWAY_STATUSES = new Set([200, 400, 401, 403, 404, 405, 413, 415, 429]);

/** Error codes a client may get; INTERNAL_SERVER_ERROR is a resolver that threw something unplanned. */
function badCodes(errors: unknown): string[] {
  if (!Array.isArray(errors)) return [];
  return errors
    .map((e: { extensions?: { code?: string } }) => e?.extensions?.code ?? 'NO_CODE')
    .filter((c) => c === 'INTERNAL_SERVER_ERROR' || c === 'NO_CODE');
}

function internalErrors(errors: unknown): unknown[] {
  return Array.isArray(errors) ? errors.filter((e) => badCodes([e]).length > 0) : [];
}

interface HttpCase {
  describe: string;
  init: RequestInit;
  url: string;
  /** A valid token is sent. */
  authenticated: boolean;
}

function gatewayCase(rng: Rng, i: number): HttpCase {
  const who = rng.pick(['none', 'garbage', 'jwt-shaped', 'admin', 'user', 'admin', 'user'] as const);
  const token =
    who === 'admin'
      ? adminToken
      : who === 'user'
        ? userToken
        : who === 'garbage'
          ? latin1(rng.pick(HOSTILE_STRINGS).slice(0, 200))
          : `eyJhbGciOiJub25lIn0.${Buffer.from('{"sub":"admin"}').toString('base64url')}.`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (who !== 'none') headers['authorization'] = rng.chance(0.9) ? `Bearer ${token}` : token;
  const authenticated = who === 'admin' || who === 'user';
  const kind = rng.int(20);
  let body: string;
  let what: string;
  if (kind < 12) {
    const op = operation(rng, rng.pick(['query', 'query', 'mutation', 'mutation', 'subscription'] as const));
    body = JSON.stringify({ query: op.query, variables: op.variables });
    what = `${who} ${op.field}: ${describeCase(body)}`;
  } else if (kind < 15) {
    const op = operation(rng, rng.pick(['query', 'mutation'] as const));
    body = brokenJson(rng, JSON.stringify({ query: op.query, variables: op.variables }));
    what = `${who} broken JSON: ${describeCase(body)}`;
  } else if (kind < 17) {
    const op = operation(rng, 'query');
    const at = rng.int(op.query.length);
    const mangled =
      op.query.slice(0, at) +
      rng.pick(['{', '}', '(', '$', '...', '@skip', '"', '\u0000', '#']) +
      op.query.slice(at);
    body = JSON.stringify({
      query: rng.chance(0.5) ? mangled : op.query.slice(0, at),
      variables: op.variables,
    });
    what = `${who} broken document: ${describeCase(body)}`;
  } else if (kind < 18) {
    const depth = rng.pick([50, 500, 5000]);
    const query = rng.chance(0.5)
      ? `{ ${'me { '.repeat(depth)}id${' }'.repeat(depth)} }`
      : `{ me { id ${'__typename '.repeat(depth * 10)} } }`;
    // Written out: JSON.stringify recurses and cannot write thousands of levels.
    body = `{"query":${JSON.stringify(query)},"variables":${rng.chance(0.5) ? `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}` : '{}'}}`;
    what = `${who} huge or deep document (${depth})`;
  } else if (kind < 19) {
    body = JSON.stringify(
      Array.from({ length: rng.int(50) + 1 }, () => ({ query: operation(rng, 'query').query })),
    );
    what = `${who} batch`;
  } else {
    body = JSON.stringify(hostileJson(rng, 3));
    what = `${who} any JSON: ${describeCase(body)}`;
  }
  const wrongType = rng.chance(0.05);
  if (wrongType)
    headers['content-type'] = rng.pick([
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
      'multipart/form-data',
    ]);
  const method = rng.chance(0.04) ? rng.pick(['GET', 'PUT', 'DELETE', 'PATCH']) : 'POST';
  const url = method === 'GET' ? `${gateway.url}?query=${uri(operation(rng, 'query').query)}` : gateway.url;
  return {
    describe: `#${i} ${method} ${what}`,
    url,
    authenticated,
    init: { method, headers, ...(method === 'GET' || method === 'DELETE' ? {} : { body }) },
  };
}

async function checkGatewayAnswer(c: HttpCase, findings: Finding[]): Promise<void> {
  let res: Response;
  try {
    res = await fetch(c.url, c.init);
  } catch (err) {
    const cause = (err as Error).cause;
    findings.push({ case: c.describe, problem: 'the request failed', answer: `${err} ${cause ?? ''}` });
    return;
  }
  const text = await res.text();
  const report = (problem: string, answer = text) =>
    findings.push({ case: c.describe, problem, answer: describeCase(answer) });
  if (!GATEWAY_STATUSES.has(res.status)) report(`HTTP ${res.status}`);
  const leak = leaks(text, repoRoot);
  if (leak) report(`the answer contains ${leak}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  for (const one of Array.isArray(parsed) ? parsed : [parsed]) {
    const answer = one as { data?: Record<string, unknown> | null; errors?: unknown };
    const bad = badCodes(answer?.errors);
    if (bad.length) report(`errors with ${bad.join(', ')}`, JSON.stringify(internalErrors(answer?.errors)));
    if (!c.authenticated && answer?.data) {
      for (const [field, value] of Object.entries(answer.data))
        if (value !== null && !ANONYMOUS_OK.has(field)) report(`${field} answered without a valid token`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// graphql-ws

const WS_CLOSE_CODES = new Set([1000, 1005, 1009, 4400, 4401, 4403, 4406, 4408, 4409, 4429]);

/** One connection: frames sent in order; then a ping answered by a pong, or a close. */
function wsFrames(rng: Rng): { frames: Array<string | Buffer>; token: string | undefined } {
  const token = rng.pick([undefined, adminToken, userToken, 'garbage', rng.pick(HOSTILE_STRINGS)]);
  const frames: Array<string | Buffer> = [];
  if (rng.chance(0.8)) {
    const payload = rng.chance(0.7)
      ? token === undefined
        ? {}
        : { authorization: `Bearer ${token}` }
      : hostileJson(rng, 2);
    frames.push(JSON.stringify({ type: 'connection_init', payload }));
  }
  for (let n = rng.int(6) + 1; n > 0; n--) {
    const k = rng.int(10);
    if (k < 4) {
      const op = operation(rng, rng.pick(['subscription', 'subscription', 'query', 'mutation'] as const));
      frames.push(
        JSON.stringify({
          id: rng.chance(0.9) ? `s${n}` : hostileJson(rng, 1),
          type: 'subscribe',
          payload: { query: op.query, variables: op.variables },
        }),
      );
    } else if (k < 5) frames.push(JSON.stringify({ id: `s${rng.int(6)}`, type: 'complete' }));
    else if (k < 6) frames.push(brokenJson(rng, JSON.stringify({ type: 'subscribe', id: 'x', payload: {} })));
    else if (k < 7)
      frames.push(JSON.stringify({ type: rng.pick(HOSTILE_STRINGS), payload: hostileJson(rng, 2) }));
    else if (k < 8) frames.push(Buffer.from(randomBytesFrom(rng, rng.int(100) + 1)));
    else if (k < 9) frames.push(JSON.stringify(hostileJson(rng, 3)));
    else frames.push(JSON.stringify({ type: 'connection_init', payload: {} }));
  }
  return { frames, token };
}

function randomBytesFrom(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(256));
}

async function wsCase(rng: Rng, i: number, findings: Finding[]): Promise<number> {
  const { frames, token } = wsFrames(rng);
  const url = gateway.url.replace(/^http/, 'ws');
  const protocol = rng.chance(0.95) ? 'graphql-transport-ws' : rng.pick(['graphql-ws', 'x', undefined]);
  const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  const described = `#${i} ws (${protocol ?? 'no subprotocol'}) ${describeCase(frames.map((f) => (typeof f === 'string' ? f : '<binary>')).join(' | '))}`;
  const validToken = token === adminToken || token === userToken;
  const received: string[] = [];
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      findings.push({
        case: described,
        problem: 'no pong and no close within 10 s',
        answer: received.join('\n'),
      });
      ws.terminate();
      resolve();
    }, 10_000);
    ws.on('message', (data) => {
      const text = String(data);
      received.push(text);
      const leak = leaks(text, repoRoot);
      if (leak) findings.push({ case: described, problem: `a message contains ${leak}`, answer: text });
      let msg: { type?: string; payload?: unknown };
      try {
        msg = JSON.parse(text);
      } catch {
        return;
      }
      if (msg.type === 'next') {
        const payload = msg.payload as { data?: Record<string, unknown> | null; errors?: unknown };
        const bad = badCodes(payload?.errors);
        if (bad.length)
          findings.push({ case: described, problem: `errors with ${bad.join(', ')}`, answer: text });
        if (!validToken && payload?.data && Object.values(payload.data).some((v) => v !== null))
          findings.push({ case: described, problem: 'data without a valid token', answer: text });
      }
      if (msg.type === 'pong') {
        clearTimeout(timer);
        ws.close(1000);
        resolve();
      }
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      // A client asking for another subprotocol gets none; the ws client then drops the connection.
      const refusedProtocol =
        protocol !== 'graphql-transport-ws' && received.includes('client error: Server sent no subprotocol');
      if (!WS_CLOSE_CODES.has(code) && !refusedProtocol)
        findings.push({
          case: described,
          problem: `closed with ${code} ${String(reason)}`,
          answer: received.join('\n'),
        });
      const leak = leaks(String(reason), repoRoot);
      if (leak)
        findings.push({
          case: described,
          problem: `the close reason contains ${leak}`,
          answer: String(reason),
        });
      resolve();
    });
    ws.on('error', (err) => received.push(`client error: ${err.message}`));
  });
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
    ws.once('error', () => resolve());
  });
  if (ws.readyState === WebSocket.OPEN) {
    for (const f of frames) if (ws.readyState === WebSocket.OPEN) ws.send(f);
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
  }
  await done;
  return frames.length + 1;
}

// ---------------------------------------------------------------------------------------------------
// The agent's REST API

/**
 * Image references that are local or invalid, so Docker never pulls: a pull would reach Docker Hub,
 * and even one from an address of this machine that refuses takes Docker seconds of retries.
 */
const SAFE_IMAGES = [
  env.image,
  env.imageV2,
  'UPPER/Case',
  '',
  '../x',
  'a b',
  'x@sha256:zz',
  '\u0000',
  ':tag',
];
/**
 * Hostile strings that name no container or image of the engine: Docker takes a hex string such as
 * "a" or "0" for an id prefix, and the fuzz would stop or remove whatever of the engine starts with it.
 */
const NOT_AN_ID_PREFIX = HOSTILE_STRINGS.filter((s) => !/^[0-9a-f]+$/i.test(s));
const SAFE_TAGS = ['v2', 'latest', '', 'a/b', 'x y', '..', '-x', '\u0000', 'z'.repeat(200)];

function agentBody(rng: Rng, i: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    Name: `hbfz-${run}-${i}`,
    Image: rng.pick(SAFE_IMAGES),
    Command: rng.pick(['sleep 1', '', undefined]),
    NetworkMode: 'none',
  };
  const fields = [
    'Name',
    'Command',
    'Env',
    'HostName',
    'NetworkMode',
    'Ports',
    'Volumes',
    'Dns',
    'Extrahosts',
    'RestartPolicy',
    'RestartRetryCount',
    'CPUShares',
    'Memory',
    'SHMSize',
    'Links',
    'Ulimits',
    'Labels',
    'LogConfig',
  ];
  for (let n = rng.int(4); n > 0; n--) {
    const f = rng.pick(fields);
    body[f] = f === 'Name' ? `hbfz-${run}-${rng.pick(HOSTILE_STRINGS).slice(0, 60)}` : hostileJson(rng, 2);
  }
  return body;
}

const AGENT_STATUSES = new Set([200, 201, 204, 400, 401, 404, 405, 409, 413, 415, 502]);

function agentCase(
  rng: Rng,
  i: number,
): { describe: string; url: string; init: RequestInit; token: boolean } {
  const prefix = rng.pick(['/v1', '/dockerapi/v2']);
  const id = rng.chance(0.3) ? `hbfz-${run}-${rng.int(50)}` : uri(rng.pick(NOT_AN_ID_PREFIX).slice(0, 300));
  const routes: Array<[string, string, () => unknown]> = [
    [
      'GET',
      `/containers?all=${uri(rng.pick(['true', '1', 'yes', ...HOSTILE_STRINGS]).slice(0, 50))}`,
      () => undefined,
    ],
    ['POST', '/containers', () => agentBody(rng, i)],
    [
      'PUT',
      '/containers',
      () => ({
        Action: rng.pick([
          'start',
          'stop',
          'restart',
          'kill',
          'pause',
          'unpause',
          'rename',
          'upgrade',
          'STOP',
          ...HOSTILE_STRINGS,
        ]),
        Container: rng.chance(0.5) ? `hbfz-${run}-${rng.int(50)}` : rng.pick(NOT_AN_ID_PREFIX),
        ImageTag: rng.pick(SAFE_TAGS),
        NewName: rng.chance(0.5) ? `hbfz-${run}-r${i}` : rng.pick(HOSTILE_STRINGS),
        Timeout: rng.pick([0, 1, ...EXTREME_NUMBERS]),
      }),
    ],
    ['GET', `/containers/${id}`, () => undefined],
    ['GET', `/containers/${id}?originaldata=${rng.pick(['true', 'x'])}`, () => undefined],
    ['GET', `/containers/${id}/status`, () => undefined],
    [
      'GET',
      `/containers/${id}/logs?tail=${uri(rng.pick(['10', 'all', '-1', '99999999', ...HOSTILE_STRINGS]).slice(0, 80))}`,
      () => undefined,
    ],
    ['GET', `/containers/${id}/stats`, () => undefined],
    ['DELETE', `/containers/${id}?force=${rng.pick(['true', '1', 'maybe'])}`, () => undefined],
    ['GET', '/containers/stats', () => undefined],
    ['GET', '/images', () => undefined],
    // Only invalid references: a valid one would be pulled (from Docker Hub).
    ['POST', '/images', () => ({ Image: rng.pick(SAFE_IMAGES.slice(2)) })],
    ['GET', `/images/${id}`, () => undefined],
    ['DELETE', `/images/${rng.pick(['humpback-test/not-here:1', id])}`, () => undefined],
    ['GET', '/ping', () => undefined],
    ['GET', '/dockerinfo', () => undefined],
    ['GET', '/dockerversion', () => undefined],
    ['GET', '/nodeinfo', () => undefined],
    ['POST', '/auth/challenge', () => hostileJson(rng, 2)],
    [
      rng.pick(['GET', 'POST', 'PATCH', 'OPTIONS']),
      `/${uri(rng.pick(HOSTILE_STRINGS).slice(0, 100))}`,
      () => hostileJson(rng, 1),
    ],
  ];
  // Stats (Docker samples twice) and Docker's info take it a second or more: rarer, so the run stays
  // a few seconds.
  let [method, path, makeBody] = rng.pick(routes);
  while (/stats|info/.test(path) && rng.chance(0.95)) [method, path, makeBody] = rng.pick(routes);
  const token = rng.chance(0.8);
  const headers: Record<string, string> = {};
  if (token) headers['authorization'] = rng.chance(0.5) ? `Bearer ${AGENT_TOKEN}` : AGENT_TOKEN;
  else if (rng.chance(0.5))
    headers['authorization'] = `Bearer ${latin1(rng.pick(HOSTILE_STRINGS).slice(0, 100))}`;
  let body: string | undefined;
  const value = makeBody();
  if (value !== undefined || rng.chance(0.1)) {
    headers['content-type'] = rng.chance(0.95)
      ? 'application/json'
      : rng.pick(['text/plain', 'application/xml']);
    body = rng.chance(0.85) ? JSON.stringify(value ?? null) : brokenJson(rng, JSON.stringify(value ?? {}));
  }
  if (method === 'GET' || method === 'OPTIONS') body = undefined;
  return {
    describe: `#${i} ${method} ${prefix}${path} token=${token} ${describeCase(body ?? '')}`,
    url: `${agent.url}${prefix}${path}`,
    init: { method, headers, ...(body !== undefined ? { body } : {}) },
    token,
  };
}

// ---------------------------------------------------------------------------------------------------

beforeAll(async () => {
  containersBefore = new Set((await docker.listContainers({ all: true })).map((c) => c.Id));
  agent = await startTestAgent(engine, tmp.make('hb-fuzz-agent-'));
  gateway = await startTestGateway({ config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-fuzz-gw-') }) });
  const admin = new TestClient(gateway.url);
  await admin.login();
  adminToken = admin.token!;
  await admin.request('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
    i: { username: `fuzzer${run}`, password: 'fuzzer-password-1' },
  });
  const user = new TestClient(gateway.url);
  await user.login(`fuzzer${run}`, 'fuzzer-password-1');
  userToken = user.token!;
  const introspection = await admin.request<IntrospectionQuery>(getIntrospectionQuery());
  schema = buildClientSchema(introspection);
});

afterAll(async () => {
  await gateway?.close();
  await agent?.close();
  for (const c of await docker.listContainers({ all: true }))
    if (!containersBefore.has(c.Id))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
  tmp.cleanup();
});

describe('fuzzing (seeded)', () => {
  it(
    'GraphQL over HTTP: 3,000 hostile requests, no 5xx, no leak, no anonymous success',
    async () => {
      const seed = fuzzSeed(1701);
      const rng = new Rng(seed);
      const cases = Array.from({ length: 3000 }, (_, i) => gatewayCase(rng, i));
      const findings: Finding[] = [];
      await inParallel(cases.length, 8, (i) => checkGatewayAnswer(cases[i]!, findings));
      expectNoFindings(findings, seed);
      expect((await fetch(new URL('/healthz', gateway.url))).status).toBe(200);
    },
    FUZZ_TIMEOUT,
  );

  it(
    'graphql-ws: 300 connections of hostile frames, no internal error, no leak, no anonymous data',
    async () => {
      const seed = fuzzSeed(1702);
      const rng = new Rng(seed);
      const findings: Finding[] = [];
      let frames = 0;
      // The frames of each connection are chosen in order from one generator: deterministic.
      const plans = Array.from({ length: 300 }, () => rng.next());
      await inParallel(plans.length, 10, async (i) => {
        const sent = await wsCase(new Rng(Math.floor(plans[i]! * 2 ** 32)), i, findings);
        frames += sent;
      });
      expectNoFindings(findings, seed);
      expect(frames).toBeGreaterThan(1000);
      expect((await fetch(new URL('/healthz', gateway.url))).status).toBe(200);
    },
    FUZZ_TIMEOUT,
  );

  it(
    "the agent's REST API: 1,500 hostile requests, no unexpected 5xx, no leak, nothing without the token",
    async () => {
      const seed = fuzzSeed(1703);
      const rng = new Rng(seed);
      const cases = Array.from({ length: 1500 }, (_, i) => agentCase(rng, i));
      const findings: Finding[] = [];
      await inParallel(cases.length, 8, async (i) => {
        const c = cases[i]!;
        let res: Response;
        try {
          res = await fetch(c.url, c.init);
        } catch (err) {
          findings.push({ case: c.describe, problem: 'the request failed', answer: String(err) });
          return;
        }
        const text = await res.text();
        const report = (problem: string) =>
          findings.push({ case: c.describe, problem, answer: describeCase(text) });
        // 500 is documented for Docker's own failures, which carry Docker's words; 'internal error' is ours.
        if (!AGENT_STATUSES.has(res.status) && !(res.status === 500 && !text.includes('"internal error"')))
          report(`HTTP ${res.status}`);
        const challenge = c.url.endsWith('/auth/challenge');
        if (!c.token && !challenge && res.status !== 401 && res.status !== 404 && res.status !== 405)
          report(`HTTP ${res.status} without the token`);
        const leak = leaks(text, repoRoot);
        if (leak) report(`the answer contains ${leak}`);
      });
      expectNoFindings(findings, seed);
      const ping = await fetch(`${agent.url}/v1/ping`, {
        headers: { authorization: `Bearer ${AGENT_TOKEN}` },
      });
      expect(ping.status).toBe(200);
    },
    FUZZ_TIMEOUT,
  );
});

describe('defects the fuzzing found (regressions)', () => {
  const post = async (body: unknown, token = adminToken) => {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { errors?: Array<{ message: string; extensions?: { code?: string } }> },
    };
  };

  it('a subscription sent over HTTP is a bad request that says where subscriptions are served', async () => {
    const answer = await post({ query: 'subscription { nodeStatusChanged { at } }' });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([
      {
        message:
          'subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) at this URL, not over HTTP',
        extensions: { code: 'BAD_REQUEST' },
      },
    ]);
  });

  it('an alias __proto__ is answered on every run (graphql-jit, compiling a repeated query, dropped it)', async () => {
    const query = '{ __proto__: __typename other: __typename }';
    for (let run = 0; run < 3; run++) {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query }),
      });
      expect(await res.text()).toBe('{"data":{"__proto__":"Query","other":"Query"}}\n');
    }
  });

  it('more than 50 invalid variable values are BAD_USER_INPUT, not an internal error', async () => {
    const answer = await post({
      query: 'mutation($c: ContainerConfigInput!) { createContainer(nodeId: "n", config: $c) { id } }',
      variables: {
        c: { name: 'x', image: 'y', ports: Array.from({ length: 60 }, () => ({ privatePort: 'no' })) },
      },
    });
    expect(answer.status).toBe(400);
    // graphql-js lists 50 and then stops with an error of its own, which used to be INTERNAL_SERVER_ERROR.
    const errors = answer.body.errors ?? [];
    expect(errors.map((e) => e.extensions?.code)).toEqual(Array.from({ length: 51 }, () => 'BAD_USER_INPUT'));
    expect(errors.at(-1)).toEqual({
      message: 'too many invalid variable values (more than 50): fix the variables and send again',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});
