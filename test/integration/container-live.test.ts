import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadAgentConfig } from '../../core/config.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, removeContainersNamed, waitFor } from '../helpers/test-env.js';
import {
  AGENT_TOKEN,
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  startTestGateway,
} from './gateway-harness.js';

interface LogEvent {
  containerLogs: { at: string; stream: string; line: string };
}
interface StatsEvent {
  containerStats: { at: string; cpuPercent: number; memoryUsageBytes: number };
}
interface Details {
  id: string;
  name: string;
  image: string;
  command: string[];
  env: string[];
  ports: Array<{ privatePort: number; publicPort: number | null; type: string; ip: string | null }>;
  mounts: Array<{ source: string; destination: string; readOnly: boolean; type: string }>;
  restartCount: number;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  hostname: string | null;
  networkMode: string | null;
}
const DETAILS = `id name image command env ports { privatePort publicPort type ip }
  mounts { source destination readOnly type } restartCount startedAt finishedAt exitCode hostname networkMode`;

/** Collects an exec WebSocket's output until it closes. */
function openExec(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  let output = '';
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data) => (output += data.toString()));
  return { ws, opened, closed, output: () => output };
}

/**
 * Live logs and stats, the console, details, rename and upgrade against a real engine: an agent in
 * this process (with a port range) and the real gateway over HTTP, graphql-ws and the exec socket.
 */
describe('container logs, stats, console and details', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const portBase = 27100 + Math.floor(Math.random() * 500) * 4; // below the ephemeral range
  let agent: RunningAgent | undefined;
  let gateway: RunningGateway | undefined;
  const admin = { client: undefined as unknown as TestClient };
  let other: TestClient;
  let nodeId: string;
  let containerId: string;

  beforeAll(async () => {
    const engine = engineNamed(env, 'n1');
    agent = await startAgent(
      loadAgentConfig({
        DOCKER_ENDPOINT: engine.dockerEndpoint,
        DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
        HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
        HUMPBACK_DATA_DIR: tmp.make('hb-live-agent-'),
        DOCKER_AGENT_IPADDR: engine.ip,
        DOCKER_CONTAINER_PORTS_RANGE: `${portBase}-${portBase + 3}`,
      }),
    );
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-live-gw-') }),
    });
    admin.client = new TestClient(gateway.url);
    await admin.client.login();
    const { createGroup } = await admin.client.request<{ createGroup: { id: string } }>(
      'mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }',
      { i: { name: `hblive-${suffix}`, clusterMode: false, servers: [new URL(agent.url).host] } },
    );
    nodeId = (await healthyNodes(admin.client, createGroup.id))[0]!.id;
    await admin.client.request('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { username: `other${suffix}`, password: 'password-other-1', admin: false },
    });
    other = new TestClient(gateway.url);
    await other.login(`other${suffix}`, 'password-other-1');
    const { createContainer } = await admin.client.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      {
        n: nodeId,
        c: {
          name: `hblive-${suffix}`,
          image: env.image,
          networkMode: 'none',
          hostname: 'livehost',
          env: ['GREETING=hello'],
          ports: [{ privatePort: 8080, publicPort: 0 }],
          ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
          shmSizeMB: 32,
          labels: [{ key: 'team', value: 'live' }],
          volumes: [{ containerPath: '/data', volume: `hblive-${suffix}-data` }],
          restartPolicy: 'unless-stopped',
          command: ['sh', '-c', 'echo started; trap "exit 0" TERM; while true; do sleep 1; done'],
        },
      },
    );
    containerId = createContainer.id;
  });

  afterAll(async () => {
    await admin.client?.close();
    await other?.close();
    await gateway?.close();
    await removeContainersNamed(env, ['n1'], `hblive-${suffix}`);
    await dockerFor(engineNamed(env, 'n1'))
      .getVolume(`hblive-${suffix}-data`)
      .remove()
      .catch(() => undefined);
    await agent?.close().catch(() => undefined);
    tmp.cleanup();
  });

  const exec = (cmd: string[], tty = false) =>
    admin.client.request<{ startExec: { id: string; url: string; expiresAt: string } }>(
      'mutation($c: ID!, $cmd: [String!], $t: Boolean) { startExec(containerId: $c, command: $cmd, tty: $t) { id url expiresAt } }',
      { c: containerId, cmd, t: tty },
    );

  it('follows the logs: a line printed after the subscription started arrives', async () => {
    const logs = await admin.client.subscribe<LogEvent>(
      'subscription($id: ID!) { containerLogs(id: $id, tail: 10) { at stream line } }',
      { id: containerId },
    );
    const first = await logs.next((e) => e.containerLogs.line === 'started');
    expect(first.containerLogs.stream).toBe('STDOUT');
    expect(Date.parse(first.containerLogs.at)).toBeGreaterThan(0);
    const marker = `late-line-${suffix}`;
    const { startExec } = await exec([
      'sh',
      '-c',
      `echo ${marker} > /proc/1/fd/1; echo ${marker}-err > /proc/1/fd/2`,
    ]);
    const session = openExec(startExec.url);
    await session.closed;
    const late = await logs.next((e) => e.containerLogs.line === marker);
    const err = await logs.next((e) => e.containerLogs.line === `${marker}-err`);
    expect(err.containerLogs.stream).toBe('STDERR');
    expect(late.containerLogs.at >= first.containerLogs.at).toBe(true);
    // The history came once: no line twice.
    expect(logs.seen.filter((e) => e.containerLogs.line === 'started')).toHaveLength(1);
    logs.stop();
    await waitFor(async () => (gateway!.core.services.streams.counts().logs.open === 0 ? true : undefined), {
      timeoutMs: 10_000,
      description: 'the log stream closed after the last subscriber left',
    });
  });

  it('gives two clients of one container one engine stats stream, closed when both leave', async () => {
    const before = gateway!.core.services.streams.counts().stats.opened;
    const query = 'subscription($id: ID!) { containerStats(id: $id) { at cpuPercent memoryUsageBytes } }';
    const a = await admin.client.subscribe<StatsEvent>(query, { id: containerId });
    const viewer = new TestClient(gateway!.url);
    await viewer.login();
    // Another operation name: not shared by the graphql-ws layer, only by the stream service.
    const b = await viewer.subscribe<StatsEvent>(
      'subscription Other($id: ID!) { containerStats(id: $id) { at cpuPercent memoryUsageBytes } }',
      { id: containerId },
    );
    const [sa, sb] = await Promise.all([a.next(() => true), b.next(() => true)]);
    expect(sa.containerStats.memoryUsageBytes).toBeGreaterThan(0);
    expect(Date.parse(sb.containerStats.at)).toBeGreaterThan(0);
    expect(gateway!.core.services.streams.counts().stats).toEqual({ open: 1, opened: before + 1 });
    a.stop();
    b.stop();
    await viewer.close();
    await waitFor(async () => (gateway!.core.services.streams.counts().stats.open === 0 ? true : undefined), {
      timeoutMs: 10_000,
      description: 'the stats stream closed after the last subscriber left',
    });
  });

  it('runs echo and a read through the console WebSocket', async () => {
    const echo = await exec(['echo', 'hello-console']);
    expect(echo.startExec.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/exec\/[0-9a-f-]{36}\?ticket=/);
    expect(Date.parse(echo.startExec.expiresAt) - Date.now()).toBeLessThanOrEqual(30_000);
    const s1 = openExec(echo.startExec.url);
    expect(await s1.closed).toEqual({ code: 1000, reason: 'exit 0' });
    expect(s1.output()).toBe('hello-console\n');

    const read = await exec(['sh', '-c', 'read x; echo got $x']);
    const s2 = openExec(read.startExec.url);
    await s2.opened;
    s2.ws.send(Buffer.from('abc\n'), { binary: true });
    expect(await s2.closed).toEqual({ code: 1000, reason: 'exit 0' });
    expect(s2.output()).toBe('got abc\n');
  });

  it('resizes a TTY console', async () => {
    // The process waits (within the test's deadline) until its terminal has the size sent.
    const { startExec } = await exec(
      ['sh', '-c', 'until [ "$(stty size)" = "17 91" ]; do sleep 0.1; done; echo resized-ok'],
      true,
    );
    const s = openExec(startExec.url);
    await s.opened;
    s.ws.send(JSON.stringify({ resize: { cols: 91, rows: 17 } }));
    expect(await s.closed).toEqual({ code: 1000, reason: 'exit 0' });
    expect(s.output()).toContain('resized-ok');
  });

  it('refuses a used ticket (401) and another user (403, and FORBIDDEN at startExec)', async () => {
    const { startExec } = await exec(['echo', 'once']);
    const first = openExec(startExec.url);
    await first.closed;
    await expect(openExec(startExec.url).opened).rejects.toThrow('status 401');

    const second = await exec(['echo', 'twice']);
    await expect(
      openExec(second.startExec.url, { authorization: `Bearer ${other.token}` }).opened,
    ).rejects.toThrow('status 403');
    await expect(openExec(second.startExec.url).opened).rejects.toThrow('status 401');

    expect(
      await other.errorCode('mutation($c: ID!) { startExec(containerId: $c) { url } }', { c: containerId }),
    ).toBe('FORBIDDEN');
  });

  it('shows details from the engine, an allocated public port among them', async () => {
    const { container } = await admin.client.request<{ container: Details }>(
      `query($id: ID!) { container(id: $id) { ${DETAILS} } }`,
      { id: containerId },
    );
    expect(container.ports).toHaveLength(1);
    const port = container.ports[0]!;
    expect(port.publicPort).toBeGreaterThanOrEqual(portBase);
    expect(port.publicPort).toBeLessThanOrEqual(portBase + 3);
    expect(port).toEqual({ privatePort: 8080, publicPort: port.publicPort, type: 'tcp', ip: null });
    expect(container.command).toEqual([
      'sh',
      '-c',
      'echo started; trap "exit 0" TERM; while true; do sleep 1; done',
    ]);
    expect(container.env).toContain('GREETING=hello');
    expect(container.hostname).toBe('livehost');
    expect(container.networkMode).toBe('none');
    expect(container.restartCount).toBe(0);
    expect(container.exitCode).toBe(0);
    expect(container.finishedAt).toBeNull();
    expect(Date.parse(container.startedAt!)).toBeGreaterThan(0);
    // A named volume's source is where the engine keeps it, as the engine's inspect says.
    const source = `${engineNamed(env, 'n1').dataRoot}/volumes/hblive-${suffix}-data/_data`;
    expect(container.mounts).toEqual([{ source, destination: '/data', readOnly: false, type: 'volume' }]);
  });

  it('renames and upgrades a container, keeping its config', async () => {
    const engine = dockerFor(engineNamed(env, 'n1'));
    /** What the engine runs the container with: env, ports, labels, volumes, restart policy, limits. */
    const settings = async (id: string) => {
      const info = await engine.getContainer(id).inspect();
      return {
        env: info.Config.Env,
        labels: info.Config.Labels,
        ports: info.HostConfig.PortBindings,
        restartPolicy: info.HostConfig.RestartPolicy,
        mounts: info.Mounts.map((m) => ({
          type: m.Type,
          name: m.Name,
          destination: m.Destination,
          rw: m.RW,
        })),
        ulimits: info.HostConfig.Ulimits,
        shmSize: info.HostConfig.ShmSize,
        hostname: info.Config.Hostname,
        networkMode: info.HostConfig.NetworkMode,
      };
    };
    const original = await settings(containerId);
    expect(original.restartPolicy).toEqual({ Name: 'unless-stopped', MaximumRetryCount: 0 });
    expect(original.mounts).toEqual([
      { type: 'volume', name: `hblive-${suffix}-data`, destination: '/data', rw: true },
    ]);
    expect(Object.values(original.ports ?? {})).toHaveLength(1);
    // A file in the volume outlives both.
    const { startExec: write } = await exec(['sh', '-c', `echo kept-${suffix} > /data/mark`]);
    await openExec(write.url).closed;
    const q = `query($id: ID!) { container(id: $id) { ${DETAILS} labels { key value } } }`;
    const before = (await admin.client.request<{ container: Details }>(q, { id: containerId })).container;
    const newName = `hblive-${suffix}-renamed`;
    const { renameContainer } = await admin.client.request<{ renameContainer: { id: string; name: string } }>(
      'mutation($id: ID!, $n: String!) { renameContainer(id: $id, name: $n) { id name } }',
      { id: containerId, n: newName },
    );
    expect(renameContainer).toEqual({ id: containerId, name: newName });
    const renamed = (await admin.client.request<{ container: Details }>(q, { id: containerId })).container;
    expect(renamed).toEqual({ ...before, name: newName });
    expect(await settings(containerId)).toEqual(original);

    const { upgradeContainer } = await admin.client.request<{
      upgradeContainer: { id: string; image: string };
    }>('mutation($id: ID!) { upgradeContainer(id: $id, imageTag: "v2") { id image } }', { id: containerId });
    expect(upgradeContainer.id).not.toBe(containerId);
    expect(upgradeContainer.image).toBe(env.imageV2);
    const upgraded = (await admin.client.request<{ container: Details }>(q, { id: upgradeContainer.id }))
      .container;
    expect(upgraded).toEqual({
      ...renamed,
      id: upgradeContainer.id,
      image: env.imageV2,
      startedAt: upgraded.startedAt,
      // What the old image said (its environment and labels) is now what the new image says.
      env: renamed.env.map((e) => e.replace('HUMPBACK_TEST_VERSION=1', 'HUMPBACK_TEST_VERSION=2')),
      labels: (renamed as Details & { labels: Array<{ key: string; value: string }> }).labels.map((l) =>
        l.key === 'humpback-test.version' ? { ...l, value: '2' } : l,
      ),
    });
    const gone = await admin.client.request<{ container: Details | null }>(
      'query($id: ID!) { container(id: $id) { id } }',
      { id: containerId },
    );
    expect(gone.container).toBeNull();
    containerId = upgradeContainer.id;
    // The settings of the engine are the old container's (what the image says aside).
    const after = await settings(containerId);
    expect(after).toEqual({
      ...original,
      env: original.env.map((e) => e.replace('HUMPBACK_TEST_VERSION=1', 'HUMPBACK_TEST_VERSION=2')),
      labels: { ...original.labels, 'humpback-test.version': '2' },
    });
    expect(after.ulimits).toEqual([{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
    expect(after.shmSize).toBe(32 * 1024 * 1024);
    const { startExec: read } = await exec(['cat', '/data/mark']);
    const mark = openExec(read.url);
    await mark.closed;
    expect(mark.output()).toBe(`kept-${suffix}\n`);
  });

  it('refuses bad ulimits and log options naming the field', async () => {
    const res = await admin.client.raw(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      {
        n: nodeId,
        c: {
          name: `hblive-${suffix}-bad`,
          image: env.image,
          ulimits: [{ name: 'nofile', soft: 4096, hard: 1024 }],
        },
      },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain('config.ulimits.0.soft');
  });
});
