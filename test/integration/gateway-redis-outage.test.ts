import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/main.js';
import { waitFor, freePort } from '../helpers/test-env.js';
import { TempDirs, TestClient, gatewayConfig, startTestGateway } from './gateway-harness.js';

/**
 * The gateway's Redis dies and comes back. A private redis-server (the shared one must stay up for
 * the other suites), persisted with an fsync'd AOF so its data survives the kill -9: while it is gone
 * the gateway answers STORE_UNAVAILABLE (not an internal error, and not after a minute in a queue) and
 * /readyz says 503; once it is back, everything works again without a restart.
 */
describe('gateway when Redis goes away and comes back', () => {
  const tmp = new TempDirs();
  let dataDir: string;
  let port: number;
  let redis: ChildProcess | undefined;
  let gateway: RunningGateway;
  let client: TestClient;
  let readyz: string;

  const startRedis = async (): Promise<void> => {
    redis = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dataDir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.end();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        }),
      { timeoutMs: 10_000, description: 'redis-server listening' },
    );
  };
  const status = async (): Promise<number> => (await fetch(readyz)).status;

  beforeAll(async () => {
    dataDir = tmp.make('hb-redis-');
    port = await freePort();
    await startRedis();
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_REDIS_URL: `redis://127.0.0.1:${port}`,
        HUMPBACK_DATA_DIR: tmp.make('hb-gw-'),
      }),
    });
    readyz = gateway.url.replace(/\/graphql$/, '/readyz');
    client = new TestClient(gateway.url);
    await client.login();
  });

  afterAll(async () => {
    await gateway?.close();
    redis?.kill('SIGKILL');
    tmp.cleanup();
  });

  it('answers STORE_UNAVAILABLE and is not ready while Redis is down, and recovers by itself', async () => {
    await client.request('mutation { createGroup(input: { name: "before", servers: [] }) { id } }');
    expect(await status()).toBe(200);

    redis!.kill('SIGKILL');
    await waitFor(async () => (await status()) === 503, { timeoutMs: 10_000, description: '/readyz 503' });
    expect(await client.errorCode('{ groups { id } }')).toBe('STORE_UNAVAILABLE');
    expect(
      await client.errorCode('mutation { createGroup(input: { name: "during", servers: [] }) { id } }'),
    ).toBe('STORE_UNAVAILABLE');

    await startRedis();
    await waitFor(async () => (await status()) === 200, { timeoutMs: 20_000, description: '/readyz 200' });
    await client.request('mutation { createGroup(input: { name: "after", servers: [] }) { id } }');
    const { groups } = await client.request<{ groups: Array<{ name: string }> }>('{ groups { name } }');
    expect(groups.map((g) => g.name).sort()).toEqual(['after', 'before']);
  });
});
