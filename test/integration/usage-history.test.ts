import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import { RedisBus } from '../../core/bus/redis-bus.js';
import { RedisStore } from '../../core/store/redis-store.js';
import { usageBucket } from '../../core/store/usage.js';
import type { RunningGateway } from '../../gateway/main.js';
import { engineNamed, loadTestEnv, removeContainersNamed, waitFor } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  idleContainer,
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
interface Histories {
  container: { hour: Point[]; day: Point[]; week: Point[] } | null;
  node: { hour: Point[] } | null;
}

const POINT = 'at cpuPercent memoryUsedBytes networkRxBytes networkTxBytes';
const HISTORIES = `query($c: ID!, $n: ID!) {
  container(id: $c) { hour: usageHistory(range: HOUR) { ${POINT} } day: usageHistory(range: DAY) { ${POINT} }
                      week: usageHistory(range: WEEK) { ${POINT} } }
  node(id: $n) { hour: usageHistory(range: HOUR) { ${POINT} } }
}`;
const FIVE_MIN = 300_000;

/**
 * Usage history on the real engine n1 through a real agent and gateway on Redis. The recorder's clock
 * advances five minutes at each sample, so an hour of history (12 samples: HOUR points, a DAY point per
 * sample, a WEEK point once the hour is over) takes seconds; halfway the gateway is replaced by a new
 * one on the same Redis, 15 minutes of the clock later, and the history goes on from where it was.
 */
describe('usage history', () => {
  const env = loadTestEnv();
  const engine = engineNamed(env, 'n1');
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const prefix = `hbt-usage-${suffix}:`;
  const name = `hbuse-${suffix}`;
  // Samples fall on 5-minute steps from an hour boundary.
  const base = usageBucket('WEEK', Date.now());
  let readings = 0;
  const clock = (): number => base + readings++ * FIVE_MIN;
  let agent: RunningAgent & { address: string };
  let gateway: RunningGateway | undefined;
  let client: TestClient;

  async function startOne(): Promise<void> {
    const store = await RedisStore.open(env.redisUrl, { keyPrefix: prefix });
    const bus = await RedisBus.open(env.redisUrl, { channelPrefix: prefix });
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_REDIS_URL: env.redisUrl, HUMPBACK_DATA_DIR: tmp.make('hb-gw-') }),
      store,
      bus,
      cluster: false,
      leaseTtlMs: 1500,
      usage: { intervalMs: 200, now: clock },
    });
    client = new TestClient(gateway.url);
    await client.login();
  }

  beforeAll(async () => {
    agent = await startTestAgent(engine, tmp.make('hb-agent-'));
    await startOne();
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await removeContainersNamed(env, ['n1'], name);
    await agent?.close().catch(() => undefined);
    const admin = new Redis(env.redisUrl);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
    tmp.cleanup();
  });

  it('accumulates across a gateway restart and answers per range', async () => {
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name, clusterMode: false, servers: [agent.address] } },
    );
    const [node] = await healthyNodes(client, createGroup.id);
    const { createContainer } = await client.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      { n: node!.id, c: idleContainer(name, env.image) },
    );
    const vars = { c: createContainer.id, n: node!.id };
    const read = (): Promise<Histories> => client.request<Histories>(HISTORIES, vars);

    await waitFor(async () => ((await read()).container?.hour.length ?? 0) >= 4, {
      timeoutMs: 60_000,
      intervalMs: 300,
      description: 'four HOUR points of the container',
    });
    await client.close();
    await gateway!.close();
    gateway = undefined;
    // The gateway stays away for 15 minutes of the recorder's clock: its last step still gets its DAY point.
    readings += 3;
    const restartedAt = base + readings * FIVE_MIN;
    await startOne();

    const after = await waitFor(
      async () => {
        const h = await read();
        const later = h.container?.hour.filter((p) => Date.parse(p.at) >= restartedAt) ?? [];
        return h.container && h.container.week.length >= 1 && later.length >= 2 ? h : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 300, description: 'a WEEK point and HOUR points after the restart' },
    );
    const c = after.container!;
    const times = (points: Point[]): number[] => points.map((p) => Date.parse(p.at));
    // HOUR: samples from both gateways, in order, each at its 10 s step, all within one hour.
    const hour = times(c.hour);
    expect(hour.some((t) => t < restartedAt)).toBe(true);
    expect(hour.some((t) => t >= restartedAt)).toBe(true);
    expect(hour).toEqual([...hour].sort((a, b) => a - b));
    expect(new Set(hour).size).toBe(hour.length);
    expect(hour.every((t) => t % 10_000 === 0)).toBe(true);
    expect(hour[hour.length - 1]! - hour[0]!).toBeLessThan(3_600_000);
    // The container runs: it uses memory.
    expect(c.hour.every((p) => p.memoryUsedBytes > 0 && p.networkRxBytes !== null)).toBe(true);
    // DAY: a point per 5-minute step, the mean of that step's one sample: the same figures.
    expect(times(c.day).every((t) => t % FIVE_MIN === 0)).toBe(true);
    const byTime = new Map(c.hour.map((p) => [p.at, p]));
    const matched = c.day.filter((p) => byTime.has(p.at));
    expect(matched.length).toBeGreaterThan(0);
    for (const p of matched) {
      expect(p.memoryUsedBytes).toBe(byTime.get(p.at)!.memoryUsedBytes);
      expect(p.cpuPercent).toBeCloseTo(byTime.get(p.at)!.cpuPercent, 2);
    }
    // Every 5-minute step but the current one has its DAY point, the one before the gap among them.
    const newest = hour[hour.length - 1]!;
    const daySteps = new Set(times(c.day));
    expect(hour.filter((t) => t < newest && !daySteps.has(t))).toEqual([]);
    expect(daySteps.has(Math.max(...hour.filter((t) => t < restartedAt)))).toBe(true);
    // WEEK: a point per hour, the mean of its DAY points.
    const hourStart = Date.parse(c.week[0]!.at);
    expect(hourStart % 3_600_000).toBe(0);
    const firstHour = c.day.filter(
      (p) => Date.parse(p.at) >= hourStart && Date.parse(p.at) < hourStart + 3_600_000,
    );
    expect(firstHour.length).toBeGreaterThan(0);
    const mean = firstHour.reduce((s, p) => s + p.memoryUsedBytes, 0) / firstHour.length;
    expect(Math.abs(c.week[0]!.memoryUsedBytes - mean)).toBeLessThanOrEqual(1);
    // The node's history has the same steps.
    expect(after.node!.hour.length).toBeGreaterThanOrEqual(c.hour.length);
  });
});
