/**
 * Soak on the three real engines of the test environment: a gateway process (bench/lib/
 * gateway-process.ts, its own RSS) over an agent per engine (in this process), and C clients for S
 * seconds: most run queries in a loop (nodes, a page of containers, the node's containers), some hold
 * a containerStatusChanged subscription over graphql-ws, some create and remove containers on the
 * engines. Prints, with the load average: errors (goal 0), request p50/p99, and the gateway's RSS
 * slope after the warm-up (least-squares lines; goal < 1 MB/min): over plain samples every 2 s, and
 * over samples every 10 s taken right after a full garbage collection (through the gateway's
 * inspector, bench/lib/inspector.ts), RSS and heap, which a collection's swing does not move.
 * A slope wants minutes: the figure for the note comes from --seconds 300 or more.
 * Needs `npm run test:env up`.
 *
 *   npx tsx bench/soak.ts [--clients 200] [--seconds 60] [--subscribers 40] [--writers 6] [--warmup 15]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { engineNamed, loadTestEnv, removeContainersNamed } from '../test/helpers/test-env.js';
import { TempDirs, TestClient, idleContainer, startTestAgent } from '../test/integration/gateway-harness.js';
import type { RunningAgent } from '../agent/main.js';
import { freePort, spawnGateway, type GatewayProcess } from './lib/gateway-process.js';
import { connectInspector, inspectOption, type InspectedProcess } from './lib/inspector.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    subscribers: { type: 'string', default: '40' },
    writers: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '20' },
  },
});
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const SUBS = Number(values.subscribers);
const WRITERS = Number(values.writers);
const WARMUP = Number(values.warmup);
const env = loadTestEnv();
const tmp = new TempDirs();
const name = `bench-soak-${randomBytes(3).toString('hex')}`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const say = (s: string): void => console.log(`[load ${load()}] ${s}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

/** Least-squares slope of (minutes, MB). */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

interface Tally {
  latencies: number[];
  /** Latencies of creates and removes (real Docker work) apart. */
  writes: number[];
  errors: string[];
  requests: number;
}

async function timed(t: Tally, work: () => Promise<unknown>, write = false): Promise<void> {
  const t0 = performance.now();
  try {
    await work();
    (write ? t.writes : t.latencies).push(performance.now() - t0);
  } catch (err) {
    t.errors.push((err as Error).message.slice(0, 200));
  }
  t.requests++;
}

async function main(): Promise<void> {
  const agents: Array<RunningAgent & { address: string }> = [];
  let gateway: GatewayProcess | undefined;
  let inspector: InspectedProcess | undefined;
  const clients: TestClient[] = [];
  const stop = { now: false };
  try {
    for (const e of env.engines)
      agents.push(await startTestAgent(engineNamed(env, e.name), tmp.make('hb-soak-a-')));
    const inspectPort = await freePort();
    gateway = await spawnGateway({
      HUMPBACK_DATA_DIR: tmp.make('hb-soak-gw-'),
      NODE_OPTIONS: inspectOption(inspectPort),
    });
    inspector = await connectInspector(inspectPort);
    const admin = new TestClient(gateway.url);
    await admin.login();
    await admin.request('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
      input: { name, clusterMode: false, servers: agents.map((a) => a.address) },
    });
    let nodes: Array<{ id: string }> = [];
    while (nodes.length < agents.length) {
      nodes = (await admin.request<{ nodes: Array<{ id: string }> }>('{ nodes(status: HEALTHY) { id } }'))
        .nodes;
      if (nodes.length < agents.length) await sleep(200);
    }
    const t: Tally = { latencies: [], writes: [], errors: [], requests: 0 };
    let events = 0;
    for (let i = 0; i < CLIENTS; i++) {
      const c = new TestClient(gateway.url);
      c.token = admin.token;
      clients.push(c);
    }
    const loops: Array<Promise<void>> = [];
    clients.forEach((c, i) => {
      if (i < SUBS) {
        loops.push(
          (async () => {
            const rec = await c.subscribe<unknown>(
              'subscription { containerStatusChanged { container { id state } } }',
            );
            while (!stop.now) {
              events += rec.seen.length;
              rec.seen.length = 0;
              if (rec.errors.length)
                t.errors.push(...rec.errors.splice(0).map((e) => JSON.stringify(e).slice(0, 200)));
              await sleep(500);
            }
            rec.stop();
          })(),
        );
      } else if (i < SUBS + WRITERS) {
        const node = nodes[i % nodes.length]!.id;
        loops.push(
          (async () => {
            for (let k = 0; !stop.now; k++) {
              let id: string | undefined;
              await timed(
                t,
                async () => {
                  const r = await c.request<{ createContainer: { id: string } }>(
                    'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
                    { n: node, c: idleContainer(`${name}-${i}-${k}`, env.image) },
                  );
                  id = r.createContainer.id;
                },
                true,
              );
              if (id)
                await timed(
                  t,
                  () => c.request('mutation($id: ID!) { removeContainer(id: $id, force: true) }', { id }),
                  true,
                );
            }
          })(),
        );
      } else {
        const node = nodes[i % nodes.length]!.id;
        const queries = [
          '{ nodes { id name status } }',
          '{ containers(first: 20) { totalCount nodes { id name state } } }',
          `{ node(id: "${node}") { id containers { id state } } }`,
        ];
        loops.push(
          (async () => {
            for (let k = i; !stop.now; k++) {
              await timed(t, () => c.request(queries[k % queries.length]!));
              await sleep(20);
            }
          })(),
        );
      }
    });
    say(
      `${CLIENTS} clients (${SUBS} subscribers, ${WRITERS} creating/removing, the rest querying) for ${SECONDS} s`,
    );
    const samples: Array<[number, number]> = [];
    const afterGc = {
      rss: [] as Array<[number, number]>,
      heap: [] as Array<[number, number]>,
      external: [] as Array<[number, number]>,
    };
    const t0 = performance.now();
    for (let tick = 1; performance.now() - t0 < SECONDS * 1000; tick++) {
      await sleep(2000);
      const min = (performance.now() - t0) / 60_000;
      if (min * 60 < WARMUP) continue;
      samples.push([min, gateway.rssMb()]);
      if (tick % 5 === 0) {
        const m = await inspector.memoryAfterGc();
        afterGc.rss.push([min, m.rssMb]);
        afterGc.heap.push([min, m.heapUsedMb]);
        afterGc.external.push([min, m.externalMb]);
      }
    }
    stop.now = true;
    await Promise.all(loops);
    const rss = samples.map((s) => s[1]);
    say(
      `${t.requests} requests (${(t.requests / SECONDS).toFixed(0)}/s), ${events} subscription events; ` +
        `errors ${t.errors.length} (goal 0); queries p50 ${pct(t.latencies, 50).toFixed(1)} ms p99 ${pct(t.latencies, 99).toFixed(1)} ms; ` +
        `creates/removes (${t.writes.length}) p50 ${pct(t.writes, 50).toFixed(0)} ms p99 ${pct(t.writes, 99).toFixed(0)} ms`,
    );
    say(
      `gateway RSS after ${WARMUP} s warm-up: ${rss[0]?.toFixed(0)} -> ${rss.at(-1)?.toFixed(0)} MB, ` +
        `slope ${slope(samples).toFixed(2)} MB/min over ${samples.length} samples (goal < 1 MB/min)`,
    );
    const ends = (xs: Array<[number, number]>): string =>
      `${xs[0]?.[1].toFixed(1)} -> ${xs.at(-1)?.[1].toFixed(1)}`;
    say(
      `after a full GC, every 10 s (${afterGc.rss.length} samples): RSS ${ends(afterGc.rss)} MB, slope ` +
        `${slope(afterGc.rss).toFixed(2)} MB/min (goal < 1 MB/min); heap ${ends(afterGc.heap)} MB, slope ` +
        `${slope(afterGc.heap).toFixed(2)} MB/min; external ${ends(afterGc.external)} MB, slope ` +
        `${slope(afterGc.external).toFixed(2)} MB/min`,
    );
    const distinct = [...new Set(t.errors)].slice(0, 5);
    if (distinct.length) say(`first errors: ${distinct.join(' | ')}`);
  } finally {
    stop.now = true;
    for (const c of clients) await c.close().catch(() => undefined);
    inspector?.close();
    await gateway?.stop();
    for (const a of agents) await a.close();
    await removeContainersNamed(
      env,
      env.engines.map((e) => e.name),
      name,
    ).catch(() => undefined);
    tmp.cleanup();
  }
}

await main();
