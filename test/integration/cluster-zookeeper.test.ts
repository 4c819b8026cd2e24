import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeNodeValue, type NodeData, type NodeRegistration } from '../../core/node-data.js';
import { loadTestEnv } from '../helpers/test-env.js';
import { ZookeeperDiscovery } from '../../gateway/leader/zookeeper-discovery.js';
import { call } from '../../core/zookeeper.js';
import { electionPath, nodesPath } from '../../core/zookeeper.js';
import { ZookeeperLeadership } from '../../gateway/leader/zookeeper-leadership.js';

const env = loadTestEnv();
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  ]);
}

async function zkClient(): Promise<Client> {
  const client = zookeeper.createClient(env.zkConnect, { sessionTimeout: 4000 });
  const ready = deferred();
  client.once('connected', () => ready.resolve());
  client.connect();
  await within(ready.promise, 5000, 'zk connect');
  return client;
}

const data = (name: string, ip: string): NodeData => ({
  id: name,
  name,
  ip,
  apiaddr: `${ip}:8500`,
  cpus: 2,
  memory: 2 ** 30,
  storagedirver: 'vfs',
  kernelversion: '6',
  architecture: 'x86_64',
  operatingsystem: 'Debian',
  ostype: 'linux',
  lables: ['disk=ssd'],
  appversion: 'test',
  dockerversion: '20',
  cpuPercent: 0,
  memoryUsed: 0,
  containers: { total: 0, running: 0, paused: 0, stopped: 0 },
  timestamp: new Date().toISOString(),
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('ZooKeeper discovery', () => {
  it('reports nodes appearing, changing and their znode going away', async () => {
    const cluster = `hbtest-${randomUUID().slice(0, 8)}/center`;
    const path = nodesPath('', cluster);
    const ups: NodeRegistration[] = [];
    const downs: string[] = [];
    const connections: boolean[] = [];
    let wake = deferred();
    const discovery = new ZookeeperDiscovery({
      connectionString: env.zkConnect,
      path,
      listener: {
        nodeUp: (r) => {
          ups.push(r);
          wake.resolve();
        },
        nodeDown: (k) => {
          downs.push(k);
          wake.resolve();
        },
        connection: (c) => connections.push(c),
      },
    });
    cleanups.push(() => discovery.close());

    const agent = await zkClient();
    cleanups.push(() => agent.close());
    await call<string>((cb) => agent.mkdirp(path, cb), 5000);
    const key = randomUUID();
    await call<string>(
      (cb) =>
        agent.create(
          `${path}/${key}`,
          encodeNodeValue(key, data('n1', '10.9.0.1')),
          zookeeper.CreateMode.EPHEMERAL,
          cb,
        ),
      5000,
    );
    await discovery.start();
    await within(wake.promise, 5000, 'first node');
    expect(ups[0]).toMatchObject({ key, data: { name: 'n1', ip: '10.9.0.1', lables: ['disk=ssd'] } });
    expect(connections).toEqual([true]);

    wake = deferred();
    await call(
      (cb) => agent.setData(`${path}/${key}`, encodeNodeValue(key, data('n1', '10.9.0.2')), -1, cb),
      5000,
    );
    await within(wake.promise, 5000, 'data change');
    expect(ups.at(-1)?.data.ip).toBe('10.9.0.2');

    const key2 = randomUUID();
    wake = deferred();
    await call<string>(
      (cb) =>
        agent.create(
          `${path}/${key2}`,
          encodeNodeValue(key2, data('n2', '10.9.0.3')),
          zookeeper.CreateMode.EPHEMERAL,
          cb,
        ),
      5000,
    );
    await within(wake.promise, 5000, 'second node');
    expect(
      discovery
        .nodes()
        .map((n) => n.data.name)
        .sort(),
    ).toEqual(['n1', 'n2']);

    wake = deferred();
    await call<void>((cb) => agent.remove(`${path}/${key}`, -1, cb), 5000);
    await within(wake.promise, 5000, 'node down');
    expect(downs).toEqual([key]);
    expect(discovery.nodes().map((n) => n.data.name)).toEqual(['n2']);
  });
});

describe('ZooKeeper leader election', () => {
  it('elects one leader and hands over when it goes', async () => {
    const path = electionPath('', `hbtest-${randomUUID().slice(0, 8)}/center`);
    const a = new ZookeeperLeadership({
      connectionString: env.zkConnect,
      path,
      sessionTimeoutMs: 4000,
      id: 'a',
    });
    const b = new ZookeeperLeadership({
      connectionString: env.zkConnect,
      path,
      sessionTimeoutMs: 4000,
      id: 'b',
    });
    const c = new ZookeeperLeadership({
      connectionString: env.zkConnect,
      path,
      sessionTimeoutMs: 4000,
      id: 'c',
    });
    cleanups.push(
      () => a.close(),
      () => b.close(),
      () => c.close(),
    );
    await a.start();
    await b.start();
    await c.start();
    expect([a.isLeader(), b.isLeader(), c.isLeader()]).toEqual([true, false, false]);

    const bLeads = deferred();
    b.onChange((leader) => leader && bLeads.resolve());
    await a.close();
    await within(bLeads.promise, 6000, 'b takes over');
    expect([a.isLeader(), b.isLeader(), c.isLeader()]).toEqual([false, true, false]);
  });

  it('a follower takes over within the session timeout when the leader is killed -9', async () => {
    const path = electionPath('', `hbtest-${randomUUID().slice(0, 8)}/center`);
    const code =
      `import { ZookeeperLeadership } from './gateway/leader/zookeeper-leadership.ts';` +
      `const l = new ZookeeperLeadership({ connectionString: ${JSON.stringify(env.zkConnect)}, path: ${JSON.stringify(path)}, sessionTimeoutMs: 3000 });` +
      `await l.start(); console.log(l.isLeader() ? 'LEADER' : 'FOLLOWER'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    const leads = deferred();
    child.stdout.on('data', (b: Buffer) => b.toString().includes('LEADER') && leads.resolve());
    await within(leads.promise, 20_000, 'child leads');

    const b = new ZookeeperLeadership({ connectionString: env.zkConnect, path, sessionTimeoutMs: 3000 });
    cleanups.push(() => b.close());
    await b.start();
    expect(b.isLeader()).toBe(false);
    const bLeads = deferred();
    b.onChange((leader) => leader && bLeads.resolve());
    const started = Date.now();
    child.kill('SIGKILL');
    await within(bLeads.promise, 10_000, 'b takes over');
    // ZooKeeper may round the session timeout up to 2 ticks (4 s); allow for that and detection.
    expect(Date.now() - started).toBeLessThan(8000);
  });
});
