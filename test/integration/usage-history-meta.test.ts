import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import { usageBucket } from '../../core/store/usage.js';
import type { RunningGateway } from '../../gateway/main.js';
import { engineNamed, loadTestEnv, removeContainersNamed, waitFor } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

interface Point {
  at: string;
  cpuPercent: number;
  memoryUsedBytes: number;
  networkRxBytes: number | null;
  networkTxBytes: number | null;
}
interface Ranges {
  hour: Point[];
  day: Point[];
  week: Point[];
}
interface MetaHistory {
  meta: Ranges & { containers: Array<{ id: string; nodeId: string } & Ranges> };
}

const POINT = 'at cpuPercent memoryUsedBytes networkRxBytes networkTxBytes';
const RANGES = `hour: usageHistory(range: HOUR) { ${POINT} } day: usageHistory(range: DAY) { ${POINT} }
  week: usageHistory(range: WEEK) { ${POINT} }`;
const HISTORY = `query($id: ID!) { meta(id: $id) { ${RANGES} containers { id nodeId ${RANGES} } } }`;
const STEP = 15 * 60_000;

/** The sum of the instances' points at each of the meta's times; throws when an instance lacks one. */
function sums(metaPoints: Point[], instances: Point[][]): Point[] {
  return metaPoints.map((m) => {
    const at = instances.map((points) => {
      const p = points.find((q) => q.at === m.at);
      if (!p) throw new Error(`an instance has no point at ${m.at}`);
      return p;
    });
    const add = (pick: (p: Point) => number | null): number | null =>
      at.some((p) => pick(p) !== null) ? at.reduce((s, p) => s + (pick(p) ?? 0), 0) : null;
    return {
      at: m.at,
      cpuPercent: at.reduce((s, p) => s + p.cpuPercent, 0),
      memoryUsedBytes: at.reduce((s, p) => s + p.memoryUsedBytes, 0),
      networkRxBytes: add((p) => p.networkRxBytes),
      networkTxBytes: add((p) => p.networkTxBytes),
    };
  });
}

/** Equal up to the stores' rounding (CPU to 2 decimals, bytes whole) of each of `n` summed points. */
function expectSameSums(actual: Point[], expected: Point[], n: number): void {
  expect(actual.map((p) => p.at)).toEqual(expected.map((p) => p.at));
  actual.forEach((p, i) => {
    const e = expected[i]!;
    expect(Math.abs(p.cpuPercent - e.cpuPercent)).toBeLessThanOrEqual(0.01 * n);
    expect(Math.abs(p.memoryUsedBytes - e.memoryUsedBytes)).toBeLessThanOrEqual(n);
    for (const k of ['networkRxBytes', 'networkTxBytes'] as const) {
      expect(p[k] === null).toBe(e[k] === null);
      expect(Math.abs((p[k] ?? 0) - (e[k] ?? 0))).toBeLessThanOrEqual(n);
    }
  });
}

/**
 * A meta's usage history is the sum of its instances', in every range: a meta of two instances on two
 * real engines (n1, n2), a real gateway in cluster mode on the embedded store. The recorder's clock
 * stands still until the meta runs, then advances 15 minutes a sample, so the HOUR, DAY and WEEK
 * points of an hour come in a few samples (and every sample is a gap of several DAY steps, after which
 * the step of the sample before still gets its DAY point). Once the meta is removed, its history
 * and its instances' leave the store.
 */
describe('usage history of a meta', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const name = `hbmetause-${suffix}`;
  const base = usageBucket('WEEK', Date.now());
  let steps = -1;
  const clock = (): number => base + Math.max(0, steps < 0 ? 0 : ++steps) * STEP;
  const agents: Array<RunningAgent & { address: string }> = [];
  let gateway: RunningGateway;
  let client: TestClient;

  beforeAll(async () => {
    for (const n of ['n1', 'n2'])
      agents.push(await startTestAgent(engineNamed(env, n), tmp.make('hb-agent-')));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-gw-') }),
      usage: { intervalMs: 200, now: clock },
    });
    client = new TestClient(gateway.url);
    await client.login();
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await removeContainersNamed(env, ['n1', 'n2'], name);
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('sums its instances per point in HOUR, DAY and WEEK', async () => {
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name, clusterMode: true, servers: agents.map((a) => a.address) } },
    );
    await healthyNodes(client, createGroup.id, 2);
    const { createMeta } = await client.request<{
      createMeta: { id: string; containers: Array<{ nodeId: string }> };
    }>('mutation($input: CreateMetaInput!) { createMeta(input: $input) { id containers { nodeId } } }', {
      input: {
        groupId: createGroup.id,
        instances: 2,
        config: {
          name,
          image: env.image,
          networkMode: 'none',
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
        },
      },
    });
    expect(new Set(createMeta.containers.map((c) => c.nodeId)).size).toBe(2);
    steps = 0;

    const history = await waitFor(
      async () => {
        const h = await client.request<MetaHistory>(HISTORY, { id: createMeta.id });
        return h.meta.week.length >= 1 ? h.meta : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, description: "the meta's first WEEK point" },
    );
    expect(history.containers).toHaveLength(2);
    const instances = history.containers;
    // Every range: each meta point is the sum of its two instances' points at that time.
    for (const range of ['hour', 'day', 'week'] as const) {
      const points = history[range];
      expect(points.length).toBeGreaterThan(0);
      expectSameSums(
        points,
        sums(
          points,
          instances.map((c) => c[range]),
        ),
        2,
      );
    }
    // Two running instances use memory: the sum is more than either.
    for (const p of history.hour) {
      for (const c of instances)
        expect(p.memoryUsedBytes).toBeGreaterThan(c.hour.find((q) => q.at === p.at)!.memoryUsedBytes);
    }
    // The first hour: samples at 15, 30 and 45 minutes (the clock stood at its start before the meta
    // ran), a DAY point each, and the hour's WEEK point.
    const firstHour = (points: Point[]) =>
      points.filter((p) => Date.parse(p.at) < base + 3_600_000).map((p) => Date.parse(p.at) - base);
    expect(firstHour(history.hour)).toEqual([STEP, 2 * STEP, 3 * STEP]);
    expect(firstHour(history.day)).toEqual([STEP, 2 * STEP, 3 * STEP]);
    expect(firstHour(history.week)).toEqual([0]);

    // Removed, the meta's history goes from the store with its instances'.
    await client.request('mutation($id: ID!) { removeMeta(id: $id) }', { id: createMeta.id });
    const series = [`meta:${createMeta.id}`, ...instances.map((c) => `container:${c.id}`)];
    await waitFor(
      async () => {
        const left = await Promise.all(
          (['HOUR', 'DAY', 'WEEK'] as const).map((r) => gateway.core.store.usageHistory(series, r, 0)),
        );
        return left.flat(2).length === 0 ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, description: "the removed meta's history gone from the store" },
    );
  });
});
