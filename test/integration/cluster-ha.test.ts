import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor, freePort } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, AGENT_TOKEN, TempDirs, TestClient, startTestAgent } from './gateway-harness.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface MetaView {
  id: string;
  containers: Array<{ id: string; index: number | null; state: string; nodeId: string }>;
}

/**
 * Several gateways on one Redis and one ZooKeeper, as separate processes: the leader is killed -9
 * while it scales a meta and the follower finishes the job; then the cluster cache is wiped from
 * Redis and a new gateway rebuilds it from the engines without recreating anything.
 */
describe('cluster mode with several gateways', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  // A database of its own: this suite wipes what it wrote.
  const redisUrl = `${env.redisUrl}/13`;
  const zkUri = `zk://${env.zkConnect}/hbtest-ha-${suffix}`;
  const names = ['n1', 'n2', 'n3'];
  const agents: Array<RunningAgent & { address: string }> = [];
  const gateways: ChildProcess[] = [];
  let redis: Redis;
  let metaId: string;

  async function startGateway(): Promise<{ proc: ChildProcess; url: string }> {
    const port = await freePort();
    const proc = spawn(process.execPath, ['--import', 'tsx', 'bin/humpback.ts', 'gateway'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        VITEST: undefined,
        HUMPBACK_LOG_LEVEL: 'warn',
        HUMPBACK_REDIS_URL: redisUrl,
        DOCKER_CLUSTER_URIS: zkUri,
        HUMPBACK_LISTEN: `127.0.0.1:${port}`,
        HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
        HUMPBACK_ADMIN_PASSWORD: ADMIN_PASSWORD,
        HUMPBACK_DATA_DIR: tmp.make('hb-ha-gw-'),
        CENTER_MIGRATE_DELAY: '60',
        CENTER_RECOVERY_INTERVAL: '3',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    gateways.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}`);
        const res = await fetch(`${url}/healthz`).catch(() => undefined);
        return res?.ok || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: 'gateway /healthz' },
    );
    return { proc, url: `${url}/graphql` };
  }

  /** What the engines really run for the meta: index → container ids. */
  async function onEngines(): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const name of names) {
      const list = await dockerFor(engineNamed(env, name)).listContainers({
        all: true,
        filters: { label: [`humpback.meta=${metaId}`] },
      });
      for (const c of list) {
        const i = Number(c.Labels['humpback.index']);
        out.set(i, [...(out.get(i) ?? []), c.Id]);
      }
    }
    return out;
  }

  const kill = async (proc: ChildProcess, signal: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  };

  beforeAll(async () => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await redis.flushdb();
    for (const name of names)
      agents.push(await startTestAgent(engineNamed(env, name), tmp.make(`hb-ha-agent-${name}-`)));
  });

  afterAll(async () => {
    for (const g of gateways) await kill(g, 'SIGKILL');
    for (const name of names) {
      const docker = dockerFor(engineNamed(env, name));
      const list = await docker
        .listContainers({ all: true, filters: { name: [`ha-${suffix}`] } })
        .catch(() => []);
      for (const c of list)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    for (const a of agents) await a.close().catch(() => undefined);
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
    tmp.cleanup();
  });

  it('the follower finishes a scale-up when the leader is killed -9 mid-way', async () => {
    const a = await startGateway();
    const b = await startGateway();
    const ca = new TestClient(a.url);
    await ca.login();
    const { createGroup } = await ca.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `hbha-${suffix}`, clusterMode: true, servers: agents.map((x) => x.address) } },
    );
    await waitFor(
      async () =>
        (
          await ca.request<{ nodes: unknown[] }>(
            'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id } }',
            {
              g: createGroup.id,
            },
          )
        ).nodes.length === 3 || undefined,
      { timeoutMs: 20_000, description: 'three HEALTHY nodes' },
    );
    const { createMeta } = await ca.request<{ createMeta: MetaView }>(
      'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id containers { id index state nodeId } } }',
      {
        input: {
          groupId: createGroup.id,
          instances: 3,
          config: {
            name: `ha-${suffix}`,
            image: env.image,
            networkMode: 'none',
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          },
        },
      },
    );
    metaId = createMeta.id;
    expect(createMeta.containers).toHaveLength(3);

    // Scale to 12 on the leader and kill it -9 once the first new instances exist.
    void ca
      .request('mutation($id: ID!) { updateMeta(id: $id, input: { instances: 12 }) { id } }', { id: metaId })
      .catch(() => undefined);
    await waitFor(async () => ((await onEngines()).size > 4 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      description: 'scale-up under way',
    });
    await kill(a.proc, 'SIGKILL');
    const partial = await onEngines();
    expect(partial.size).toBeLessThan(12);

    const cb = new TestClient(b.url);
    await cb.login();
    await waitFor(
      async () => {
        const engines = await onEngines();
        const counts = [...engines.values()].map((ids) => ids.length);
        return engines.size === 12 && counts.every((n) => n === 1) ? true : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        description: 'exactly 12 instances, one per index, on the engines',
      },
    );
    const engines = await onEngines();
    expect([...engines.keys()].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // And it stays that way (no late duplicates from the dead leader's last requests).
    await new Promise((r) => setTimeout(r, 4000));
    const later = await onEngines();
    expect(later.size).toBe(12);
    expect([...later.values()].every((ids) => ids.length === 1)).toBe(true);
    const view = await waitFor(
      async () => {
        const m = (
          await cb.request<{ meta: MetaView }>(
            'query($id: ID!) { meta(id: $id) { id containers { id index state nodeId } } }',
            {
              id: metaId,
            },
          )
        ).meta;
        return m.containers.length === 12 ? m : undefined;
      },
      { timeoutMs: 15_000, description: 'the follower sees 12 containers' },
    );
    expect(new Set(view.containers.map((c) => c.index)).size).toBe(12);
    await cb.close();
    await ca.close();
    await kill(b.proc, 'SIGTERM');
  });

  it('rebuilds the cluster cache from the engines after Redis loses it, recreating nothing', async () => {
    const before = await onEngines();
    expect(before.size).toBe(12);
    // The cache collections only: desired state (groups, metas, users) stays.
    const keys = await redis.keys('hb:c:nodes*');
    keys.push(...(await redis.keys('hb:c:containers*')));
    if (keys.length > 0) await redis.del(...keys);
    const c = await startGateway();
    const client = new TestClient(c.url);
    await client.login();
    await waitFor(
      async () => {
        const m = (
          await client.request<{ meta: MetaView }>(
            'query($id: ID!) { meta(id: $id) { id containers { id index } } }',
            {
              id: metaId,
            },
          )
        ).meta;
        return m.containers.length === 12 ? m : undefined;
      },
      { timeoutMs: 30_000, description: 'cache rebuilt with 12 containers' },
    );
    // Two recovery passes later, the engines run exactly the same containers.
    await new Promise((r) => setTimeout(r, 7000));
    const after = await onEngines();
    expect([...after.entries()].sort()).toEqual([...before.entries()].sort());
    await client.close();
  });
});
