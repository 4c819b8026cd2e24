/**
 * What the agent costs over talking to Docker directly: create+start then remove N containers through
 * the agent (AgentClient → REST → dockerode) and directly (dockerode), same engine, same concurrency,
 * rounds alternated in one run. Needs the test environment (`npm run test:env up`).
 *
 *   npx tsx bench/agent-overhead.ts [--containers 30] [--concurrency 5] [--rounds 4] [--engine n3]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startBenchAgent } from './lib/bench-agent.js';

const { values } = parseArgs({
  options: {
    containers: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '4' },
    engine: { type: 'string', default: 'n3' },
  },
});
const N = Number(values.containers);
const C = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const { env, engine, docker, client, close } = await startBenchAgent(values.engine);
const prefix = `hbbench-${randomBytes(3).toString('hex')}`;

async function pool<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(C, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Timing {
  create: number;
  remove: number;
}

type Side = 'agent' | 'direct';

async function round(side: Side, r: number): Promise<Timing> {
  const names = Array.from({ length: N }, (_, i) => `${prefix}-${side}-${r}-${i}`);
  const ids: string[] = [];
  const t0 = performance.now();
  if (side === 'agent') {
    await pool(names, async (name) => {
      const c = await client.createContainer({
        name,
        image: env.image,
        command: ['sleep', '1000'],
        networkMode: 'none',
      });
      ids.push(c.id);
    });
  } else {
    await pool(names, async (name) => {
      const c = await docker.createContainer({
        name,
        Image: env.image,
        Cmd: ['sleep', '1000'],
        HostConfig: { NetworkMode: 'none' },
      });
      await c.start();
      ids.push(c.id);
    });
  }
  const t1 = performance.now();
  if (side === 'agent') await pool(ids, (id) => client.removeContainer(id, true));
  else await pool(ids, (id) => docker.getContainer(id).remove({ force: true, v: true }));
  const t2 = performance.now();
  return { create: t1 - t0, remove: t2 - t1 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

try {
  console.log(
    `engine ${engine.name} (${engine.dockerEndpoint}), ${N} containers, concurrency ${C}, ${ROUNDS} rounds each side, load average ${load()}`,
  );
  // Warm-up (not counted): both paths once.
  await round('direct', -1);
  await round('agent', -1);
  const results: Record<Side, Timing[]> = { agent: [], direct: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order: Side[] = r % 2 === 0 ? ['agent', 'direct'] : ['direct', 'agent'];
    for (const side of order) {
      const t = await round(side, r);
      results[side].push(t);
      console.log(
        `round ${r + 1} ${side.padEnd(6)} create+start ${fmt(t.create)}  remove ${fmt(t.remove)}  total ${fmt(t.create + t.remove)}`,
      );
    }
  }
  const total = (s: Side): number => median(results[s].map((t) => t.create + t.remove));
  const create = (s: Side): number => median(results[s].map((t) => t.create));
  const remove = (s: Side): number => median(results[s].map((t) => t.remove));
  console.log('');
  console.log(
    `median direct: create+start ${fmt(create('direct'))}, remove ${fmt(remove('direct'))}, total ${fmt(total('direct'))}`,
  );
  console.log(
    `median agent:  create+start ${fmt(create('agent'))}, remove ${fmt(remove('agent'))}, total ${fmt(total('agent'))}`,
  );
  // Rounds next to each other share the machine's load; their ratios drift less than the medians.
  const paired = results.agent.map(
    (a, i) => (a.create + a.remove) / (results.direct[i]!.create + results.direct[i]!.remove),
  );
  console.log(
    `paired ratios per round: ${paired.map((r) => r.toFixed(3)).join(' ')}, median ${median(paired).toFixed(3)}`,
  );
  console.log(
    `ratio agent/direct: total ${(total('agent') / total('direct')).toFixed(3)} (goal <= 1.03), create+start ${(create('agent') / create('direct')).toFixed(3)}, remove ${(remove('agent') / remove('direct')).toFixed(3)}; load average ${load()}`,
  );
} finally {
  const left = await docker.listContainers({ all: true, filters: { name: [prefix] } });
  await Promise.all(
    left.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  await close();
}
