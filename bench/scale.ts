/**
 * The gateway at scale, on the cluster simulator (bench/sim/cluster.ts): N simulated nodes (real
 * agents over in-memory engines, registered in the test environment's ZooKeeper) with C containers
 * each, one gateway in this process on the test environment's Redis. Prints, with the load average:
 * the gateway's RSS; gateway start -> complete cache; container-event ingest with S graphql-ws
 * subscribers and the p99 from the engine's event to the client; a meta of I instances until all are
 * RUNNING; F % of the nodes flapping per minute for M minutes: spurious migrations (goal 0).
 * Goals at 5,000 nodes: RSS <= 500 MB, cache <= 10 s, >= 20,000 events/s with p99 <= 250 ms,
 * 10,000 instances <= 30 s. Needs `npm run test:env up`.
 *
 *   npx tsx bench/scale.ts --nodes 500 [--containers 20] [--subscribers 1000] [--rate 40]
 *     [--instances 10000] [--flap-minutes 5] [--seconds 10]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { SimCluster } from './sim/cluster.js';
import { loadTestEnv } from '../test/helpers/test-env.js';
import {
  AGENT_TOKEN,
  TempDirs,
  TestClient,
  gatewayConfig,
  startTestGateway,
} from '../test/integration/gateway-harness.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '500' },
    containers: { type: 'string', default: '20' },
    subscribers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '40', short: 'r' }, // events per second per node
    seconds: { type: 'string', default: '10' },
    instances: { type: 'string', default: '10000' },
    'flap-minutes': { type: 'string', default: '5' },
    'per-process': { type: 'string', default: '125' },
  },
});
const N = Number(values.nodes);
const C = Number(values.containers);
const S = Number(values.subscribers);
const env = loadTestEnv();
const tmp = new TempDirs();
const suffix = randomBytes(3).toString('hex');
const zkUri = `zk://${env.zkConnect}/hbscale-${suffix}`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const mb = (): string => `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`;
const say = (s: string): void => console.log(`[load ${load()}] ${s}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await ok())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
  return performance.now() - t0;
}

// The subscribers: raw graphql-transport-ws in a worker; latency from the `name~ms` stamp the
// simulated engine puts on each churn event (engine's clock = this machine's clock).
const CLIENT_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.wsPath);
const { url, token, clients, query } = workerData;
let acked = 0, delivered = 0, latencies = [];
for (let i = 0; i < clients; i++) {
  const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer ' + token } })));
  ws.on('message', (data) => {
    const s = data.toString();
    const k = s.indexOf('~');
    if (k > 0) { if (i === 0 || (delivered & 15) === 0) latencies.push(Date.now() - Number(s.slice(k + 1, k + 14))); delivered++; return; }
    const m = JSON.parse(s);
    if (m.type === 'connection_ack') {
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      if (++acked === clients) parentPort.postMessage({ type: 'ready' });
    } else if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
  });
  ws.on('error', (err) => parentPort.postMessage({ type: 'error', message: String(err) }));
}
parentPort.on('message', (msg) => {
  if (msg === 'report') { parentPort.postMessage({ type: 'report', delivered, latencies }); delivered = 0; latencies = []; }
});
`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}

async function main(): Promise<void> {
  say(`starting ${N} simulated nodes x ${C} containers`);
  const t0 = performance.now();
  const sim = await SimCluster.start({
    nodes: N,
    containers: C,
    perProcess: Number(values['per-process']),
    zkUri,
    token: AGENT_TOKEN,
  });
  say(`simulator up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const gwStart = performance.now();
  const gateway = await startTestGateway({
    config: gatewayConfig({
      HUMPBACK_DATA_DIR: tmp.make('hb-scale-gw-'),
      HUMPBACK_REDIS_URL: `${env.redisUrl}/12`,
      DOCKER_CLUSTER_URIS: zkUri,
      CENTER_MIGRATE_DELAY: '45',
    }),
  });
  const client = new TestClient(gateway.url);
  const workers: Worker[] = [];
  try {
    const cacheMs = await until('complete cache', () => gateway.core.cache.containerCount >= N * C, 600_000);
    say(
      `cache complete: ${N * C} containers of ${N} nodes ${((performance.now() - gwStart) / 1000).toFixed(1)} s after gateway start (${(cacheMs / 1000).toFixed(1)} s after listening; goal <= 10 s)`,
    );
    say(`gateway RSS (this process, subscribers not yet started): ${mb()} (goal <= 500 MB)`);

    await client.login();
    const wsPath = createRequire(import.meta.url).resolve('ws');
    const url = gateway.url.replace(/^http/, 'ws');
    const query = 'subscription { containerStatusChanged { container { id name state } previousState at } }';
    const perWorker = Math.ceil(S / 4);
    for (let w = 0; w * perWorker < S; w++) {
      const worker = new Worker(CLIENT_CODE, {
        eval: true,
        workerData: {
          wsPath,
          url,
          token: client.token,
          clients: Math.min(perWorker, S - w * perWorker),
          query,
        },
      });
      workers.push(worker);
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m: { type: string; message?: string }) => {
          if (m.type === 'ready') resolve();
          if (m.type === 'error') reject(new Error(m.message));
        });
      });
    }
    say(`${S} subscribers connected`);
    const report = (): Promise<Array<{ delivered: number; latencies: number[] }>> =>
      Promise.all(
        workers.map(
          (w) =>
            new Promise<{ delivered: number; latencies: number[] }>((resolve) => {
              const on = (m: { type: string; delivered: number; latencies: number[] }): void => {
                if (m.type !== 'report') return;
                w.off('message', on);
                resolve(m);
              };
              w.on('message', on);
              w.postMessage('report');
            }),
        ),
      );
    const rate = Number(values.rate);
    sim.churn(rate);
    await sleep(2000);
    await report();
    const seconds = Number(values.seconds);
    await sleep(seconds * 1000);
    const r = await report();
    sim.churn(0);
    const deliveredTotal = r.reduce((a, x) => a + x.delivered, 0);
    const lat = r.flatMap((x) => x.latencies);
    say(
      `events: offered ${N * rate}/s; ingested ${(deliveredTotal / S / seconds).toFixed(0)}/s (per subscriber), ` +
        `${(deliveredTotal / seconds).toFixed(0)} deliveries/s to ${S} subscribers; engine event -> client ` +
        `p50 ${pct(lat, 50)} ms p99 ${pct(lat, 99)} ms (goal >= 20,000/s, p99 <= 250 ms); RSS ${mb()}`,
    );
    for (const w of workers) await w.terminate();
    workers.length = 0;
    await sleep(3000); // the resyncs after the churn settle

    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `scale-${suffix}`, clusterMode: true, servers: sim.addresses } },
    );
    await until(
      'nodes HEALTHY',
      () => gateway.core.cache.listNodes({ groupId: createGroup.id, status: 'HEALTHY' }).length >= N,
      120_000,
    );
    const I = Number(values.instances);
    const tm = performance.now();
    const { createMeta } = await client.request<{ createMeta: { id: string } }>(
      'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }',
      {
        input: {
          groupId: createGroup.id,
          instances: I,
          config: { name: `scale-${suffix}`, image: env.image, networkMode: 'none' },
        },
      },
    );
    const running = (): number =>
      gateway.core.cache.containersOfMeta(createMeta.id).filter((c) => c.state === 'RUNNING').length;
    await until(`${I} instances RUNNING`, () => running() >= I, 1_800_000);
    say(
      `meta of ${I} instances all RUNNING in ${((performance.now() - tm) / 1000).toFixed(1)} s (goal 10,000 <= 30 s); RSS ${mb()}`,
    );

    // Flaps: 1 % of the nodes per minute go away for 5 s (< the 45 s migrate delay) and come back.
    const placement = (): Map<string, string> =>
      new Map(gateway.core.cache.containersOfMeta(createMeta.id).map((c) => [c.id, c.nodeId]));
    const before = placement();
    const minutes = Number(values['flap-minutes']);
    const perMinute = Math.max(1, Math.round(N / 100));
    const flapStart = performance.now();
    for (let m = 0; m < minutes * perMinute; m++) {
      sim.flap(Math.floor(Math.random() * N), 5000);
      await sleep(60_000 / perMinute);
    }
    await sleep(10_000);
    const after = placement();
    let moved = 0;
    for (const [id, node] of after) if (before.get(id) !== node) moved++;
    for (const id of before.keys()) if (!after.has(id)) moved++;
    say(
      `${perMinute} flaps/min for ${((performance.now() - flapStart) / 60_000).toFixed(1)} min: ` +
        `spurious migrations ${moved} (goal 0); instances ${after.size}`,
    );
    await client
      .request('mutation($id: ID!) { removeMeta(id: $id) }', { id: createMeta.id })
      .catch(() => undefined);
  } finally {
    for (const w of workers) await w.terminate();
    await client.close();
    await gateway.close();
    await sim.close();
    tmp.cleanup();
  }
}

await main();
