/**
 * Per-step timing of one instance, agent against dockerode direct, alternated in one process: Docker's
 * create, start and inspect each timed directly, then the agent's whole create (REST → create, start,
 * inspect) and the time it adds over the three Docker calls. Needs the test environment.
 *
 *   npx tsx bench/agent-steps.ts [--iterations 12] [--engine n3]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startBenchAgent } from './lib/bench-agent.js';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '12' }, engine: { type: 'string', default: 'n3' } },
});
const { env, docker, client, close } = await startBenchAgent(values.engine);
const prefix = `hbsteps-${randomBytes(3).toString('hex')}`;
const steps: Record<string, number[]> = {
  create: [],
  start: [],
  inspect: [],
  remove: [],
  agent: [],
  agentRemove: [],
};

async function direct(i: number): Promise<void> {
  let t = performance.now();
  const c = await docker.createContainer({
    name: `${prefix}-d-${i}`,
    Image: env.image,
    Cmd: ['sleep', '1000'],
    HostConfig: { NetworkMode: 'none' },
  });
  steps.create!.push(performance.now() - t);
  t = performance.now();
  await c.start();
  steps.start!.push(performance.now() - t);
  t = performance.now();
  await c.inspect();
  steps.inspect!.push(performance.now() - t);
  t = performance.now();
  await c.remove({ force: true, v: true });
  steps.remove!.push(performance.now() - t);
}

async function viaAgent(i: number): Promise<void> {
  let t = performance.now();
  const c = await client.createContainer({
    name: `${prefix}-a-${i}`,
    image: env.image,
    command: ['sleep', '1000'],
    networkMode: 'none',
  });
  steps.agent!.push(performance.now() - t);
  t = performance.now();
  await client.removeContainer(c.id, true);
  steps.agentRemove!.push(performance.now() - t);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  await direct(-1);
  await viaAgent(-1);
  for (const k of Object.keys(steps)) steps[k] = [];
  const n = Number(values.iterations);
  for (let i = 0; i < n; i++) {
    if (i % 2) {
      await direct(i);
      await viaAgent(i);
    } else {
      await viaAgent(i);
      await direct(i);
    }
  }
  const m = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, median(v)])) as Record<
    string,
    number
  >;
  for (const [k, v] of Object.entries(m)) console.log(`${k.padEnd(12)} median ${v.toFixed(1)} ms`);
  const dockerSum = m['create']! + m['start']! + m['inspect']!;
  console.log(
    `agent create adds ${(m['agent']! - dockerSum).toFixed(1)} ms over Docker's create+start+inspect ` +
      `(${dockerSum.toFixed(1)} ms); the inspect is ${m['inspect']!.toFixed(1)} ms of the ` +
      `${(m['agent']! - m['create']! - m['start']!).toFixed(1)} ms over create+start; remove adds ` +
      `${(m['agentRemove']! - m['remove']!).toFixed(1)} ms`,
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
