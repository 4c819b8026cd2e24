/**
 * End-to-end latency on the three real engines of the test environment: a Docker event (pause or
 * unpause of a container) until `containerStatusChanged` reaches a graphql-ws client, timed from the
 * event's own time (Docker's `timeNano`, read from the engine's event stream) to the client's
 * receipt; p50/p99 over E events (goal p99 <= 100 ms). Prints the load average.
 * Then the failover half (bench/lib/node-loss.ts): a node's agent killed -9 and its engine stopped
 * hard until every lost instance has a RUNNING replacement, against the agents' ZooKeeper session
 * timeout + the migrate delay (goal <= that + 2 s).
 * Needs `npm run test:env up`. Run: npx tsx bench/latency.ts [--events 500] [--part events|failover]
 *   [--instances 6] [--migrate-delay 3]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { measureNodeLoss } from './lib/node-loss.js';
import { dockerFor, engineNamed, loadTestEnv, removeContainersNamed } from '../test/helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  idleContainer,
  startTestAgent,
  startTestGateway,
} from '../test/integration/gateway-harness.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '500' },
    part: { type: 'string' },
    instances: { type: 'string', default: '6' },
    'migrate-delay': { type: 'string', default: '3' },
  },
});
const E = Number(values.events);
const env = loadTestEnv();
const tmp = new TempDirs();
const name = `bench-lat-${randomBytes(3).toString('hex')}`;
const pct = (s: number[], p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;

async function main(): Promise<void> {
  const engine = engineNamed(env, 'n1');
  const agent = await startTestAgent(engine, tmp.make('hb-lat-agent-'));
  const gateway = await startTestGateway({
    config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-lat-gw-') }),
  });
  const client = new TestClient(gateway.url);
  const docker = dockerFor(engine);
  const stop = new AbortController();
  try {
    await client.login();
    await client.request('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
      input: { name, clusterMode: false, servers: [agent.address] },
    });
    let nodeId: string | undefined;
    while (!nodeId) {
      const { nodes } = await client.request<{ nodes: Array<{ id: string }> }>(
        '{ nodes(status: HEALTHY) { id } }',
      );
      nodeId = nodes[0]?.id;
      if (!nodeId) await new Promise((r) => setTimeout(r, 100));
    }
    const c = await client.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      { n: nodeId, c: idleContainer(name, env.image) },
    );
    const id = c.createContainer.id;
    // Docker's own event times, by action, in order.
    const times: Record<string, number[]> = { pause: [], unpause: [] };
    const stream = (await docker.getEvents({
      filters: { container: [id], event: ['pause', 'unpause'] },
      abortSignal: stop.signal,
    } as never)) as unknown as NodeJS.ReadableStream;
    let buf = '';
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let k = buf.indexOf('\n'); k >= 0; k = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, k)) as { Action: string; timeNano: number };
        buf = buf.slice(k + 1);
        times[e.Action]?.push(e.timeNano / 1e6);
      }
    });
    stream.on('error', () => undefined);
    const received: Record<string, number[]> = { PAUSED: [], RUNNING: [] };
    const rec = await client.subscribe<{
      containerStatusChanged: { container: { id: string; state: string } };
    }>('subscription { containerStatusChanged { container { id state } } }');
    const seen = { n: 0 };
    const poll = setInterval(() => {
      for (; seen.n < rec.seen.length; seen.n++) {
        const v = rec.seen[seen.n]!.containerStatusChanged.container;
        if (v.id === id) received[v.state]?.push(Date.now());
      }
    }, 1);
    const lat: number[] = [];
    for (let i = 0; i < E / 2; i++) {
      const want = received['PAUSED']!.length + 1;
      await docker.getContainer(id).pause();
      while (received['PAUSED']!.length < want) await new Promise((r) => setTimeout(r, 1));
      await docker.getContainer(id).unpause();
      while (received['RUNNING']!.length < want) await new Promise((r) => setTimeout(r, 1));
    }
    clearInterval(poll);
    for (const [action, state] of [
      ['pause', 'PAUSED'],
      ['unpause', 'RUNNING'],
    ] as const) {
      const t = times[action]!;
      const r = received[state]!;
      for (let i = 0; i < Math.min(t.length, r.length); i++) lat.push(r[i]! - t[i]!);
    }
    lat.sort((a, b) => a - b);
    console.log(
      `[load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}] Docker event -> containerStatusChanged at the client over ${lat.length} events: ` +
        `p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms (goal p99 <= 100 ms)`,
    );
    rec.stop();
  } finally {
    stop.abort();
    await client.close();
    await gateway.close();
    await agent.close();
    await removeContainersNamed(env, ['n1'], name);
    tmp.cleanup();
  }
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

if (values.part !== 'failover') await main();
if (values.part !== 'events') {
  const r = await measureNodeLoss({
    instances: Number(values.instances),
    migrateDelaySeconds: Number(values['migrate-delay']),
    say: (line) => console.log(`[load ${load()}] ${line}`),
  });
  console.log(
    `[load ${load()}] node lost (agent -9, engine stopped) -> all ${r.lost} lost of ${r.instances} instances ` +
      `RUNNING elsewhere: ${(r.ms / 1000).toFixed(1)} s (session timeout + migrate delay ${(r.budgetMs / 1000).toFixed(0)} s; ` +
      `goal <= ${(r.budgetMs / 1000 + 2).toFixed(0)} s)`,
  );
}
