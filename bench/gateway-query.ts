/**
 * Query throughput: `containers(first: 100)` on the gateway (5,000 containers in the cluster cache,
 * admin token, everything the real HTTP path does: auth, depth/complexity checks, audit-free query)
 * against a bare Apollo Server answering `{ hello }`, both loaded by autocannon,
 * alternated (autocannon in a child process), plus a bare Apollo Server answering the same containers
 * query from the same cache (what the gateway's own layer costs), and the gateway asked for each
 * container's node too (an object field: the items are not written from cached JSON, see
 * gateway/graphql/list-json.ts). Prints requests/s and p99 for each round and the ratio.
 * (The gateway answers such plain JSON POSTs without express: gateway/graphql/http-direct.ts.)
 *
 *   npx tsx bench/gateway-query.ts [--seconds 5] [--rounds 2] [--connections 20]
 *
 * `--only gateway` loads the gateway alone (no ratio), e.g. for a CPU profile of its side:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/gateway-query.ts --only gateway
 */
import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { logger } from '../core/logger.js';
import type { ContainerRecord } from '../core/store/store.js';
import { ClusterCache } from '../gateway/cluster/cluster-cache.js';
import { createGatewayServer } from '../gateway/graphql/server.js';
import { createFakeWorld } from '../test/integration/api-fakes.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '20' },
    containers: { type: 'string', default: '5000' },
    only: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const containerCount = Number(values.containers);

// autocannon runs in a child process (in a worker thread it takes itself for one of its own workers).
const LOAD_CODE = `
const autocannon = require(process.env.AUTOCANNON_PATH);
const parentPort = { postMessage: (m) => process.send(m) };
process.on('message', ({ url, body, headers, seconds, connections }) => {
  autocannon({ url, method: 'POST', body, headers, duration: seconds, connections, pipelining: 1 }, (err, result) => {
    if (err) parentPort.postMessage({ error: String(err) });
    else parentPort.postMessage({
      requests: result.requests.average, p50: result.latency.p50, p99: result.latency.p99,
      non2xx: result.non2xx, errors: result.errors, total: result.requests.total,
    });
  });
});
`;
const loadScript = join(await mkdtemp(join(tmpdir(), 'hb-bench-')), 'load.cjs');
await writeFile(loadScript, LOAD_CODE);
const worker = fork(loadScript, [], {
  env: { ...process.env, AUTOCANNON_PATH: createRequire(import.meta.url).resolve('autocannon') },
});
type LoadResult = {
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
};
const load = (url: string, body: string, headers: Record<string, string>): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    worker.once('message', (m: LoadResult & { error?: string }) =>
      m.error ? reject(new Error(m.error)) : resolve(m),
    );
    worker.send({ url, body, headers, seconds, connections });
  });

// ---- the gateway, over a real ClusterCache with 5,000 containers on 20 nodes ----
const world = await createFakeWorld({ adminPassword: 'bench-password' });
const cache = new ClusterCache();
for (let n = 0; n < 20; n++) {
  cache.upsertNode({
    id: `node-${n}`,
    name: `host-${n}`,
    ip: `10.0.0.${n + 1}`,
    apiAddr: `10.0.0.${n + 1}:8500`,
    status: 'HEALTHY',
    cpus: 8,
    memoryBytes: 16 * 2 ** 30,
    engineLabels: {},
    updatedAt: new Date().toISOString(),
  });
}
const states = ['RUNNING', 'EXITED', 'PAUSED'] as const;
for (let i = 0; i < containerCount; i++) {
  const c: ContainerRecord = {
    id: i.toString(16).padStart(64, 'a'),
    name: `app-${i}`,
    nodeId: `node-${i % 20}`,
    image: 'humpback-test/busybox:latest',
    state: states[i % 3]!,
    status: 'Up 3 hours',
    labels: { 'humpback.group': 'g1' },
    createdAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
  };
  cache.upsertContainer(c);
}
world.services.containers.list = async (filter, page) => cache.queryContainers(filter, page);
world.services.containers.get = async (id) => cache.findContainer(id);
world.services.nodes.get = async (id) => cache.findNode(id);

const gateway = await createGatewayServer({
  config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
  services: world.services,
  bus: world.bus,
  logger,
});
const { token } = await world.services.auth.login('admin', 'bench-password', 'bench');
const gatewayBody = JSON.stringify({
  query:
    '{ containers(first: 100) { totalCount hasNextPage endCursor nodes { id name nodeId image state status createdAt } } }',
});
const check = (await (
  await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: gatewayBody,
  })
).json()) as { data?: { containers: { nodes: unknown[]; totalCount: number } }; errors?: unknown };
if (check.data?.containers.nodes.length !== 100)
  throw new Error(`bad gateway answer: ${JSON.stringify(check.errors)}`);
// The same list with each container's node as well: an object field with its own resolver, so the
// items are built by graphql-jit rather than written from their cached JSON (list-json.ts). Shown
// for comparison; the goal is on the plain list.
const nestedBody = JSON.stringify({
  query:
    '{ containers(first: 100) { totalCount hasNextPage endCursor nodes { id name nodeId image state status createdAt node { id name } } } }',
});

// ---- the bare Apollo Server ----
const bare = new ApolloServer({
  typeDefs: 'type Query { hello: String }',
  resolvers: { Query: { hello: () => 'world' } },
});
await bare.start();
const app = express();
app.use('/graphql', express.json(), expressMiddleware(bare));
const bareServer = http.createServer(app);
await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/graphql`;
const bareBody = JSON.stringify({ query: '{ hello }' });

// ---- a bare Apollo Server answering the same containers query from the same cache (no auth, no
// access checks, no limits, no type-graphql): what the gateway's own layer costs on top of Apollo ----
const same = new ApolloServer({
  typeDefs: `type Container { id: ID! name: String! nodeId: ID! image: String! state: String! status: String! createdAt: String! }
    type ContainerConnection { totalCount: Int! hasNextPage: Boolean! endCursor: String nodes: [Container!]! }
    type Query { containers(first: Int): ContainerConnection! }`,
  resolvers: {
    Query: {
      containers: (_: unknown, args: { first?: number }) =>
        cache.queryContainers({}, { first: args.first ?? 50 }),
    },
  },
});
await same.start();
const sameApp = express();
sameApp.use('/graphql', express.json(), expressMiddleware(same));
const sameServer = http.createServer(sameApp);
await new Promise<void>((resolve) => sameServer.listen(0, '127.0.0.1', resolve));
const sameUrl = `http://127.0.0.1:${(sameServer.address() as AddressInfo).port}/graphql`;

console.log(
  `${containerCount} containers in the cache; autocannon ${connections} connections, ${seconds} s per run, ${rounds} rounds`,
);
console.log(
  'round  server                         req/s    p50 ms   p99 ms   non-2xx   CPU µs/req   load (1 min)',
);
const load1 = () => loadavg()[0]!.toFixed(1);
// CPU time of this process (the servers; autocannon runs elsewhere) per request answered: unlike
// req/s, it hardly moves when other processes compete for the machine.
// gateway/bare of each round: the two runs of a round are back to back, under about the same load
const roundRatios: number[] = [];
const sums = {
  bare: 0,
  gateway: 0,
  bareP99: 0,
  gatewayP99: 0,
  bareCpu: 0,
  gatewayCpu: 0,
  same: 0,
  sameCpu: 0,
  nested: 0,
  nestedCpu: 0,
};
const measure = async (url: string, body: string, headers: Record<string, string>) => {
  const before = process.cpuUsage();
  const r = await load(url, body, headers);
  const used = process.cpuUsage(before);
  return { ...r, cpuPerRequest: (used.user + used.system) / Math.max(1, r.total) };
};
const row = (round: number, name: string, r: LoadResult & { cpuPerRequest: number }) => {
  const cells = [
    String(round).padStart(5),
    name.padEnd(29),
    r.requests.toFixed(0).padStart(7),
    String(r.p50).padStart(8),
    String(r.p99).padStart(8),
    String(r.non2xx).padStart(9),
    r.cpuPerRequest.toFixed(0).padStart(12),
    load1().padStart(14),
  ];
  console.log(cells.join('  '));
};
if (values.only === 'gateway') {
  for (let round = 1; round <= rounds; round++) {
    row(
      round,
      'gateway containers(first:100)',
      await measure(gateway.url, gatewayBody, {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      }),
    );
  }
}
for (let round = 1; round <= (values.only === 'gateway' ? 0 : rounds); round++) {
  const b = await measure(bareUrl, bareBody, { 'content-type': 'application/json' });
  row(round, 'bare Apollo { hello }', b);
  const g = await measure(gateway.url, gatewayBody, {
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
  });
  row(round, 'gateway containers(first:100)', g);
  const nested = await measure(gateway.url, nestedBody, {
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
  });
  row(round, 'gateway ... node { id name }', nested);
  sums.nested += nested.requests;
  sums.nestedCpu += nested.cpuPerRequest;
  const sm = await measure(sameUrl, gatewayBody, { 'content-type': 'application/json' });
  row(round, 'bare Apollo same query', sm);
  sums.same += sm.requests;
  sums.sameCpu += sm.cpuPerRequest;
  sums.bare += b.requests;
  sums.gateway += g.requests;
  sums.bareP99 += b.p99;
  sums.gatewayP99 += g.p99;
  sums.bareCpu += b.cpuPerRequest;
  sums.gatewayCpu += g.cpuPerRequest;
  roundRatios.push(g.requests / b.requests);
}
if (values.only !== 'gateway') report();

function report(): void {
  console.log(
    `mean: bare ${(sums.bare / rounds).toFixed(0)} req/s (p99 ${(sums.bareP99 / rounds).toFixed(0)} ms), gateway ${(sums.gateway / rounds).toFixed(0)} req/s (p99 ${(sums.gatewayP99 / rounds).toFixed(0)} ms); ratio ${(sums.gateway / sums.bare).toFixed(2)} (goal >= 0.8, ${sums.gateway / sums.bare >= 0.8 ? 'met' : 'missed'}); load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const sorted = [...roundRatios].sort((a, b) => a - b);
  const median =
    sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  console.log(
    `ratio per round: ${roundRatios.map((r) => r.toFixed(2)).join(', ')}; median ${median.toFixed(2)}`,
  );
  console.log(
    `same query on a bare Apollo Server: ${(sums.same / rounds).toFixed(0)} req/s, ${(sums.sameCpu / rounds).toFixed(0)} µs CPU/request; gateway/bare-same ratio ${(sums.gateway / sums.same).toFixed(2)}`,
  );
  console.log(
    `with each container's node { id name } (items built by graphql-jit): ${(sums.nested / rounds).toFixed(0)} req/s, ${(sums.nestedCpu / rounds).toFixed(0)} µs CPU/request; ratio to bare ${(sums.nested / sums.bare).toFixed(2)}`,
  );
  console.log(
    `CPU per request: bare ${(sums.bareCpu / rounds).toFixed(0)} µs, gateway ${(sums.gatewayCpu / rounds).toFixed(0)} µs; capacity ratio ${(sums.bareCpu / sums.gatewayCpu).toFixed(2)}`,
  );
}

worker.kill();
await rm(dirname(loadScript), { recursive: true, force: true });
await gateway.close();
await bare.stop();
await same.stop();
await new Promise((r) => sameServer.close(r));
await new Promise((r) => bareServer.close(r));
process.exit(0);
