/**
 * Subscription fan-out: graphql-ws clients subscribe to containerStatusChanged on one gateway (this
 * process) and events are published on its bus at increasing rates. The client count grows in steps
 * (default 1,000, 5,000, 10,000); at each step the bench prints the gateway's memory per connection,
 * then per target rate the deliveries/s reached and publish → receive latency (p50, p99, max), the
 * CPU of the gateway and of the clients, and the load average. Goal: 10,000 clients, >= 1,000,000
 * deliveries/s with p99 < 250 ms.
 *
 * The clients run in child processes (bench/lib/fanout-clients.ts, `--procs` of them, each with a
 * share): each process has its own open-file budget, and this process holds only the gateway's side
 * of each connection. A rate's events are all received before the next rate starts.
 *
 *   node --expose-gc --import tsx bench/subscription-fanout.ts [--steps 1000,5000,10000]
 *     [--deliveries 250000,500000,750000,1000000,1500000] [--seconds 5] [--procs 3] [--flush ms] [--max-flush ms]
 *     [--profile [--profile-out file.cpuprofile]]
 * --profile: a CPU profile of the gateway (this process) over the rates of the last step, its top
 * functions by self time printed (and saved for DevTools with --profile-out).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalBus } from '../core/bus/local-bus.js';
import { logger } from '../core/logger.js';
import { createGatewayServer } from '../gateway/graphql/server.js';
import { CHANNEL, publishEvent } from '../core/bus/channels.js';
import { createFakeWorld } from '../test/integration/api-fakes.js';
import type { ClientCommand, ClientReport } from './lib/fanout-clients.js';
import { CpuProfile } from './lib/cpu-profile.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000,5000,10000' },
    deliveries: { type: 'string', default: '250000,500000,750000,1000000,1500000' },
    seconds: { type: 'string', default: '5' },
    procs: { type: 'string', default: '3' },
    flush: { type: 'string', default: '' },
    'max-flush': { type: 'string', default: '' },
    profile: { type: 'boolean', default: false },
    'profile-out': { type: 'string', default: '' },
  },
});
const steps = values.steps.split(',').map(Number);
const targets = values.deliveries.split(',').map(Number);
const seconds = Number(values.seconds);
const procCount = Number(values.procs);
const GOAL = { clients: 10_000, deliveries: 1_000_000, p99: 250 };
/** Past this p99 the gateway is saturated: higher rates at this client count are skipped. */
const GIVE_UP_P99 = 3000;

const QUERY =
  'subscription { containerStatusChanged { container { id name nodeId state status } previousState at } }';

const load = (): string => `load ${loadavg()[0]!.toFixed(1)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the client processes --------------------------------------------------------------------------

interface ClientProc {
  child: ChildProcess;
  inbox: Array<(r: ClientReport) => void>;
  clients: number;
}

function startClients(): ClientProc {
  const child = fork(fileURLToPath(new URL('./lib/fanout-clients.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
  });
  const proc: ClientProc = { child, inbox: [], clients: 0 };
  child.on('message', (r: ClientReport) => {
    if (r.type === 'problem') console.error(`client problem (pid ${child.pid}): ${r.message}`);
    else proc.inbox.shift()?.(r);
  });
  return proc;
}

const ask = (proc: ClientProc, command: ClientCommand): Promise<ClientReport> =>
  new Promise((resolve) => {
    proc.inbox.push(resolve);
    proc.child.send(command);
  });

interface Totals {
  delivered: number;
  histogram: Map<number, number>;
  open: number;
  /** The worst of the client processes' event-loop delay p99, ms. */
  clientLoopP99: number;
}

async function reportAll(procs: ClientProc[]): Promise<Totals> {
  const totals: Totals = { delivered: 0, histogram: new Map(), open: 0, clientLoopP99: 0 };
  for (const r of await Promise.all(procs.map((p) => ask(p, { type: 'report' })))) {
    if (r.type !== 'report') continue;
    totals.delivered += r.delivered;
    totals.open += r.open;
    totals.clientLoopP99 = Math.max(totals.clientLoopP99, r.loopDelayP99);
    for (const [ms, n] of r.histogram) totals.histogram.set(ms, (totals.histogram.get(ms) ?? 0) + n);
  }
  return totals;
}

function percentile(histogram: Map<number, number>, p: number): number {
  const entries = [...histogram].sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  let seen = 0;
  for (const [ms, n] of entries) {
    seen += n;
    if (seen >= (p / 100) * total) return ms;
  }
  return NaN;
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// --- the gateway --------------------------------------------------------------------------------------

const world = await createFakeWorld({ adminPassword: 'bench-password' });
const bus = new LocalBus({ logger });
const server = await createGatewayServer({
  config: { listen: { host: '127.0.0.1', port: 0 }, development: false },
  services: world.services,
  bus,
  logger,
  ws: {
    ...(values.flush ? { flushMillis: Number(values.flush) } : {}),
    ...(values['max-flush'] ? { maxFlushMillis: Number(values['max-flush']) } : {}),
  },
});
const { token } = await world.services.auth.login('admin', 'bench-password', 'bench');
const node = world.nodes.add({ id: 'node-1', ip: '10.0.0.1', name: 'bench-node' });
const url = server.url.replace(/^http/, 'ws');

let seq = 0;
const publishOne = () =>
  publishEvent(bus, CHANNEL.containerStatus, {
    container: {
      id: `c${(seq++).toString(16).padStart(12, '0')}`,
      name: `bench-${seq % 100}`,
      nodeId: node.id,
      image: 'humpback-test/busybox:latest',
      state: seq % 2 ? 'RUNNING' : 'EXITED',
      status: 'Up 1 second',
      labels: {},
      createdAt: '2026-11-22T00:00:00.000Z',
    },
    previousState: seq % 2 ? 'EXITED' : 'RUNNING',
    at: new Date().toISOString(),
    groupIds: [],
  });

/** Publishes until one event reaches every client (all subscriptions attached), then lets it settle. */
async function warmUp(procs: ClientProc[], clients: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await publishOne();
    await sleep(100);
    if ((await reportAll(procs)).delivered >= clients) break;
  }
  await sleep(300);
  await reportAll(procs);
}

/** Reports until nothing more arrives; what arrived is added to `into`. */
async function drain(procs: ClientProc[], into: Totals): Promise<void> {
  for (let quiet = 0; quiet < 2;) {
    await sleep(250);
    const r = await reportAll(procs);
    into.delivered += r.delivered;
    for (const [ms, n] of r.histogram) into.histogram.set(ms, (into.histogram.get(ms) ?? 0) + n);
    quiet = r.delivered === 0 ? quiet + 1 : 0;
  }
}

interface RateResult {
  clients: number;
  eventsPerSecond: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function runRate(procs: ClientProc[], clients: number, target: number): Promise<RateResult> {
  const rate = target / clients;
  const gatewayCpu = process.cpuUsage();
  const clientCpu = procs.reduce((s, p) => s + cpuSeconds(p.child.pid!), 0);
  await reportAll(procs); // the clients' loop delay from here
  const gatewayLoop = monitorEventLoopDelay({ resolution: 10 });
  gatewayLoop.enable();
  const startSeq = seq;
  const started = Date.now();
  const timer = setInterval(() => {
    const owed = ((Date.now() - started) / 1000) * rate - (seq - startSeq);
    for (let i = 0; i < Math.floor(owed); i++) void publishOne();
  }, 10);
  await sleep(seconds * 1000);
  clearInterval(timer);
  const window = (Date.now() - started) / 1000;
  const inWindow = await reportAll(procs);
  gatewayLoop.disable();
  const cpu = process.cpuUsage(gatewayCpu);
  const clientsCpu = procs.reduce((s, p) => s + cpuSeconds(p.child.pid!), 0) - clientCpu;
  const all: Totals = { ...inWindow, histogram: new Map(inWindow.histogram) };
  await drain(procs, all);
  const published = seq - startSeq;
  const perSecond = inWindow.delivered / window;
  const p50 = percentile(all.histogram, 50);
  const p99 = percentile(all.histogram, 99);
  const max = Math.max(...all.histogram.keys());
  const lost = published * clients - all.delivered;
  console.log(
    `${String(clients).padStart(7)}  ${(published / window).toFixed(0).padStart(8)}  ${String(target).padStart(9)}  ` +
      `${perSecond.toFixed(0).padStart(11)}  ${String(p50).padStart(6)}  ${String(p99).padStart(6)}  ${String(max).padStart(6)}  ` +
      `${(((cpu.user + cpu.system) / 1e6 / window) * 100).toFixed(0).padStart(6)}%  ` +
      `${((cpu.user + cpu.system) / Math.max(1, inWindow.delivered)).toFixed(2).padStart(6)}  ${((clientsCpu / window) * 100).toFixed(0).padStart(6)}%  ` +
      `${(gatewayLoop.percentile(99) / 1e6).toFixed(0).padStart(5)}/${inWindow.clientLoopP99.toFixed(0).padEnd(5)}  ` +
      `${lost === 0 ? '' : `lost ${lost}  `}${load()}`,
  );
  return { clients, eventsPerSecond: rate, perSecond, p50, p99 };
}

// --- the steps ---------------------------------------------------------------------------------------

const procs = Array.from({ length: procCount }, startClients);
global.gc?.();
const baseline = process.memoryUsage();
let connected = 0;
const results: RateResult[] = [];
console.log(
  `goal: ${GOAL.clients} clients, >= ${GOAL.deliveries} deliveries/s with p99 < ${GOAL.p99} ms; ` +
    `clients in ${procCount} processes${global.gc ? '' : ' (run with --expose-gc for steadier memory figures)'}`,
);
for (const step of steps) {
  const adding = step - connected;
  await Promise.all(
    procs.map((p, i) => {
      const share = Math.floor(adding / procCount) + (i < adding % procCount ? 1 : 0);
      p.clients += share;
      return share > 0
        ? ask(p, { type: 'open', count: share, url, token, query: QUERY })
        : Promise.resolve(undefined);
    }),
  );
  connected = step;
  await warmUp(procs, connected);
  global.gc?.();
  const mem = process.memoryUsage();
  console.log(
    `\n${connected} clients: gateway memory per connection: heap ${((mem.heapUsed - baseline.heapUsed) / connected / 1024).toFixed(1)} KiB, ` +
      `RSS ${((mem.rss - baseline.rss) / connected / 1024).toFixed(1)} KiB (this process only; ${load()})`,
  );
  console.log(
    'clients  events/s  target/s  delivered/s  p50 ms  p99 ms  max ms  gateway  µs/dlv  clients  loop ms' +
      '  (CPU: 100% = one core; µs/dlv: gateway CPU per delivery; loop: event-loop delay p99, gateway/clients)',
  );
  const profile = values.profile && step === steps[steps.length - 1] ? new CpuProfile() : undefined;
  await profile?.start();
  for (const target of targets) {
    const r = await runRate(procs, connected, target);
    results.push(r);
    if (r.p99 > GIVE_UP_P99) break;
  }
  if (profile) {
    console.log(`gateway CPU profile over these rates (self time, share of wall time; ${load()}):`);
    for (const e of await profile.stop(18, values['profile-out'] || undefined)) {
      console.log(`  ${e.percent.toFixed(1).padStart(5)}%  ${e.where}`);
    }
  }
}

console.log('\nhighest rate with p99 < 250 ms, per client count:');
for (const step of steps) {
  const best = results
    .filter((r) => r.clients === step && r.p99 < GOAL.p99)
    .sort((a, b) => b.perSecond - a.perSecond)[0];
  console.log(
    best
      ? `  ${step} clients: ${best.perSecond.toFixed(0)} deliveries/s (${best.eventsPerSecond.toFixed(0)} events/s, p50 ${best.p50} ms, p99 ${best.p99} ms)`
      : `  ${step} clients: no rate kept p99 under ${GOAL.p99} ms`,
  );
}
const atGoal = results
  .filter((r) => r.clients >= GOAL.clients && r.p99 < GOAL.p99)
  .sort((a, b) => b.perSecond - a.perSecond)[0];
console.log(
  `goal (${GOAL.clients} clients, ${GOAL.deliveries}/s, p99 < ${GOAL.p99} ms): ` +
    (atGoal
      ? `${atGoal.perSecond.toFixed(0)}/s, ${atGoal.perSecond >= GOAL.deliveries ? 'met' : 'missed'}`
      : 'not reached') +
    ` (${load()})`,
);

await Promise.all(
  procs.map((p) => new Promise((r) => (p.child.once('exit', r), p.child.send({ type: 'close' })))),
);
await server.close();
await bus.close();
process.exit(0);
