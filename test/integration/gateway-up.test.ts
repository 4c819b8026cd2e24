import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config.js';
import { LOCAL_GROUP, startUp, type RunningUp } from '../../gateway/up.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TempDirs, TestClient, idleContainer } from './gateway-harness.js';

/** `humpback up`: gateway + local agent in one process on the embedded store. */
describe('humpback up', () => {
  const env = loadTestEnv();
  const engine = engineNamed(env, 'n3');
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const dataDir = tmp.make('hb-up-');
  const baseEnv = {
    HUMPBACK_DATA_DIR: dataDir,
    DOCKER_ENDPOINT: engine.dockerEndpoint,
    HUMPBACK_LISTEN: '127.0.0.1:0',
    DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
    DOCKER_AGENT_IPADDR: engine.ip,
  };
  let up: RunningUp | undefined;

  afterAll(async () => {
    await up?.close();
    const docker = dockerFor(engine);
    const list = await docker.listContainers({ all: true, filters: { name: [`hbup-${suffix}`] } });
    for (const c of list)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    tmp.cleanup();
  });

  it('refuses to start on an empty store without HUMPBACK_ADMIN_PASSWORD, saying so in one line', async () => {
    await expect(startUp({ env: baseEnv })).rejects.toBeInstanceOf(ConfigError);
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/humpback.ts', 'up'], {
      env: {
        ...process.env,
        ...baseEnv,
        HUMPBACK_DATA_DIR: tmp.make('hb-up-empty-'),
        HUMPBACK_ADMIN_PASSWORD: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/HUMPBACK_ADMIN_PASSWORD: .*no users yet/);
  });

  it('runs the gateway and a local agent, registered as the node of group "local"', async () => {
    up = await startUp({
      env: { ...baseEnv, HUMPBACK_ADMIN_PASSWORD: ADMIN_PASSWORD },
      gateway: { watcher: { healthIntervalMs: 300 }, webUi: false },
    });
    const client = new TestClient(up.gateway.url);
    await client.login();
    const { groups } = await client.request<{
      groups: Array<{ id: string; name: string; servers: string[] }>;
    }>('{ groups { id name servers } }');
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ name: LOCAL_GROUP, servers: [up.agentAddress] });
    const node = await waitFor(
      async () => {
        const data = await client.request<{ nodes: Array<{ id: string; ip: string; status: string }> }>(
          '{ nodes(status: HEALTHY) { id ip status } }',
        );
        return data.nodes[0];
      },
      { timeoutMs: 10_000, description: 'the local node HEALTHY' },
    );
    expect(node.ip).toBe(engine.ip);
    const events = await client.subscribe<{
      containerStatusChanged: { container: { id: string; state: string } };
    }>('subscription { containerStatusChanged { container { id state } } }');
    const { createContainer } = await client.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      { n: node.id, c: idleContainer(`hbup-${suffix}`, env.image) },
    );
    await events.next(
      (e) =>
        e.containerStatusChanged.container.id === createContainer.id &&
        e.containerStatusChanged.container.state === 'RUNNING',
      5000,
    );
    await client.request('mutation($id: ID!) { removeContainer(id: $id, force: true) }', {
      id: createContainer.id,
    });
    await client.close();
  });

  it('starts again on the same data directory without a password and without a second group', async () => {
    await up!.close();
    up = await startUp({ env: baseEnv, gateway: { webUi: false } });
    const client = new TestClient(up.gateway.url);
    await client.login();
    const { groups } = await client.request<{ groups: Array<{ name: string }> }>('{ groups { name } }');
    expect(groups.map((g) => g.name)).toEqual([LOCAL_GROUP]);
    await client.close();
  });
});
