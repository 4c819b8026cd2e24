import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { engineNamed, loadTestEnv, removeContainersNamed, waitFor } from '../helpers/test-env.js';
import {
  ADMIN_PASSWORD,
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The operator CLI (`humpback login|ps|run|logs|scale|services`) as a process, against a real gateway
 * and real agents on the test environment's engines.
 */
describe('operator CLI against a real gateway', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const agents: Array<RunningAgent & { address: string }> = [];
  const children: ChildProcess[] = [];
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let session: string;
  let groupId: string;
  let nodes: Array<{ id: string; ip: string }>;

  const spawnCli = (args: string[]): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/humpback.ts', ...args], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HUMPBACK_CLI_SESSION: session,
        HUMPBACK_PASSWORD: ADMIN_PASSWORD,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  };
  const cli = (...args: string[]): Promise<Run> => {
    const child = spawnCli(args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  };
  const json = async <T>(...args: string[]): Promise<T> => {
    const run = await cli(args[0]!, '--json', ...args.slice(1));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as T;
  };

  beforeAll(async () => {
    for (const name of ['n1', 'n2'])
      agents.push(await startTestAgent(engineNamed(env, name), tmp.make(`hb-agent-${name}-`)));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-gw-'), CENTER_MIGRATE_DELAY: '0' }),
    });
    session = join(tmp.make('hb-cli-'), 'session.json');
    client = new TestClient(gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `cli-${suffix}`, clusterMode: true, servers: agents.map((a) => a.address) } },
    );
    groupId = createGroup.id;
    nodes = await healthyNodes(client, groupId, 2);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await client?.close();
    await gateway?.close();
    await removeContainersNamed(env, ['n1', 'n2'], suffix);
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('logs in and keeps the session for the other commands', async () => {
    const run = await cli('login', '--url', gateway!.url.replace(/\/graphql$/, ''), '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      url: gateway!.url.replace(/\/graphql$/, ''),
      username: 'admin',
      session,
    });
  });

  it('run starts a container on the chosen node, and ps lists it RUNNING', async () => {
    const name = `cli-run-${suffix}`;
    const created = await json<{ id: string; name: string; image: string; state: string }>(
      'run',
      '--name',
      name,
      '--node',
      nodes[0]!.id,
      '--network',
      'none',
      env.image,
      '--',
      'sh',
      '-c',
      'i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.3; done',
    );
    expect(created).toEqual({
      id: expect.any(String),
      name,
      image: env.image,
      state: expect.any(String),
      status: expect.any(String),
      node: { id: nodes[0]!.id, name: expect.any(String) },
    });
    const listed = await waitFor(
      async () => {
        const ps = await json<Array<{ id: string; name: string; state: string; node: { id: string } }>>('ps');
        return ps.find((c) => c.id === created.id && c.state === 'RUNNING');
      },
      { timeoutMs: 30_000, description: `${name} RUNNING in humpback ps` },
    );
    expect(listed).toEqual({
      id: created.id,
      name,
      image: env.image,
      state: 'RUNNING',
      status: expect.stringMatching(/^Up /),
      metaId: null,
      node: { id: nodes[0]!.id, name: expect.any(String) },
    });
    const table = await cli('ps');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME +IMAGE +STATE +STATUS +NODE +ID$/);
    expect(table.stdout).toMatch(new RegExp(`\\n${name} +${env.image} +RUNNING +Up `));
  });

  it('logs -f prints each new line once, in order, as the container writes it', async () => {
    const child = spawnCli(['logs', '-f', `cli-run-${suffix}`]);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    // Lines written after logs -f started prove it follows; the container writes about three a second.
    const lines = await waitFor(
      () => {
        const l = out.split('\n').filter(Boolean);
        return l.length >= 25 ? l : undefined;
      },
      { timeoutMs: 40_000, description: 'logs -f to print 25 lines' },
    );
    child.kill('SIGTERM');
    const numbers = lines.map((l) => Number(/^line-(\d+)$/.exec(l)?.[1]));
    expect(numbers.every(Number.isInteger)).toBe(true);
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
  });

  it('scale sets the instances of a service, and services shows them running', async () => {
    const name = `cli-svc-${suffix}`;
    await client.request('mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }', {
      input: {
        groupId,
        instances: 1,
        config: {
          name,
          image: env.image,
          networkMode: 'none',
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
        },
      },
    });
    const scaled = await json<{ id: string; name: string; instances: number }>('scale', name, '2');
    expect(scaled).toEqual({ id: expect.any(String), name, instances: 2 });
    const services = await waitFor(
      async () => {
        const list = await json<Array<{ name: string; running: number }>>('services');
        const mine = list.find((s) => s.name === name);
        return mine?.running === 2 ? list : undefined;
      },
      { timeoutMs: 30_000, description: `${name} at 2 running instances` },
    );
    expect(services.find((s) => s.name === name)).toEqual({
      id: scaled.id,
      name,
      group: `cli-${suffix}`,
      image: env.image,
      instances: 2,
      running: 2,
    });
    const table = await cli('services');
    expect(table.stdout).toMatch(new RegExp(`\\n${name} +cli-${suffix} +${env.image} +2/2 `));
  });

  it('says what is wrong in one line, with the code, when the name is unknown', async () => {
    const run = await cli('scale', `nope-${suffix}`, '3');
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `humpback scale: no service named nope-${suffix} (NOT_FOUND)\n`,
    });
  });
});
