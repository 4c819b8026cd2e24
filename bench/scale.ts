/**
 * The gateway at scale, on the cluster simulator (bench/sim/cluster.ts): N simulated nodes (real
 * agents over in-memory engines, registered in the test environment's ZooKeeper) with C containers
 * each, one gateway in this process on the test environment's Redis. Prints, with the load average:
 * the gateway's RSS; gateway start -> complete cache; container-event ingest with S graphql-ws
 * subscribers and the p99 from the engine's event to the client; a meta of I instances until all are
 * RUNNING; 1 % of the nodes flapping per minute for M minutes: spurious migrations (goal 0); the
 * leader (a gateway process) killed -9 until the other gateway process has scheduled (two gateways).
 * Goals at 5,000 nodes: RSS <= 500 MB, cache <= 10 s, >= 20,000 events/s with p99 <= 250 ms,
 * 10,000 instances <= 30 s, failover <= session timeout + 2 s. Needs `npm run test:env up`. The
 * gateway runs with the production watcher interval (--health-ms, 2 s) on Redis database 12 (flushed).
 *
 * The subscribers subscribe as screens do: --watch-all of them (10) to every container, the others
 * each to one node's containers (`containerStatusChanged(nodeId:)`, the nodes in turn). Every one
 * getting every event would be 20,000,000 deliveries a second at the goal's rate.
 *
 * A group holds at most 1,000 servers (gateway/services/group-service.ts), so the nodes go into
 * groups of at most GROUP_SERVERS, each created with its servers in one createGroup (1,000 addresses
 * are ~22 KB of variables, under the 64 KB limit); the metas are spread over the groups round-robin
 * (10,000 instances at 5,000 nodes: 10 metas of 1,000, two per group). For the failover, the second
 * gateway process's cache is complete (all nodes HEALTHY in its view) before the leader is killed.
 *
 * The cache phase also prints the CPU time the gateway used until the cache was complete: on 2 cores
 * the simulator's processes (250 agents each, with their ZooKeeper sessions) take most of the CPU at
 * 5,000 nodes, and that figure is what the gateway would need on a core of its own. --sim-nice N
 * lowers the simulator's priority (renice) so the gateway and the test environment go first.
 *
 * --profile: a CPU profile of this process (the gateway) from gateway start to a complete cache
 * (functions by self time, bench/lib/cpu-profile.ts) and a sampled heap profile over the same stretch
 * (live memory by allocating function), then a heap snapshot once the cache is complete, summarised by
 * constructor (bench/lib/heap-summary.ts); files kept in --profile-dir. The snapshot stalls the
 * process for many seconds (its ZooKeeper sessions may expire), so profile with `--phases cache`.
 * --profile-events: a CPU profile of the gateway over the events phase's measured window.
 * --profile-meta: a CPU profile of the gateway (its scheduler leads) from the metas' creation until
 * their instances are RUNNING.
 *
 *   npx tsx bench/scale.ts --nodes 500 [--containers 20] [--subscribers 1000] [--watch-all 10] [--rate 20000/nodes]
 *     [--instances 10000] [--flap-minutes 5] [--seconds 10] [--health-ms 2000] [--per-process 250]
 *     [--cache-timeout 600] [--profile] [--profile-events] [--profile-meta] [--profile-dir <os tmpdir>] [--sim-nice 0]
 *     [--phases cache,events,meta,flap,leader]
 */
import { randomBytes } from 'node:crypto';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { SimCluster } from './sim/cluster.js';
import { loadTestEnv } from '../test/helpers/test-env.js';
import { AGENT_TOKEN, TempDirs, TestClient, gatewayConfig } from '../test/integration/gateway-harness.js';
import { startGateway, type RunningGateway } from '../gateway/main.js';
import { Redis } from 'ioredis';
import { spawnGateway, type GatewayProcess } from './lib/gateway-process.js';
import { MAX_INSTANCES } from '../scheduler/meta-service.js';
import { MAX_SERVERS } from '../gateway/services/group-service.js';
import { CHANNEL } from '../core/bus/channels.js';
import { CpuProfile } from './lib/cpu-profile.js';
import { formatHeapSummary, summariseHeapSnapshot } from './lib/heap-summary.js';
import { HeapSampling } from './lib/heap-sampling.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '500' },
    containers: { type: 'string', default: '20' },
    subscribers: { type: 'string', default: '1000' },
    'watch-all': { type: 'string', default: '10' },
    // Events per second per node; by default the goal's 20,000 a second over all the nodes.
    rate: { type: 'string', short: 'r' },
    seconds: { type: 'string', default: '10' },
    instances: { type: 'string', default: '10000' },
    'flap-minutes': { type: 'string', default: '5' },
    'per-process': { type: 'string', default: '250' },
    phases: { type: 'string', default: 'cache,events,meta,flap,leader' },
    'health-ms': { type: 'string', default: '2000' },
    'cache-timeout': { type: 'string', default: '600' },
    profile: { type: 'boolean', default: false },
    'profile-events': { type: 'boolean', default: false },
    'profile-meta': { type: 'boolean', default: false },
    'profile-dir': { type: 'string', default: tmpdir() },
    'sim-nice': { type: 'string', default: '0' },
  },
});
const N = Number(values.nodes);
const C = Number(values.containers);
const S = Number(values.subscribers);
/** Of the S subscribers, how many watch every container; the others each watch one node's. */
const WATCH_ALL = Math.min(S, Number(values['watch-all']));
const phases = new Set(values.phases.split(','));
const env = loadTestEnv();
const tmp = new TempDirs();
const suffix = randomBytes(3).toString('hex');
const zkUri = `zk://${env.zkConnect}/hbscale-${suffix}`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const mb = (): string => `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`;
/** RSS and where it is: the JS heap, and buffers outside it (sockets, Redis replies). */
const memory = (): string => {
  const m = process.memoryUsage();
  const f = (b: number): string => (b / 2 ** 20).toFixed(0);
  return `RSS ${f(m.rss)} MB (heap ${f(m.heapUsed)}/${f(m.heapTotal)} MB, external ${f(m.external)} MB, array buffers ${f(m.arrayBuffers)} MB)`;
};
// This process's event-loop delay (the gateway's): a stall past two thirds of the ZooKeeper
// session timeout drops its ZooKeeper connections (and with them the leadership).
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
const lag = (): string => {
  const s = `loop delay max ${(loopDelay.max / 1e6).toFixed(0)} ms`;
  loopDelay.reset();
  return s;
};
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
const { url, token, query, variables } = workerData;
const clients = variables.length;
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
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: variables[i] } }));
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

interface Run {
  sim: SimCluster;
  gateway: RunningGateway;
  client: TestClient;
  workers: Worker[];
  groupIds?: string[];
  metaIds?: string[];
}

const redisUrl = `${env.redisUrl}/12`;
const gatewayEnv = (): Record<string, string> => ({
  HUMPBACK_DATA_DIR: tmp.make('hb-scale-gw-'),
  HUMPBACK_REDIS_URL: redisUrl,
  DOCKER_CLUSTER_URIS: zkUri,
  CENTER_MIGRATE_DELAY: '45',
  // The gateway processes' log level (`info` shows when each one leads).
  HUMPBACK_LOG_LEVEL: process.env['HB_BENCH_GATEWAY_LOG'] ?? 'warn',
});

/** --profile: the CPU and sampled heap profiles from gateway start to a complete cache. */
async function startProfiles(): Promise<{ stop(): Promise<void> } | undefined> {
  if (!values.profile) return undefined;
  const cpu = new CpuProfile();
  const heap = new HeapSampling();
  await cpu.start();
  await heap.start();
  const file = (ext: string): string => join(values['profile-dir'], `hb-scale-${N}-${suffix}.${ext}`);
  return {
    async stop() {
      const top = await cpu.stop(25, file('cpuprofile'));
      say(`CPU profile, gateway start -> complete cache (${file('cpuprofile')}), self time:`);
      for (const e of top) console.log(`  ${e.percent.toFixed(1).padStart(5)} %  ${e.where}`);
      const live = await heap.stop(20, file('heapprofile'));
      say(`sampled heap profile, live at cache complete by allocating function (${file('heapprofile')}):`);
      for (const e of live) console.log(`  ${e.mb.toFixed(1).padStart(7)} MB  ${e.where}`);
    },
  };
}

/** --profile: a heap snapshot now, summarised by constructor. */
function heapSnapshot(): void {
  const t = performance.now();
  const f = writeHeapSnapshot(join(values['profile-dir'], `hb-scale-${N}-${suffix}.heapsnapshot`));
  say(`heap snapshot written in ${((performance.now() - t) / 1000).toFixed(1)} s: ${f}`);
  console.log(formatHeapSummary(summariseHeapSnapshot(f, 30)));
}

async function cachePhase(): Promise<RunningGateway> {
  const profiles = await startProfiles();
  const gwStart = performance.now();
  const cpu0 = process.cpuUsage();
  const gateway = await startGateway({
    webUi: false,
    watcher: { healthIntervalMs: Number(values['health-ms']) },
    config: gatewayConfig(gatewayEnv()),
  });
  say(
    `gateway listening ${((performance.now() - gwStart) / 1000).toFixed(1)} s after its start: ` +
      `${gateway.core.cache.nodeCount} nodes, ${gateway.core.cache.containerCount} containers cached`,
  );
  const progress = setInterval(() => {
    const c = gateway.core.cache;
    say(
      `  +${((performance.now() - gwStart) / 1000).toFixed(0)} s: ${c.nodeCount} nodes ` +
        `(${c.listNodes({ status: 'HEALTHY' }).length} HEALTHY), ${c.containerCount} containers, ${memory()}, ${lag()}`,
    );
  }, 2000);
  try {
    const cacheMs = await until(
      'complete cache',
      () => gateway.core.cache.containerCount >= N * C,
      Number(values['cache-timeout']) * 1000,
    );
    say(
      `cache complete: ${N * C} containers of ${N} nodes ${((performance.now() - gwStart) / 1000).toFixed(1)} s ` +
        `after gateway start (${(cacheMs / 1000).toFixed(1)} s after listening; goal <= 10 s)`,
    );
    // The CPU this process (the gateway, and the bench's light polling) used meanwhile: the time
    // the cache would take on a core of its own, whatever the simulator took from the machine.
    const cpu = process.cpuUsage(cpu0);
    say(
      `  the gateway's CPU meanwhile: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s ` +
        `(user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s)`,
    );
  } finally {
    clearInterval(progress);
  }
  say(`gateway RSS (this process, subscribers not yet started): ${memory()} (goal <= 500 MB)`);
  if (profiles) {
    await profiles.stop();
    heapSnapshot();
    say(`after the snapshot: ${memory()}`);
  }
  return gateway;
}

type Report = Array<{ delivered: number; latencies: number[] }>;

/** `p`, or an error naming `what` after `ms` (a saturated machine must not hang the bench). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function report(workers: Worker[]): Promise<Report> {
  const all = Promise.all(
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
  return within(all, 60_000, 'the subscribers');
}

async function eventsPhase(run: Run): Promise<void> {
  const { gateway, client, workers, sim } = run;
  const wsPath = createRequire(import.meta.url).resolve('ws');
  const url = gateway.url.replace(/^http/, 'ws');
  // As screens subscribe: WATCH_ALL of them to every container (a cluster overview), the others each
  // to one node's containers (a node page), the nodes taken in turn. The gateway hands each event only
  // to the subscriptions of its node and to the unfiltered ones (SubscriptionHub's routes).
  const query =
    'subscription($n: ID) { containerStatusChanged(nodeId: $n) { container { id name state } previousState at } }';
  const nodeIds = gateway.core.cache.listNodes().map((n) => n.id);
  const variables = Array.from({ length: S }, (_, i) =>
    i < WATCH_ALL ? {} : { n: nodeIds[(i - WATCH_ALL) % nodeIds.length] },
  );
  const perWorker = Math.ceil(S / 4);
  for (let w = 0; w * perWorker < S; w++) {
    const worker = new Worker(CLIENT_CODE, {
      eval: true,
      workerData: {
        wsPath,
        url,
        token: client.token,
        query,
        // worker 0 takes the unfiltered subscribers first
        variables: variables.slice(w * perWorker, (w + 1) * perWorker),
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
  say(`${S} subscribers connected (${WATCH_ALL} to every container, the others to one node each)`);
  // The gateway's ingest, whatever the subscribers get: the churn's containerStatus events it
  // published on its bus (each one stamped `name~ms`).
  let published = 0;
  const off = await gateway.core.bus.subscribe(CHANNEL.containerStatus, (m) => {
    if ((m as { container?: { name?: string } }).container?.name?.includes('~')) published++;
  });
  const rate = values.rate !== undefined ? Number(values.rate) : 20_000 / N;
  sim.churn(rate);
  const seconds = Number(values.seconds);
  let ingested = 0;
  let emitted = 0;
  // Each figure over its own window as long as it really took: timers and the simulator's answers
  // come late on a busy machine.
  let pubS = seconds;
  // The gateway's main thread (the subscribers' clients are worker threads): busy time per event.
  let busyMs = 0;
  let deliverS = seconds;
  let emitS = seconds;
  let r: Report;
  try {
    await sleep(2000);
    await report(workers);
    const t = performance.now();
    const churned0 = (await within(sim.counts(), 60_000, 'the simulator')).churned;
    const e0 = performance.now();
    published = 0;
    const cpuProfile = values['profile-events'] ? new CpuProfile() : undefined;
    await cpuProfile?.start();
    const elu0 = performance.eventLoopUtilization();
    await sleep(seconds * 1000);
    ingested = published;
    pubS = (performance.now() - e0) / 1000;
    busyMs = performance.eventLoopUtilization(elu0).active;
    if (cpuProfile) {
      const file = join(values['profile-dir'], `hb-scale-${N}-${suffix}-events.cpuprofile`);
      const top = await cpuProfile.stop(25, file);
      say(`CPU profile of the events window (${file}), self time:`);
      for (const e of top) console.log(`  ${e.percent.toFixed(1).padStart(5)} %  ${e.where}`);
    }
    r = await report(workers);
    deliverS = (performance.now() - t) / 1000;
    // What the simulated engines really made: on 2 cores their timers fall behind the asked rate.
    emitted = (await within(sim.counts(), 60_000, 'the simulator')).churned - churned0;
    emitS = (performance.now() - e0) / 1000;
  } catch (err) {
    // The machine is saturated (at 5,000 nodes the simulator alone takes both cores): no figure.
    say(
      `events: asked ${N * rate}/s: no figure, ${(err as Error).message}; the gateway had published ` +
        `${published} churn events meanwhile; RSS ${mb()}`,
    );
    await endEvents(run, off, 10_000);
    return;
  }
  const deliveredTotal = r.reduce((a, x) => a + x.delivered, 0);
  const lat = r.flatMap((x) => x.latencies);
  say(
    `events: asked ${N * rate}/s, the simulated engines made ${(emitted / emitS).toFixed(0)}/s; ` +
      `the gateway published ${(ingested / pubS).toFixed(0)}/s; ` +
      `${(deliveredTotal / deliverS).toFixed(0)} deliveries/s to ${S} subscribers ` +
      `(${WATCH_ALL} watching everything, ${S - WATCH_ALL} one node each); engine event -> client ` +
      `p50 ${pct(lat, 50)} ms p99 ${pct(lat, 99)} ms (goal >= 20,000/s, p99 <= 250 ms); RSS ${mb()}`,
  );
  const perEvent = (busyMs * 1000) / Math.max(1, ingested);
  say(
    `  the gateway's main thread was busy ${((busyMs / 10 / pubS) | 0).toString()} % of that window: ` +
      `${perEvent.toFixed(0)} µs per event published (all it did meanwhile, checks and resyncs included; ` +
      `a core of its own would take some ${Math.round(1e6 / perEvent)}/s)`,
  );
  await endEvents(run, off, 3000);
}

/** Stops the churn and the subscribers, then lets the resyncs after the churn settle for `settleMs`. */
async function endEvents(run: Run, off: () => Promise<void>, settleMs: number): Promise<void> {
  run.sim.churn(0);
  await off();
  for (const w of run.workers) await w.terminate();
  run.workers.length = 0;
  await sleep(settleMs);
}

/** Servers per group: the most a group may have. */
const GROUP_SERVERS = MAX_SERVERS;

/** The simulated nodes in groups of at most GROUP_SERVERS, each created in one call; all HEALTHY. */
async function ensureGroups(run: Run): Promise<string[]> {
  if (run.groupIds) return run.groupIds;
  const ids: string[] = [];
  for (let first = 0; first < run.sim.addresses.length; first += GROUP_SERVERS) {
    const servers = run.sim.addresses.slice(first, first + GROUP_SERVERS);
    const { createGroup } = await run.client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `scale-${suffix}-${ids.length}`, clusterMode: true, servers } },
    );
    ids.push(createGroup.id);
  }
  run.groupIds = ids;
  const healthy = (): number =>
    ids.reduce(
      (n, groupId) => n + run.gateway.core.cache.listNodes({ groupId, status: 'HEALTHY' }).length,
      0,
    );
  const t = await until('nodes HEALTHY', () => healthy() >= N, 300_000);
  say(
    `${ids.length} group(s) of <= ${GROUP_SERVERS} servers, all ${N} nodes HEALTHY in them ${(t / 1000).toFixed(1)} s after`,
  );
  return ids;
}

async function createMeta(
  client: TestClient,
  groupId: string,
  name: string,
  instances: number,
): Promise<string> {
  const { createMeta } = await client.request<{ createMeta: { id: string } }>(
    'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }',
    { input: { groupId, instances, config: { name, image: env.image, networkMode: 'none' } } },
  );
  return createMeta.id;
}

/**
 * `instances` instances RUNNING: one meta when the API allows that many (scheduler/meta-service.ts
 * MAX_INSTANCES, 1,000 today), else as many metas of at most that many, created at once.
 */
async function metaPhase(run: Run, instances: number, label: string): Promise<void> {
  const groupIds = await ensureGroups(run);
  // At least one meta per group, each of at most MAX_INSTANCES, the instances split evenly.
  const count = Math.max(groupIds.length, Math.ceil(instances / MAX_INSTANCES));
  const sizes = Array.from(
    { length: count },
    (_, i) => Math.floor(instances / count) + (i < instances % count ? 1 : 0),
  );
  const tm = performance.now();
  const cpu0 = process.cpuUsage();
  const cpuProfile = values['profile-meta'] ? new CpuProfile() : undefined;
  await cpuProfile?.start();
  const ids = await Promise.all(
    sizes.map((n, i) => createMeta(run.client, groupIds[i % groupIds.length]!, `scale-${suffix}-${i}`, n)),
  );
  run.metaIds = ids;
  const running = (): number =>
    ids.reduce(
      (sum, id) =>
        sum + run.gateway.core.cache.containersOfMeta(id).filter((c) => c.state === 'RUNNING').length,
      0,
    );
  const progress = setInterval(
    () =>
      say(`  +${((performance.now() - tm) / 1000).toFixed(0)} s: ${running()} instances RUNNING, ${lag()}`),
    10_000,
  );
  try {
    await until(`${instances} instances RUNNING`, () => running() >= instances, 1_800_000);
  } finally {
    clearInterval(progress);
  }
  const cpu = process.cpuUsage(cpu0);
  if (cpuProfile) {
    const file = join(values['profile-dir'], `hb-scale-${N}-${suffix}-meta.cpuprofile`);
    const top = await cpuProfile.stop(25, file);
    say(`CPU profile of the meta phase (${file}), self time:`);
    for (const e of top) console.log(`  ${e.percent.toFixed(1).padStart(5)} %  ${e.where}`);
  }
  say(
    `  the gateway's CPU meanwhile: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s ` +
      `(user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s)`,
  );
  say(
    `${instances} instances (${ids.length === 1 ? 'one meta' : `${ids.length} metas of <= ${MAX_INSTANCES}, the API's limit, over ${groupIds.length} group(s)`}) ` +
      `all RUNNING in ${((performance.now() - tm) / 1000).toFixed(1)} s ${label}; RSS ${mb()}`,
  );
}

/** 1 % of the nodes per minute go away for 5 s (< the 45 s migrate delay) and come back. */
async function flapPhase(run: Run): Promise<void> {
  if (!run.metaIds) await metaPhase(run, N, '(for the flaps)');
  const metaIds = run.metaIds!;
  const placement = (): Map<string, string> =>
    new Map(
      metaIds.flatMap((id) => run.gateway.core.cache.containersOfMeta(id)).map((c) => [c.id, c.nodeId]),
    );
  const before = placement();
  const minutes = Number(values['flap-minutes']);
  const perMinute = Math.max(1, Math.round(N / 100));
  const flapStart = performance.now();
  for (let m = 0; m < Math.max(1, Math.round(minutes * perMinute)); m++) {
    run.sim.flap(Math.floor(Math.random() * N), 5000);
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
}

/** A follower creates a 1-instance meta and waits for it RUNNING: proof that some gateway schedules. */
async function schedules(
  gw: GatewayProcess,
  groupId: string,
  name: string,
  timeoutMs = 120_000,
): Promise<void> {
  const c = new TestClient(gw.url);
  try {
    await c.login();
    const id = await createMeta(c, groupId, name, 1);
    await until(
      `${name} RUNNING`,
      async () => {
        const { meta } = await c.request<{ meta: { containers: Array<{ state: string }> } }>(
          'query($id: ID!) { meta(id: $id) { containers { state } } }',
          { id },
        );
        return meta.containers.some((x) => x.state === 'RUNNING');
      },
      timeoutMs,
    );
  } finally {
    await c.close();
  }
}

/** Until gateway `gw` sees `count` nodes of the group HEALTHY (its cache is complete for it). */
async function warm(gw: GatewayProcess, groupId: string, count: number): Promise<number> {
  const c = new TestClient(gw.url);
  try {
    await c.login();
    return await until(
      'the other gateway sees the nodes HEALTHY',
      async () => {
        const { nodes } = await c.request<{ nodes: Array<{ id: string }> }>(
          'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id } }',
          { g: groupId },
        );
        return nodes.length >= count;
      },
      300_000,
    );
  } finally {
    await c.close();
  }
}

/**
 * Two gateway processes B and C on the same Redis and ZooKeeper; this process's gateway steps down
 * (closed) so B leads; C starts and sees every node of the first group HEALTHY; B is killed -9; the
 * clock runs until C has scheduled a new meta's instance.
 */
async function leaderPhase(run: Run): Promise<void> {
  const groupId = (await ensureGroups(run))[0]!;
  const groupSize = Math.min(GROUP_SERVERS, N);
  const b = await spawnGateway(gatewayEnv());
  let c: GatewayProcess | undefined;
  try {
    await run.client.close();
    await run.gateway.close();
    await schedules(b, groupId, `lead-b-${suffix}`, 300_000);
    c = await spawnGateway(gatewayEnv());
    const w = await warm(c, groupId, groupSize);
    say(`the other gateway sees the group's ${groupSize} nodes HEALTHY (${(w / 1000).toFixed(1)} s)`);
    const t0 = performance.now();
    say('killing the leader (-9)');
    b.proc.kill('SIGKILL');
    await schedules(c, groupId, `lead-c-${suffix}`);
    say(
      `leader killed -9 -> the other gateway scheduled a new meta's instance (RUNNING) in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s (goal <= session timeout 10 s + 2 s); RSS of C ${c.rssMb().toFixed(0)} MB`,
    );
  } finally {
    await b.stop();
    await c?.stop();
  }
}

async function main(): Promise<void> {
  // The bench's own database: what earlier runs left there would be loaded, then removed, at start.
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
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
  // --sim-nice: the simulator's processes yield the CPU to the gateway, Redis and ZooKeeper, as
  // 5,000 machines of their own would (on 2 cores, 20 processes of agents otherwise take most of it).
  const nice = Number(values['sim-nice']);
  if (nice !== 0) for (const pid of sim.pids()) setPriority(pid, nice);
  let run: Run | undefined;
  try {
    const gateway = await cachePhase();
    run = { sim, gateway, client: new TestClient(gateway.url), workers: [] };
    await run.client.login();
    if (phases.has('events')) await eventsPhase(run);
    if (phases.has('meta')) await metaPhase(run, Number(values.instances), '(goal 10,000 <= 30 s)');
    if (phases.has('flap')) await flapPhase(run);
    if (phases.has('leader')) await leaderPhase(run);
  } finally {
    for (const w of run?.workers ?? []) await w.terminate();
    await run?.client.close();
    await run?.gateway.close();
    await sim.close();
    tmp.cleanup();
  }
}

await main();
