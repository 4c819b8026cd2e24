/**
 * createMeta of 30 instances on the three real engines of the test environment until all are
 * RUNNING, against 30 direct Docker create+start with the same concurrency, alternated in one run.
 * Prints each round and the ratio of the medians (goal, issue 16: <= 1.05).
 * Needs the test environment up (`npm run test:env up`). Run: npx tsx bench/meta-e2e.ts [rounds]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { dockerFor, loadTestEnv, type TestEngine } from '../test/helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  startTestAgent,
  startTestGateway,
} from '../test/integration/gateway-harness.js';

const INSTANCES = 30;
/** The reconciler's per-meta concurrency (scheduler/reconciler.ts default). */
const CONCURRENCY = 8;
const rounds = Number(process.argv[2] ?? 3);
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const env = loadTestEnv();
const tmp = new TempDirs();
const suffix = randomBytes(3).toString('hex');
const command = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

async function directRound(round: number): Promise<number> {
  const jobs = Array.from({ length: INSTANCES }, (_, i) => ({
    i,
    engine: env.engines[i % env.engines.length]!,
  }));
  const started = performance.now();
  await pool(jobs, CONCURRENCY, async ({ i, engine }) => {
    const c = await dockerFor(engine).createContainer({
      name: `bench-direct-${suffix}-${round}-${i}`,
      Image: env.image,
      Cmd: command,
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
  });
  const ms = performance.now() - started;
  await cleanup(`bench-direct-${suffix}-${round}-`);
  return ms;
}

async function cleanup(namePart: string): Promise<void> {
  await Promise.all(
    env.engines.map(async (engine: TestEngine) => {
      const docker = dockerFor(engine);
      const list = await docker.listContainers({ all: true, filters: { name: [namePart] } });
      await pool(list, 8, async (c) => {
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
      });
    }),
  );
}

async function main(): Promise<void> {
  const agents = await Promise.all(
    env.engines.map((e) => startTestAgent(e, tmp.make(`hb-bench-agent-${e.name}-`))),
  );
  const gateway = await startTestGateway({
    config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-bench-gw-') }),
  });
  const client = new TestClient(gateway.url);
  try {
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `bench-${suffix}`, clusterMode: true, servers: agents.map((a) => a.address) } },
    );
    const groupId = createGroup.id;
    for (let t = 0; ; t++) {
      const { nodes } = await client.request<{ nodes: unknown[] }>(
        'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id } }',
        { g: groupId },
      );
      if (nodes.length === env.engines.length) break;
      if (t > 200) throw new Error('nodes did not become HEALTHY');
      await new Promise((r) => setTimeout(r, 100));
    }

    const metaRound = async (round: number): Promise<number> => {
      const started = performance.now();
      const { createMeta } = await client.request<{
        createMeta: { id: string; containers: Array<{ state: string }> };
      }>('mutation($input: CreateMetaInput!) { createMeta(input: $input) { id containers { state } } }', {
        input: {
          groupId,
          instances: INSTANCES,
          config: { name: `bench-${suffix}-${round}`, image: env.image, networkMode: 'none', command },
        },
      });
      let containers = createMeta.containers;
      while (containers.length < INSTANCES || containers.some((c) => c.state !== 'RUNNING')) {
        await new Promise((r) => setTimeout(r, 10));
        containers = (
          await client.request<{ meta: { containers: Array<{ state: string }> } }>(
            'query($id: ID!) { meta(id: $id) { containers { state } } }',
            { id: createMeta.id },
          )
        ).meta.containers;
      }
      const ms = performance.now() - started;
      await client.request('mutation($id: ID!) { removeMeta(id: $id) }', { id: createMeta.id });
      await cleanup(`bench-${suffix}-${round}-`);
      return ms;
    };

    // Warm-up of both paths (image layers, agent connections), not counted.
    await directRound(-1);
    await metaRound(-1);

    console.log(`load average ${load()}`);
    const meta: number[] = [];
    const direct: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first so drift in the machine's load hits both alike.
      if (r % 2 === 0) {
        meta.push(await metaRound(r));
        direct.push(await directRound(r));
      } else {
        direct.push(await directRound(r));
        meta.push(await metaRound(r));
      }
      console.log(
        `round ${r + 1}: createMeta ${meta[r]!.toFixed(0)} ms, direct Docker ${direct[r]!.toFixed(0)} ms`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(meta) / median(direct);
    // Rounds next to each other share the machine's load; their ratios drift less than the medians.
    const paired = meta.map((m, i) => m / direct[i]!);
    console.log(
      `paired ratios per round: ${paired.map((r) => r.toFixed(3)).join(' ')}, median ${median(paired).toFixed(3)}`,
    );
    console.log(
      `${INSTANCES} instances, concurrency ${CONCURRENCY}: createMeta median ${median(meta).toFixed(0)} ms, ` +
        `direct median ${median(direct).toFixed(0)} ms, ratio ${ratio.toFixed(3)} (goal <= 1.05); load average ${load()}`,
    );
  } finally {
    await client.close();
    await gateway.close();
    for (const a of agents) await a.close().catch(() => undefined);
    await cleanup(`bench-${suffix}`);
    tmp.cleanup();
  }
}

await main();
