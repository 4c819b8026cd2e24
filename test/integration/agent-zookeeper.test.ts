// The agent's ZooKeeper registration against the test environment's real ZooKeeper: the ephemeral
// znode and its value, refresh every heartbeat, removal on close and on SIGTERM, the key file, and
// re-registration after ZooKeeper restarts; the REST API keeps answering meanwhile.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zookeeper from 'node-zookeeper-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../core/config.js';
import { decodeNodeValue } from '../../core/node-data.js';
import { AgentClient } from '../../agent/client.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import { hardenZookeeperClient } from '../../core/zookeeper.js';
import { pino } from 'pino';
import {
  engineNamed,
  loadTestEnv,
  spawnInNetns,
  startZooKeeper,
  stopZooKeeper,
  waitFor,
} from '../helpers/test-env.js';

const env = loadTestEnv();
const engine = engineNamed(env, 'n2');
const TOKEN = `agent-zk-token-${randomBytes(8).toString('hex')}`;
const PREFIX = `/hbagent-${randomBytes(3).toString('hex')}`;
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

let zk: zookeeper.Client;
function connectZk(): Promise<zookeeper.Client> {
  const c = zookeeper.createClient(env.zkConnect, { sessionTimeout: 10_000, spinDelay: 200 });
  hardenZookeeperClient(c, pino({ level: 'silent' }));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ZooKeeper connect timed out')), 20_000);
    c.once('connected', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.connect();
  });
}
function getData(p: string): Promise<{ data: Buffer; stat: zookeeper.Stat } | undefined> {
  return new Promise((resolve, reject) =>
    zk.getData(p, (err, data, stat) => {
      if (err && (err as zookeeper.Exception).getCode?.() === zookeeper.Exception.NO_NODE) resolve(undefined);
      else if (err) reject(err);
      else resolve({ data, stat });
    }),
  );
}
function removeTree(p: string): Promise<void> {
  return new Promise((resolve) =>
    zk.getChildren(p, async (err, children) => {
      if (!err) for (const ch of children) await removeTree(`${p}/${ch}`);
      zk.remove(p, -1, () => resolve());
    }),
  );
}

let dataDir: string;
beforeAll(async () => {
  zk = await connectZk();
  dataDir = await mkdtemp(path.join(tmpdir(), 'hbagent-zk-'));
});
afterAll(async () => {
  await removeTree(PREFIX).catch(() => undefined);
  zk?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function config(over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    dockerEndpoint: engine.dockerEndpoint,
    listen: { host: '127.0.0.1', port: 0 },
    clusterEnabled: true,
    clusterUris: { connectionString: env.zkConnect, prefix: PREFIX },
    clusterName: 'humpback/center',
    heartbeatSeconds: 1,
    portsRange: undefined,
    agentToken: TOKEN,
    dataDir,
    ...over,
  };
}

/** An agent with its own data directory (so its own node key) unless one is given. */
async function started(over: Partial<AgentConfig> = {}): Promise<RunningAgent> {
  const own = over.dataDir ?? (await mkdtemp(path.join(dataDir, 'agent-')));
  const a = await startAgent(config({ dataDir: own, ...over }), { zkSessionTimeoutMs: 4000 });
  cleanups.push(() => a.close());
  return a;
}

describe('ZooKeeper registration', () => {
  it('registers an ephemeral znode in humpback-agent format, refreshes it, removes it on close', async () => {
    const a = await started();
    expect(a.znode).toBe(`${PREFIX}/humpback/center/nodes/${a.key}`);
    const first = await waitFor(() => getData(a.znode!), { description: 'the znode' });
    // The value is {"key", "data": base64(NodeData JSON)}.
    const envelope = JSON.parse(first.data.toString('utf8')) as { key: string; data: string };
    expect(Object.keys(envelope).sort()).toEqual(['data', 'key']);
    expect(envelope.key).toBe(a.key);
    const { key, data } = decodeNodeValue(first.data);
    expect(key).toBe(a.key);
    expect(data).toMatchObject({
      apiaddr: `${data.ip}:${new URL(a.url).port}`,
      ostype: 'linux',
      dockerversion: expect.stringMatching(/^\d+\./),
      appversion: expect.any(String),
      storagedirver: expect.any(String),
      lables: expect.any(Array),
    });
    expect(data.cpus).toBeGreaterThan(0);
    expect(first.stat.ephemeralOwner.equals(Buffer.alloc(8))).toBe(false);
    // The parents are persistent.
    const parent = await getData(`${PREFIX}/humpback/center/nodes`);
    expect(parent!.stat.ephemeralOwner.equals(Buffer.alloc(8))).toBe(true);

    // Refreshed every heartbeat (1 s here) with fresh data.
    const later = await waitFor(
      async () => {
        const d = await getData(a.znode!);
        return d && d.stat.version >= first.stat.version + 2 ? d : undefined;
      },
      { description: 'two refreshes', timeoutMs: 8000 },
    );
    expect(decodeNodeValue(later.data).data.timestamp > data.timestamp).toBe(true);
    expect(a.registration()).toMatchObject({ phase: 'registered' });

    await a.close();
    expect(await getData(a.znode!)).toBeUndefined();
    expect(a.registration()).toEqual({ phase: 'closed' });
  });

  it('keeps the node key in a key file across restarts', async () => {
    const own = await mkdtemp(path.join(dataDir, 'keep-'));
    const a = await started({ dataDir: own });
    const keyFile = (await readFile(path.join(own, 'node.key'), 'utf8')).trim();
    expect(keyFile).toBe(a.key);
    await a.close();
    const b = await started({ dataDir: own });
    expect(b.key).toBe(a.key);
    await waitFor(() => getData(b.znode!), { description: 'the znode again' });
  });

  it('stays registered while its Docker Engine does not answer, with the Docker fields empty', async () => {
    const a = await started({ dockerEndpoint: 'unix:///tmp/hbagent-no-such-docker.sock' });
    const reg = await waitFor(() => getData(a.znode!), { description: 'the znode' });
    const { data } = decodeNodeValue(reg.data);
    expect(data).toMatchObject({ dockerversion: '', apiaddr: `${data.ip}:${new URL(a.url).port}` });
    expect(data.cpus).toBeGreaterThan(0);
    const c = new AgentClient({ baseUrl: a.url, token: TOKEN });
    await expect(c.nodeInfo()).rejects.toMatchObject({ status: 503 });
  });

  it('serves the REST API without ZooKeeper', async () => {
    const a = await started({ clusterUris: { connectionString: '127.0.0.1:1', prefix: PREFIX } });
    const c = new AgentClient({ baseUrl: a.url, token: TOKEN });
    expect((await c.ping()).dockerVersion).toBeTruthy();
    expect(a.registration()).toMatchObject({ phase: 'connecting' });
    await a.close();
  });

  it('registers again after ZooKeeper restarts, serving the API meanwhile', async () => {
    const a = await started();
    const c = new AgentClient({ baseUrl: a.url, token: TOKEN });
    await waitFor(() => getData(a.znode!), { description: 'the znode' });

    await stopZooKeeper();
    try {
      await waitFor(() => a.registration()?.phase === 'disconnected', { description: 'the agent noticing' });
      expect((await c.ping()).dockerVersion).toBeTruthy();
      expect(Array.isArray(await c.listContainers())).toBe(true);
      // Longer than the session timeout (4 s): the session expires when ZooKeeper comes back.
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      await startZooKeeper();
    }
    zk.close();
    zk = await connectZk();
    const back = await waitFor(
      async () => {
        const d = await getData(a.znode!);
        return d && a.registration()?.phase === 'registered' ? d : undefined;
      },
      { description: 'the znode after the restart', timeoutMs: 30_000 },
    );
    expect(decodeNodeValue(back.data).key).toBe(a.key);
    // Still refreshed.
    await waitFor(
      async () => {
        const d = await getData(a.znode!);
        return d && d.stat.version > back.stat.version;
      },
      { description: 'a refresh after the restart', timeoutMs: 8000 },
    );
    await a.close();
    expect(await getData(a.znode!)).toBeUndefined();
  }, 180_000);

  it('registers again with a new session after its session expires', async () => {
    const a = await started();
    await waitFor(() => a.registration()?.phase === 'registered', { description: 'the registration' });
    const first = (await getData(a.znode!))!;
    const session = a.zookeeperSession()!;
    expect(first.stat.ephemeralOwner.equals(session.id)).toBe(true);
    // The classic way to expire a session: take it over with its id and password, then close it.
    // The agent's client may win the session back before the close lands; then try again.
    const expire = async (): Promise<void> => {
      const thief = zookeeper.createClient(env.zkConnect, {
        sessionTimeout: 4000,
        sessionId: session.id,
        sessionPassword: session.password,
      } as Partial<zookeeper.Option>);
      hardenZookeeperClient(thief, pino({ level: 'silent' }));
      // It may also be told the session expired already, or never get in: bounded either way.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        thief.once('connected', done);
        thief.once('expired', done);
        thief.connect();
      });
      thief.close();
    };
    const underNewSession = async () => {
      const d = await getData(a.znode!);
      return d && !d.stat.ephemeralOwner.equals(session.id) && a.registration()?.phase === 'registered'
        ? d
        : undefined;
    };
    let again: Awaited<ReturnType<typeof underNewSession>>;
    // (Under the whole suite's load the agent won it back five times in a row once: eight tries.)
    for (let attempt = 0; attempt < 8 && !again; attempt++) {
      await expire();
      again = await waitFor(underNewSession, {
        description: 'the znode under a new session',
        timeoutMs: 8000,
      }).catch(() => undefined);
    }
    expect(again, 'the znode under a new session').toBeDefined();
    if (!again) return;
    expect(again.stat.ephemeralOwner.equals(a.zookeeperSession()!.id)).toBe(true);
    expect(decodeNodeValue(again.data).key).toBe(a.key);
  }, 150_000);

  it('humpback agent in a network namespace: registers with the namespace IP, removes the znode on SIGTERM', async () => {
    const procData = await mkdtemp(path.join(tmpdir(), 'hbagent-proc-'));
    cleanups.push(() => rm(procData, { recursive: true, force: true }));
    const proc = spawnInNetns(
      engine.netnsPath,
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'bin/humpback.ts'), 'agent'],
      {
        DOCKER_ENDPOINT: engine.dockerEndpoint,
        DOCKER_NODE_HTTPADDR: '0.0.0.0:0',
        DOCKER_CLUSTER_ENABLED: 'true',
        DOCKER_CLUSTER_URIS: `zk://${env.zkConnect}${PREFIX}`,
        DOCKER_CLUSTER_NAME: 'humpback/proc',
        DOCKER_CLUSTER_HEARTBEAT: '1',
        HUMPBACK_AGENT_TOKEN: TOKEN,
        HUMPBACK_DATA_DIR: procData,
        HUMPBACK_LOG_LEVEL: 'warn',
        DOCKER_AGENT_IPADDR: '',
      },
    );
    cleanups.push(() => proc.stop());
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const key = await waitFor(() => /node key ([0-9a-f-]{36})/.exec(out)?.[1], {
      description: `the agent's start line (output so far: ${out})`,
      timeoutMs: 30_000,
    });
    const znode = `${PREFIX}/humpback/proc/nodes/${key}`;
    const reg = await waitFor(() => getData(znode), { description: 'the znode', timeoutMs: 15_000 });
    const { data } = decodeNodeValue(reg.data);
    expect(data.ip).toBe(engine.ip);
    // Reachable from outside the namespace on the registered address.
    const c = new AgentClient({ address: data.apiaddr, token: TOKEN });
    expect((await c.nodeInfo()).data.ip).toBe(engine.ip);

    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await getData(znode)).toBeUndefined();
  });
});
