// Proves the test environment's services are real: three Docker engines, each with its own address,
// ZooKeeper with ephemeral nodes and watches, and Redis with pub/sub.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import zookeeper from 'node-zookeeper-client';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerFor, loadTestEnv, waitFor } from '../helpers/test-env.js';

const env = loadTestEnv();

// Cleanups registered by each test, run after it whatever the outcome.
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('Docker engines', () => {
  it.each(env.engines.map((engine) => [engine.name, engine] as const))(
    '%s creates, starts, inspects and removes a container on its own address',
    async (_name, engine) => {
      const docker = dockerFor(engine);
      const name = `hbt-services-${engine.name}-${randomUUID().slice(0, 8)}`;
      const container = await docker.createContainer({
        name,
        Image: env.image,
        Cmd: ['sh', '-c', 'ip -4 addr; exec sleep 300'],
        Labels: { 'humpback.test': 'services' },
        HostConfig: { NetworkMode: 'host' },
      });
      cleanups.push(() => container.remove({ force: true }));
      await container.start();

      const info = await container.inspect();
      expect(info.Name).toBe(`/${name}`);
      expect(info.State.Running).toBe(true);
      expect(info.Config.Image).toBe(env.image);
      expect(info.Config.Labels['humpback.test']).toBe('services');
      expect(info.HostConfig.NetworkMode).toBe('host');

      // With host networking the container sees the engine's namespace: the engine's IP, not the host's.
      const output = await waitFor(
        async () => {
          const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
          return logs.includes('inet ') ? logs : undefined;
        },
        { timeoutMs: 10_000, description: `the ip output of ${name}` },
      );
      expect(output).toContain(`inet ${engine.ip}/24`);
      for (const other of env.engines.filter((e) => e !== engine)) {
        expect(output).not.toContain(`inet ${other.ip}/`);
      }

      await container.remove({ force: true });
      await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
    },
  );
});

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe('ZooKeeper', () => {
  function connect(): Promise<zookeeper.Client> {
    const client = zookeeper.createClient(env.zkConnect, { sessionTimeout: 10_000, retries: 1 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`ZooKeeper at ${env.zkConnect} did not connect`)),
        10_000,
      );
      client.once('connected', () => {
        clearTimeout(timer);
        resolve(client);
      });
      client.connect();
    });
  }

  type Callback<T> = (error: Error | zookeeper.Exception | null, result: T) => void;
  function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
    return new Promise((resolve, reject) => fn((error, result) => (error ? reject(error) : resolve(result))));
  }

  it('creates an ephemeral znode and fires a child watch', async () => {
    const watcher = await connect();
    cleanups.push(async () => watcher.close());
    const writer = await connect();
    cleanups.push(async () => writer.close());

    const parent = `/hbt-services-${randomUUID().slice(0, 8)}`;
    await call<string>((cb) => writer.create(parent, cb));
    cleanups.push(() => call<void>((cb) => watcher.remove(parent, -1, (error) => cb(error, undefined))));

    // The watch is set once getChildren has answered; only then may the child appear.
    let fired: (name: string) => void = () => undefined;
    const childrenChanged = new Promise<string>((resolve) => (fired = resolve));
    const before = await call<string[]>((cb) =>
      watcher.getChildren(
        parent,
        (event) => fired(event.getName()),
        (error, children) => cb(error, children),
      ),
    );
    expect(before).toEqual([]);
    await call<string>((cb) =>
      writer.create(`${parent}/node`, Buffer.from('hello'), zookeeper.CreateMode.EPHEMERAL, cb),
    );
    expect(await withDeadline(childrenChanged, 10_000, 'the child watch')).toBe('NODE_CHILDREN_CHANGED');

    const [data, stat] = await new Promise<[Buffer, zookeeper.Stat]>((resolve, reject) =>
      watcher.getData(`${parent}/node`, (error, d, s) => (error ? reject(error) : resolve([d, s]))),
    );
    expect(data.toString()).toBe('hello');
    // Ephemeral: owned by the writer's session, and gone when that session closes.
    expect(stat.ephemeralOwner.toString('hex')).toBe(writer.getSessionId().toString('hex'));
    writer.close();
    await waitFor(
      async () =>
        (await call<string[]>((cb) => watcher.getChildren(parent, (error, children) => cb(error, children))))
          .length === 0,
      {
        timeoutMs: 10_000,
        description: 'the ephemeral znode to go with its session',
      },
    );
  });
});

describe('Redis', () => {
  it('round-trips a value and delivers a pub/sub message', async () => {
    const client = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
    cleanups.push(() => client.quit());
    const subscriber = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
    cleanups.push(() => subscriber.quit());

    const key = `hbt-services:${randomUUID()}`;
    cleanups.push(() => client.del(key));
    await client.set(key, 'value', 'EX', 60);
    expect(await client.get(key)).toBe('value');

    const channel = `hbt-services:${randomUUID()}`;
    const received = new Promise<[string, string]>((resolve) =>
      subscriber.on('message', (ch: string, message: string) => resolve([ch, message])),
    );
    await subscriber.subscribe(channel);
    expect(await client.publish(channel, 'ping')).toBe(1);
    expect(await withDeadline(received, 10_000, 'the pub/sub message')).toEqual([channel, 'ping']);
  });
});
