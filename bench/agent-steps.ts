/**
 * Per-step timing of one instance, agent against dockerode direct, alternated in one process: Docker's
 * create, start and inspect each timed directly, then the agent's whole create (REST → create, start,
 * inspect) split at the agent's own Docker calls (timed on the dockerode it drives): the way in
 * (client → agent's first Docker call), each call and the gaps between them, and the way out (the
 * last Docker answer → the client's result). Needs the test environment.
 *
 *   npx tsx bench/agent-steps.ts [--iterations 12] [--engine n3]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createDocker } from '../agent/docker-runtime.js';
import { engineNamed, loadTestEnv } from '../test/helpers/test-env.js';
import { startBenchAgent } from './lib/bench-agent.js';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '12' }, engine: { type: 'string', default: 'n3' } },
});

/** The agent's Docker calls, as [method path, sent, answered] (performance.now()). */
const calls: Array<{ what: string; sent: number; answered: number }> = [];
const agentDocker = createDocker(engineNamed(loadTestEnv(), values.engine).dockerEndpoint);
const modem = agentDocker.modem as unknown as {
  dial: (o: { method: string; path: string }, cb: (err: unknown, data: unknown) => void) => void;
};
const dial = modem.dial.bind(modem);
modem.dial = (o, cb) => {
  const call = {
    what: `${o.method} ${o.path.replace(/\/containers\/[0-9a-f]{64}/, '/containers/:id')}`,
    sent: performance.now(),
    answered: 0,
  };
  calls.push(call);
  dial(o, (err, data) => {
    call.answered = performance.now();
    cb(err, data);
  });
};

const { env, docker, client, close } = await startBenchAgent(values.engine, agentDocker);
const prefix = `hbsteps-${randomBytes(3).toString('hex')}`;
const steps: Record<string, number[]> = {};
/** How many agent creates made how many inspects. */
const callCounts = new Map<number, number>();
const add = (k: string, v: number): void => void (steps[k] ??= []).push(v);

async function direct(i: number): Promise<void> {
  let t = performance.now();
  const c = await docker.createContainer({
    name: `${prefix}-d-${i}`,
    Image: env.image,
    Cmd: ['sleep', '1000'],
    HostConfig: { NetworkMode: 'none' },
  });
  add('direct create', performance.now() - t);
  t = performance.now();
  await c.start();
  add('direct start', performance.now() - t);
  t = performance.now();
  await c.inspect();
  add('direct inspect', performance.now() - t);
  t = performance.now();
  await c.remove({ force: true, v: true });
  add('direct remove', performance.now() - t);
}

async function viaAgent(i: number): Promise<void> {
  calls.length = 0;
  const t0 = performance.now();
  const c = await client.createContainer({
    name: `${prefix}-a-${i}`,
    image: env.image,
    command: ['sleep', '1000'],
    networkMode: 'none',
  });
  const t1 = performance.now();
  add('agent create', t1 - t0);
  // The agent's calls: the way in, Docker's create and start, what the answer's inspect adds after
  // the start's answer (none when the inspect sent behind the start was read after it), the way out.
  const mine = [...calls];
  const create = mine.find((c) => c.what.startsWith('POST /containers/create'));
  const start = mine.find((c) => c.what.endsWith('/start?'));
  const inspects = mine.filter((c) => c.what.endsWith('/json?'));
  if (create && start && inspects.length > 0) {
    const last = Math.max(...mine.map((c) => c.answered));
    add('  in (client → Docker create sent)', create.sent - t0);
    add('  Docker create', create.answered - create.sent);
    add('  Docker start', start.answered - start.sent);
    add("  the answer's inspect after the start", last - start.answered);
    add('  out (last Docker answer → client)', t1 - last);
    add('  inspects per create', inspects.length);
    callCounts.set(inspects.length, (callCounts.get(inspects.length) ?? 0) + 1);
  }
  calls.length = 0;
  const t2 = performance.now();
  await client.removeContainer(c.id, true);
  const t3 = performance.now();
  add('agent remove', t3 - t2);
  if (calls[0]) {
    add('  remove in', calls[0].sent - t2);
    add('  remove out', t3 - calls[0].answered);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  await direct(-1);
  await viaAgent(-1);
  for (const k of Object.keys(steps)) delete steps[k];
  callCounts.clear();
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
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, ${n} iterations, medians:`,
  );
  for (const [k, v] of Object.entries(m))
    console.log(`${k.padEnd(40)} ${k.includes('per create') ? String(v) : `${v.toFixed(1)} ms`}`);
  console.log(
    `inspects per agent create: ${[...callCounts]
      .sort((a, b) => a[0] - b[0])
      .map(([inspects, times]) => `${inspects} in ${times}`)
      .join(', ')}`,
  );
  const dockerSum = m['direct create']! + m['direct start']! + m['direct inspect']!;
  console.log(
    `agent create adds ${(m['agent create']! - m['direct create']! - m['direct start']!).toFixed(1)} ms over ` +
      `Docker's create+start (${(dockerSum - m['direct inspect']!).toFixed(1)} ms; an inspect is ` +
      `${m['direct inspect']!.toFixed(1)} ms); remove adds ${(m['agent remove']! - m['direct remove']!).toFixed(1)} ms`,
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
