import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
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

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * /metrics scraped by the test environment's real Prometheus (Debian's): a running container on the
 * real engine n2 has humpback_container_cpu_percent with its labels; once removed, its series leave
 * /metrics.
 */
describe('Prometheus', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const name = `hbprom-${suffix}`;
  const targets = join(env.prometheus.targetsDir, `${name}.json`);
  let agent: RunningAgent & { address: string };
  let gateway: RunningGateway;
  let client: TestClient;

  const query = async (promql: string): Promise<PromResult[]> => {
    const res = await fetch(`${env.prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: PromResult[] } };
    expect(body.status).toBe('success');
    return body.data.result;
  };
  const metricsText = async (): Promise<string> =>
    (await fetch(gateway.url.replace(/graphql$/, 'metrics'))).text();

  beforeAll(async () => {
    agent = await startTestAgent(engineNamed(env, 'n2'), tmp.make('hb-agent-'));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-gw-') }),
      cluster: false,
      usage: { intervalMs: 1000 },
    });
    client = new TestClient(gateway.url);
    await client.login();
    await writeFile(
      targets,
      JSON.stringify([{ targets: [new URL(gateway.url).host], labels: { test: name } }]),
    );
  });

  afterAll(async () => {
    await rm(targets, { force: true });
    await client?.close();
    await gateway?.close();
    await removeContainersNamed(env, ['n2'], name);
    await agent?.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('answers humpback_container_cpu_percent for a running container, and drops it once removed', async () => {
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name, clusterMode: false, servers: [agent.address] } },
    );
    const [node] = await healthyNodes(client, createGroup.id);
    const { createContainer } = await client.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      { n: node!.id, c: idleContainer(name, env.image) },
    );
    const id = createContainer.id;

    const [series] = await waitFor(
      async () => {
        const r = await query(`humpback_container_cpu_percent{container_id="${id}"}`);
        return r.length > 0 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'the container in Prometheus' },
    );
    const { __name__, instance, ...labels } = series!.metric;
    expect(__name__).toBe('humpback_container_cpu_percent');
    expect(instance).toBe(new URL(gateway.url).host);
    expect(labels).toEqual({
      job: 'humpback',
      test: name,
      container: name,
      container_id: id,
      node: node!.id,
      // meta and group are empty for a single-mode container, and Prometheus drops empty labels.
    });
    expect(Number(series!.value[1])).toBeGreaterThanOrEqual(0);
    const up = await waitFor(
      async () => {
        const r = await query(`humpback_node_up{node="${node!.id}", test="${name}"}`);
        return r.length > 0 ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, description: 'the node in Prometheus' },
    );
    expect(up[0]!.value[1]).toBe('1');

    await client.request('mutation($id: ID!) { removeContainer(id: $id, force: true) }', { id });
    await waitFor(async () => !(await metricsText()).includes(id), {
      timeoutMs: 10_000,
      description: "the removed container's series gone from /metrics",
    });
    expect(await metricsText()).toContain('humpback_node_up{');
  });
});
