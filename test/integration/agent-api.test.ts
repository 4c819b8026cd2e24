// The agent's REST API against a real Docker Engine of the test environment, through AgentClient
// and raw HTTP: every route, auth, validation, 409, failed start cleanup, upgrade and rollback, port
// allocation, the event stream's resume.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../core/config.js';
import { AgentClient } from '../../agent/client.js';
import { AgentError, AgentUnreachableError } from '../../agent/client-errors.js';
import type { AgentEvent } from '../../agent/client-types.js';
import { IDLE_CONNECTION_MS, startAgent, type RunningAgent } from '../../agent/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor, freePort } from '../helpers/test-env.js';

const env = loadTestEnv();
const engine = engineNamed(env, 'n1');
const docker: Docker = dockerFor(engine);
const TOKEN = `agent-test-token-${randomBytes(8).toString('hex')}`;
const run = randomBytes(3).toString('hex');
const PREFIX = `hbagent-${run}`;
let n = 0;
const uniqueName = (what: string): string => `${PREFIX}-${what}-${++n}`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

let dataDir: string;
let agent: RunningAgent;
let client: AgentClient;
let portBase: number;

function config(over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    dockerEndpoint: engine.dockerEndpoint,
    listen: { host: '127.0.0.1', port: 0 },
    clusterEnabled: false,
    clusterUris: undefined,
    clusterName: 'humpback/center',
    heartbeatSeconds: 10,
    portsRange: { from: portBase, to: portBase + 3 },
    agentToken: TOKEN,
    dataDir,
    ...over,
  };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hbagent-'));
  // Below the kernel's ephemeral range (32768-60999), where outgoing connections take their ports.
  portBase = 21000 + Math.floor(Math.random() * 1500) * 4;
  agent = await startAgent(config());
  client = new AgentClient({ baseUrl: agent.url, token: TOKEN, timeoutMs: 30_000 });
});

afterAll(async () => {
  await agent?.close();
  const mine = await docker.listContainers({ all: true, filters: { name: [PREFIX] } });
  await Promise.all(
    mine.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  await rm(dataDir, { recursive: true, force: true });
});

async function raw(
  method: string,
  route: string,
  opts: { body?: string; auth?: string | null; prefix?: string; contentType?: string } = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (opts.auth !== null) headers['authorization'] = opts.auth ?? `Bearer ${TOKEN}`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${agent.url}${opts.prefix ?? '/v1'}${route}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** Creates a running container through the agent and removes it after the test. */
async function createRunning(what: string, extra: Record<string, unknown> = {}) {
  const name = uniqueName(what);
  cleanups.push(() => docker.getContainer(name).remove({ force: true }));
  return client.createContainer({
    name,
    image: env.image,
    command: ['sleep', '1000'],
    networkMode: 'none',
    ...extra,
  });
}

describe('auth', () => {
  it('refuses a request without a token, with a wrong token, or with a wrong-length token', async () => {
    for (const auth of [null, 'Bearer nope', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, 'Bearer ']) {
      const r = await raw('GET', '/ping', { auth });
      expect(r.status, String(auth)).toBe(401);
      expect(r.json).toMatchObject({ Code: 401, Message: expect.any(String) });
      expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
    }
  });

  it('accepts Bearer and the bare token, on both route prefixes', async () => {
    expect((await raw('GET', '/ping')).status).toBe(200);
    expect((await raw('GET', '/ping', { auth: TOKEN })).status).toBe(200);
    expect((await raw('GET', '/ping', { prefix: '/dockerapi/v2' })).status).toBe(200);
    expect((await raw('GET', '/containers?all=true', { prefix: '/dockerapi/v2' })).status).toBe(200);
  });

  it('keeps an idle connection open 65 s and says so (the gateway calls a node every 2-20 s)', async () => {
    const res = await fetch(`${agent.url}/v1/ping`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('keep-alive')).toBe(`timeout=${IDLE_CONNECTION_MS / 1000}`);
  });

  it('refuses unknown routes; a client with another token gets no proof and sends no token', async () => {
    expect((await raw('GET', '/nothing-here')).status).toBe(404);
    const bad = new AgentClient({ baseUrl: agent.url, token: 'wrong-token-wrong-token' });
    await expect(bad.ping()).rejects.toMatchObject({
      name: 'AgentUnverifiedError',
      message: expect.stringMatching(/could not prove it holds HUMPBACK_AGENT_TOKEN/),
    });
  });
});

describe('node and engine', () => {
  it('ping, dockerinfo, dockerversion, nodeinfo', async () => {
    const ping = await client.ping();
    expect(ping.dockerVersion).toMatch(/^\d+\./);
    expect(ping.appVersion).toMatch(/^\d+\.\d+\.\d+/);
    const info = (await raw('GET', '/dockerinfo')).json as { ID: string; NCPU: number };
    expect(info.NCPU).toBeGreaterThan(0);
    const { ServerVersion: version } = (await raw('GET', '/dockerversion')).json as {
      ServerVersion: { Version: string; ApiVersion: string };
    };
    expect(version.Version).toBe(ping.dockerVersion);
    const node = await client.nodeInfo();
    expect(node.key).toBe(agent.key);
    expect(node.data).toMatchObject({
      id: info.ID,
      cpus: info.NCPU,
      dockerversion: version.Version,
      ostype: 'linux',
      storagedirver: expect.any(String),
      apiaddr: `${node.data.ip}:${new URL(agent.url).port}`,
    });
    expect(node.data.memory).toBeGreaterThan(0);
    expect(node.data.containers.total).toBeGreaterThanOrEqual(node.data.containers.running);
  });

  it('answers 503 when Docker is unreachable, and AgentUnreachableError when the agent is', async () => {
    const down = await startAgent(config({ dockerEndpoint: 'unix:///tmp/hbagent-no-such.sock', dataDir }));
    try {
      const c = new AgentClient({ baseUrl: down.url, token: TOKEN });
      await expect(c.ping()).rejects.toMatchObject({ status: 503 });
      await expect(c.listContainers()).rejects.toMatchObject({ status: 503, code: 503 });
    } finally {
      await down.close();
    }
    const gone = new AgentClient({ baseUrl: down.url, token: TOKEN, timeoutMs: 2000 });
    await expect(gone.ping()).rejects.toBeInstanceOf(AgentUnreachableError);
  });
});

describe('images', () => {
  it('lists, inspects, pulls a present image without a registry, removes', async () => {
    const list = await client.images();
    expect(list.some((i) => i.tags.includes(env.image))).toBe(true);
    const pulled = await client.pullImage(env.image);
    expect(pulled.tags).toContain(env.image);
    const inspect = await raw('GET', `/images/${env.image}`);
    expect(inspect.status).toBe(200);
    expect((inspect.json as { Id: string }).Id).toBe(pulled.id);

    const tag = `del-${run}`;
    await docker.getImage(env.image).tag({ repo: 'humpback-test/agent-del', tag });
    cleanups.push(() => docker.getImage(`humpback-test/agent-del:${tag}`).remove({ force: true }));
    await client.removeImage(`humpback-test/agent-del:${tag}`);
    await expect(docker.getImage(`humpback-test/agent-del:${tag}`).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('routes references with a registry port and rejects bad ones', async () => {
    expect((await raw('GET', '/images/127.0.0.1:5999/ns/img:tag')).status).toBe(404);
    expect((await raw('GET', '/images/UPPER/Case')).status).toBe(400);
    expect((await raw('DELETE', '/images/127.0.0.1:5999/ns/img:tag')).status).toBe(404);
  });

  it('fails a pull that cannot reach a registry', async () => {
    const err = await client.pullImage('127.0.0.1:1/hb/missing:1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).status).toBe(502);
    expect((err as AgentError).message).toMatch(/registry failed or cannot be reached/);
    expect((err as AgentError).detail).toMatch(/127\.0\.0\.1:1/);
  });
});

describe('containers', () => {
  it('creates and starts, lists, gets (parsed and raw), status, logs, removes', async () => {
    const name = uniqueName('basic');
    cleanups.push(() => docker.getContainer(name).remove({ force: true }));
    const r = await raw('POST', '/containers', {
      body: JSON.stringify({
        Name: name,
        Image: env.image,
        Command: `sh -c 'echo "hello agent"; echo oops >&2; exec sleep 1000'`,
        NetworkMode: 'host',
        Env: ['A=1'],
        Labels: { 'humpback.test': 'agent' },
        RestartPolicy: 'on-failure',
        RestartRetryCount: 2,
        Memory: 64,
        CPUShares: 512,
        Volumes: [{ ContainerVolume: '/data', HostVolume: '/tmp', ReadOnly: true }],
        Extrahosts: ['db:10.0.0.5'],
        Dns: ['10.0.0.53'],
        Unknown: 'dropped',
      }),
    });
    expect(r.status).toBe(200);
    const body = r.json as Record<string, unknown>;
    expect(body).toMatchObject({
      Name: name,
      State: 'running',
      Command: ['sh', '-c', 'echo "hello agent"; echo oops >&2; exec sleep 1000'],
      NetworkMode: 'host',
      RestartPolicy: 'on-failure',
      RestartRetryCount: 2,
      Memory: 64,
      CPUShares: 512,
      Volumes: [{ ContainerVolume: '/data', HostVolume: '/tmp', ReadOnly: true }],
      Extrahosts: ['db:10.0.0.5'],
      Dns: ['10.0.0.53'],
    });
    expect(body['Env']).toContain('A=1');
    const id = body['Id'] as string;

    const list = await client.listContainers(true);
    const row = list.find((c) => c.id === id);
    expect(row).toMatchObject({
      name,
      image: env.image,
      state: 'running',
      labels: { 'humpback.test': 'agent' },
    });
    expect(row!.status).toMatch(/^Up/);
    expect(Date.parse(row!.created)).toBeGreaterThan(Date.now() - 120_000);

    const byName = await client.getContainer(name);
    expect(byName).toMatchObject({ id, name, state: 'running' });
    expect(byName.config).toMatchObject({
      name,
      image: env.image,
      networkMode: 'host',
      memoryMB: 64,
      cpuShares: 512,
    });
    const byPrefix = await client.getContainer(id.slice(0, 12));
    expect(byPrefix.id).toBe(id);
    const original = (await raw('GET', `/containers/${id}?originaldata=true`))
      .json as Docker.ContainerInspectInfo;
    expect(original.Id).toBe(id);
    expect(original.HostConfig.Memory).toBe(64 * 1024 * 1024);
    const status = (await raw('GET', `/containers/${name}/status`)).json as {
      Status: string;
      Running: boolean;
      Id: string;
    };
    expect(status).toMatchObject({ Id: id, Status: 'running', Running: true });

    const lines = await waitFor(async () => {
      const l = await client.logs(name);
      return l.length >= 2 ? l : undefined;
    });
    expect(lines).toEqual(expect.arrayContaining(['hello agent', 'oops']));
    expect(await client.logs(name, 1)).toHaveLength(1);
    const since = (await raw('GET', `/containers/${name}/logs?since=${Math.floor(Date.now() / 1000) + 60}`))
      .json;
    expect(since).toEqual([]);

    await expect(client.removeContainer(name)).rejects.toMatchObject({ status: 409 });
    await client.removeContainer(name, true);
    await expect(client.getContainer(id)).rejects.toMatchObject({ status: 404, isNotFound: true });
    expect((await raw('DELETE', `/containers/${name}`)).status).toBe(404);
  });

  it('stats of one container and of all', async () => {
    const c = await createRunning('stats');
    const one = (await raw('GET', `/containers/${c.id}/stats`)).json as {
      Id: string;
      CPUPercent: number;
      MemoryUsage: number;
    };
    expect(one).toMatchObject({ Id: c.id, CPUPercent: expect.any(Number), MemoryUsage: expect.any(Number) });
    const all = (await raw('GET', '/containers/stats')).json as Array<{ Id: string }>;
    expect(all.some((s) => s.Id === c.id)).toBe(true);
  });

  it('answers 409 on a name conflict and leaves the first container alone', async () => {
    const first = await createRunning('conflict');
    const err = await client
      .createContainer({ name: first.name, image: env.image, command: ['sleep', '1'], networkMode: 'none' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AgentError', status: 409, code: 409, isConflict: true });
    expect((await client.getContainer(first.name)).id).toBe(first.id);
  });

  it('removes a container that fails to start and returns the error', async () => {
    const name = uniqueName('nostart');
    cleanups.push(() => docker.getContainer(name).remove({ force: true }));
    const err = await client
      .createContainer({ name, image: env.image, command: ['/no/such/binary'], networkMode: 'none' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).status).toBeGreaterThanOrEqual(400);
    expect((err as AgentError).detail).toMatch(/no such file|not found|executable/i);
    await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('tries to pull a missing image, and on failure creates nothing', async () => {
    const name = uniqueName('nopull');
    const err = await client
      .createContainer({ name, image: '127.0.0.1:1/hb/missing:1', networkMode: 'none' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).status).toBe(502);
    expect((err as AgentError).message).toMatch(/pulling image 127\.0\.0\.1:1\/hb\/missing:1/);
    await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('validates bodies: bad fields 400 with details, bad JSON 400, over 1 MB 413', async () => {
    const bad = await raw('POST', '/containers', {
      body: JSON.stringify({
        Name: 'bad name!',
        Image: 'UPPER:case',
        Ports: [{ PrivatePort: 70000 }],
        Env: ['noequals'],
      }),
    });
    expect(bad.status).toBe(400);
    const detail = (bad.json as { Detail: string }).Detail;
    for (const f of ['body.Name', 'body.Image', 'body.Ports.0.PrivatePort', 'body.Env.0'])
      expect(detail).toContain(f);
    expect((await raw('POST', '/containers', { body: '{"Name": ' })).status).toBe(400);
    expect(
      (await raw('POST', '/containers', { body: JSON.stringify({ Name: 'x'.repeat(10) }) })).status,
    ).toBe(400);
    const big = JSON.stringify({ Name: 'big', Image: env.image, Env: [`A=${'x'.repeat(1_100_000)}`] });
    expect((await raw('POST', '/containers', { body: big })).status).toBe(413);
    expect(
      (await raw('PUT', '/containers', { body: JSON.stringify({ Action: 'explode', Container: 'x' }) }))
        .status,
    ).toBe(400);
    expect(
      (await raw('PUT', '/containers', { body: JSON.stringify({ Action: 'upgrade', Container: 'x' }) }))
        .status,
    ).toBe(400);
    expect(
      (await raw('PUT', '/containers', { body: JSON.stringify({ Action: 'rename', Container: 'x' }) }))
        .status,
    ).toBe(400);
    expect((await raw('GET', '/containers?all=maybe')).status).toBe(400);
    expect((await raw('GET', '/containers/x/logs?tail=-1')).status).toBe(400);
    expect((await raw('GET', '/events?since=yesterday')).status).toBe(400);
    expect((await raw('GET', '/events?status=50')).status).toBe(400);
    expect((await raw('GET', '/events?stats=soon')).status).toBe(400);
    expect((await raw('POST', '/images', { body: JSON.stringify({ Image: '' }) })).status).toBe(400);
    const notJson = await raw('POST', '/containers', { body: 'Name=x', contentType: 'text/plain' });
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ Detail: expect.stringMatching(/Content-Type: application\/json/) });
  });

  it('operates: stop, start, pause, unpause, restart, kill, rename', async () => {
    const c = await createRunning('ops');
    const op = (action: Parameters<AgentClient['operateContainer']>[1], newName?: string) =>
      client.operateContainer(c.id, action, { timeoutSeconds: 1, newName });
    expect((await op('stop')).state).toBe('exited');
    expect((await op('stop')).state).toBe('exited'); // stopping a stopped container is fine
    expect((await op('start')).state).toBe('running');
    expect((await op('pause')).state).toBe('paused');
    expect((await op('unpause')).state).toBe('running');
    const restarted = await op('restart');
    expect(restarted.state).toBe('running');
    expect(restarted.startedAt > c.startedAt).toBe(true);
    expect((await op('kill')).state).toBe('exited');
    const newName = uniqueName('renamed');
    cleanups.push(() => docker.getContainer(newName).remove({ force: true }));
    expect((await op('rename', newName)).name).toBe(newName);
    await expect(client.getContainer(c.name)).rejects.toMatchObject({ status: 404 });
    await expect(client.operateContainer(`${PREFIX}-nobody`, 'start')).rejects.toMatchObject({ status: 404 });
  });

  it('upgrades to another tag, keeping name and config', async () => {
    const c = await createRunning('upgrade', { env: ['KEEP=1'], labels: { 'humpback.test': 'upgrade' } });
    expect(c.config.env).toContain('HUMPBACK_TEST_VERSION=1');
    const up = await client.upgradeContainer(c.name, 'v2', { timeoutSeconds: 1 });
    expect(up).toMatchObject({ name: c.name, image: env.imageV2, state: 'running' });
    expect(up.id).not.toBe(c.id);
    expect(up.config.env).toEqual(expect.arrayContaining(['KEEP=1', 'HUMPBACK_TEST_VERSION=2']));
    expect(up.config.env).not.toContain('HUMPBACK_TEST_VERSION=1');
    expect(up.config.command).toEqual(['sleep', '1000']);
    expect(up.labels['humpback.test']).toBe('upgrade');
    await expect(docker.getContainer(c.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('rolls an upgrade to a missing tag back: the old container runs under its old name', async () => {
    const c = await createRunning('rollback');
    const err = await client
      .upgradeContainer(c.name, `missing-${run}`, { timeoutSeconds: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).message).toMatch(/restored/);
    const after = await client.getContainer(c.name);
    expect(after).toMatchObject({ id: c.id, name: c.name, state: 'running', image: env.image });
    const mine = await docker.listContainers({ all: true, filters: { name: [c.name] } });
    expect(mine.map((x) => x.Id)).toEqual([c.id]);
  });

  it('rolls an upgrade back when the new container does not start', async () => {
    // An image without any files: creating works, starting `sleep` fails.
    const tag = `broken-${run}`;
    const empty = await mkdtemp(path.join(tmpdir(), 'hbagent-empty-'));
    const tar = spawn('tar', ['-C', empty, '-cf', '-', '.']);
    const stream = await docker.importImage(tar.stdout as unknown as string, {
      repo: 'humpback-test/busybox',
      tag,
    });
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (e: unknown) => (e ? reject(e) : resolve(undefined))),
    );
    cleanups.push(() => rm(empty, { recursive: true, force: true }));
    cleanups.push(() => docker.getImage(`humpback-test/busybox:${tag}`).remove({ force: true }));

    const c = await createRunning('rollback-start');
    const err = await client.upgradeContainer(c.name, tag, { timeoutSeconds: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).message).toMatch(/starting the new container.*restored/);
    const after = await client.getContainer(c.name);
    expect(after).toMatchObject({ id: c.id, state: 'running', image: env.image });
    const mine = await docker.listContainers({ all: true, filters: { name: [c.name] } });
    expect(mine.map((x) => x.Id)).toEqual([c.id]);
  });
});

describe('port allocation', () => {
  it('takes free ports from the range, skipping ports of other containers and of the OS', async () => {
    const [p0, p1, p2, p3] = [portBase, portBase + 1, portBase + 2, portBase + 3];
    // p0: bound by a stopped container made directly; p1: a listening socket of this process.
    const holder = await docker.createContainer({
      name: uniqueName('holder'),
      Image: env.image,
      Cmd: ['sleep', '1'],
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { NetworkMode: 'none', PortBindings: { '80/tcp': [{ HostPort: String(p0) }] } },
    });
    cleanups.push(() => holder.remove({ force: true }));
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(p1, '0.0.0.0', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));

    const ports = [{ privatePort: 80, publicPort: 0 }];
    const [a, b] = await Promise.all([
      createRunning('port-a', { ports }),
      createRunning('port-b', { ports }),
    ]);
    const got = [a.ports[0]!.publicPort, b.ports[0]!.publicPort].sort();
    expect(got).toEqual([p2, p3]);
    expect(a.config.ports).toEqual([{ privatePort: 80, publicPort: a.ports[0]!.publicPort, type: 'tcp' }]);

    const full = await createRunning('port-c', { ports }).catch((e: unknown) => e);
    expect(full).toMatchObject({ status: 503 });
    expect((full as AgentError).message).toMatch(/no free host port/);

    // A fixed public port is kept as given.
    const fixed = await createRunning('port-d', {
      ports: [{ privatePort: 81, publicPort: portBase + 10, type: 'udp' }],
    });
    expect(fixed.ports).toEqual([{ privatePort: 81, publicPort: portBase + 10, type: 'udp', ip: '' }]);
  });

  it('exposes PublicPort 0 without publishing it when no range is configured (as v1)', async () => {
    const noRange = await startAgent(config({ portsRange: undefined }));
    try {
      const c = new AgentClient({ baseUrl: noRange.url, token: TOKEN });
      const name = uniqueName('norange');
      cleanups.push(() => docker.getContainer(name).remove({ force: true }));
      await c.createContainer({
        name,
        image: env.image,
        command: ['sleep', '1000'],
        networkMode: 'bridge',
        ports: [{ privatePort: 80 }],
      });
      const info = await docker.getContainer(name).inspect();
      expect(Object.keys(info.Config.ExposedPorts ?? {})).toEqual(['80/tcp']);
      expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    } finally {
      await noRange.close();
    }
  });
});

describe('networks', () => {
  /** Runs a command in a container through the engine; resolves with its output and exit code. */
  async function exec(id: string, cmd: string[]): Promise<{ code: number; output: string }> {
    const e = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((resolve) => stream.on('end', resolve));
    const { ExitCode } = await e.inspect();
    // Multiplexed frames: 8-byte headers before each chunk; keep the printable text.
    return { code: ExitCode ?? -1, output: Buffer.concat(chunks).toString('latin1') };
  }

  it('runs on a user-defined network with links, a published port, and keeps both through an upgrade', async () => {
    const network = `${PREFIX}-net`;
    await docker.createNetwork({ Name: network, Driver: 'bridge' });
    cleanups.push(() => docker.getNetwork(network).remove());
    const web = uniqueName('net-web');
    const client1 = uniqueName('net-client');
    cleanups.push(() => docker.getContainer(web).remove({ force: true }));
    cleanups.push(() => docker.getContainer(client1).remove({ force: true }));
    const publicPort = portBase + 20;
    const created = await raw('POST', '/containers', {
      body: JSON.stringify({
        Name: web,
        Image: env.image,
        Command: `sh -c 'echo served-by-humpback > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'`,
        NetworkMode: network,
        Ports: [{ PrivatePort: 8080, PublicPort: publicPort, Type: 'tcp' }],
      }),
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ NetworkMode: network, State: 'running' });

    // The published port answers on the engine's address (docker-proxy in the engine's namespace).
    const page = await waitFor(
      async () => {
        const res = await fetch(`http://${engine.ip}:${publicPort}/`).catch(() => undefined);
        return res?.ok ? await res.text() : undefined;
      },
      { timeoutMs: 10_000, description: 'the published port' },
    );
    expect(page.trim()).toBe('served-by-humpback');

    const linked = await raw('POST', '/containers', {
      body: JSON.stringify({
        Name: client1,
        Image: env.image,
        Command: 'sleep 1000',
        NetworkMode: network,
        Links: [`${web}:backend`],
      }),
    });
    expect(linked.status).toBe(200);
    expect(linked.json).toMatchObject({ NetworkMode: network, Links: [`${web}:backend`] });
    const id = (linked.json as { Id: string }).Id;
    const before = await exec(id, ['wget', '-q', '-O', '-', 'http://backend:8080/']);
    expect(before.output).toContain('served-by-humpback');

    // An upgrade recreates the container on the same network with the same link.
    const up = await client.upgradeContainer(client1, 'v2', { timeoutSeconds: 1 });
    expect(up.id).not.toBe(id);
    const parsed = (await raw('GET', `/containers/${up.id}`)).json;
    expect(parsed).toMatchObject({ NetworkMode: network, Links: [`${web}:backend`], Image: env.imageV2 });
    const after = await exec(up.id, ['wget', '-q', '-O', '-', 'http://backend:8080/']);
    expect(after.output).toContain('served-by-humpback');
  });
});

describe('events', () => {
  it('streams container events as NDJSON', async () => {
    const ac = new AbortController();
    cleanups.push(async () => ac.abort());
    const res = await fetch(`${agent.url}/v1/events?since=${Math.floor(Date.now() / 1000) - 1}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const c = await createRunning('ndjson');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    type Event = { Type: string; Action: string; Actor: { ID: string } };
    // Read until this container's own start arrives: the stream also carries the events of the
    // second before, where another test's container may have started.
    let text = '';
    let events: Event[] = [];
    const actions = () => events.filter((e) => e.Actor.ID === c.id).map((e) => e.Action);
    while (!actions().includes('start')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const lines = text.split('\n');
      text = lines.pop()!;
      events = events.concat(lines.filter((l) => l.trim()).map((l) => JSON.parse(l) as Event));
    }
    expect(actions()).toEqual(expect.arrayContaining(['create', 'start']));
    expect(events.every((e) => e.Type === 'container')).toBe(true);
  });

  it("sends its node info and its containers' usage among the events when asked", async () => {
    const c = await createRunning('pushed');
    const statuses: Array<{ key: string; memoryUsed: number }> = [];
    const usage: Array<Array<{ id: string; memoryUsageBytes: number }>> = [];
    const seen: AgentEvent[] = [];
    const ac = new AbortController();
    const done = client.events(Date.now() / 1000 - 1, (e) => seen.push(e), ac.signal, {
      statusMs: 200,
      onStatus: (s) => statuses.push({ key: s.key, memoryUsed: s.data.memoryUsed }),
      statsMs: 300,
      onStats: (stats) => usage.push(stats),
    });
    cleanups.push(async () => {
      ac.abort();
      await done;
    });
    const info = await client.nodeInfo();
    await waitFor(() => statuses.length >= 2 && usage.some((list) => list.some((s) => s.id === c.id)), {
      description: 'two status lines and a stats line with the container',
    });
    expect(statuses.every((s) => s.key === info.key && s.memoryUsed > 0)).toBe(true);
    const mine = usage.flat().find((s) => s.id === c.id)!;
    expect(mine.memoryUsageBytes).toBeGreaterThan(0);
    // The agent's lines are no events; the container's own events still come.
    await docker.getContainer(c.id).pause();
    await waitFor(() => seen.some((e) => e.id === c.id && e.action === 'pause'), { description: 'pause' });
    expect(seen.every((e) => e.id && e.action && e.timeNano > 0)).toBe(true);
    await docker.getContainer(c.id).unpause();
  });

  it('resumes after the agent goes away and comes back, losing and repeating nothing', async () => {
    const port = await freePort();
    const cfg = config({ listen: { host: '127.0.0.1', port } });
    let a = await startAgent(cfg);
    const c = new AgentClient({ baseUrl: a.url, token: TOKEN });
    const seen: AgentEvent[] = [];
    const ac = new AbortController();
    const disconnects: unknown[] = [];
    const done = c.events(Date.now() / 1000, (e) => seen.push(e), ac.signal, {
      onDisconnect: (err) => disconnects.push(err),
      retryWait: () => 200,
    });
    cleanups.push(async () => {
      ac.abort();
      await done;
      await a.close();
    });

    const name = uniqueName('events');
    cleanups.push(() => docker.getContainer(name).remove({ force: true }));
    const created = await c.createContainer({
      name,
      image: env.image,
      command: ['sleep', '1000'],
      networkMode: 'none',
    });
    await waitFor(() => seen.some((e) => e.id === created.id && e.action === 'start'), {
      description: 'the start event',
    });

    // The agent goes away; things happen meanwhile; the agent comes back on the same address.
    await a.close();
    await waitFor(() => disconnects.length > 0, { description: 'the client noticing the disconnect' });
    await docker.getContainer(created.id).kill();
    await docker.getContainer(created.id).start();
    a = await startAgent(cfg);
    await docker.getContainer(created.id).pause();

    await waitFor(() => seen.some((e) => e.id === created.id && e.action === 'pause'), {
      description: 'the pause event after reconnecting',
      timeoutMs: 15_000,
    });
    const actions = seen.filter((e) => e.id === created.id).map((e) => e.action);
    // kill → die → start happened while the agent was down; nothing is missing or repeated.
    expect(actions.filter((x) => x === 'create')).toHaveLength(1);
    expect(actions.filter((x) => x === 'start')).toHaveLength(2);
    expect(actions).toEqual(expect.arrayContaining(['create', 'start', 'kill', 'die', 'pause']));
    const keys = seen.map((e) => `${e.timeNano}/${e.id}/${e.action}`);
    expect(new Set(keys).size).toBe(keys.length);
    const e = seen.find((x) => x.action === 'create' && x.id === created.id)!;
    expect(e).toMatchObject({ name, image: env.image });
    ac.abort();
    await done;
  });
});
