import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempDirs } from './gateway-harness.js';
import { waitFor, freePort } from '../helpers/test-env.js';

const PASSWORD = 'first-hour-password';

/**
 * The README's first steps on a machine whose engine has no image and no registry: `humpback up`
 * says so and offers the busybox image, `humpback up --import-busybox` imports it, and the CLI
 * runs a first container. Against a fresh Docker Engine this test starts (and stops).
 */
describe('the first hour: humpback up on an engine without images', () => {
  const tmp = new TempDirs();
  const children: ChildProcess[] = [];
  let dockerd: ChildProcess | undefined;
  let docker: Docker;
  let env: Record<string, string>;
  let base: string;
  let dir: string;

  const start = (args: string[]): { child: ChildProcess; output: () => string } => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/humpback.ts', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return { child, output: () => out };
  };
  const exited = (child: ChildProcess): Promise<number | null> =>
    child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.on('exit', r));
  const run = async (...args: string[]): Promise<{ code: number | null; out: string }> => {
    const { child, output } = start(args);
    const code = await exited(child);
    return { code, out: output() };
  };
  const banner = (output: () => string): Promise<string> =>
    waitFor(() => (output().includes('Stop with Ctrl-C') ? output() : undefined), {
      timeoutMs: 50_000,
      description: 'the humpback up banner',
    });

  beforeAll(async () => {
    dir = tmp.make('hb-first-hour-');
    for (const d of ['data', 'exec']) mkdirSync(join(dir, d));
    const socket = join(dir, 'docker.sock');
    dockerd = spawn(
      'dockerd',
      [
        '--iptables=false',
        '--bridge=none',
        '--storage-driver=vfs',
        '-H',
        `unix://${socket}`,
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '--pidfile',
        join(dir, 'docker.pid'),
      ],
      { stdio: 'ignore' },
    );
    docker = new Docker({ socketPath: socket });
    await waitFor(() => docker.ping().then(() => true), {
      timeoutMs: 30_000,
      description: 'the fresh dockerd',
    });
    base = `http://127.0.0.1:${await freePort()}`;
    env = {
      PATH: process.env['PATH'] ?? '',
      DOCKER_ENDPOINT: `unix://${socket}`,
      HUMPBACK_DATA_DIR: join(dir, 'humpback'),
      HUMPBACK_LISTEN: base.replace('http://', ''),
      DOCKER_NODE_HTTPADDR: `127.0.0.1:${await freePort()}`,
      HUMPBACK_ADMIN_PASSWORD: PASSWORD,
      HUMPBACK_PASSWORD: PASSWORD,
      HUMPBACK_CLI_SESSION: join(dir, 'session.json'),
      HUMPBACK_LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (docker) {
      for (const c of await docker.listContainers({ all: true }).catch(() => []))
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    if (dockerd && dockerd.exitCode === null) {
      dockerd.kill('SIGTERM');
      await exited(dockerd);
    }
    // dockerd leaves its netns mount under the exec root: unmount what it left before removing.
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => dir && m.startsWith(dir))
      .sort()
      .reverse();
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    tmp.cleanup();
  });

  it('says the engine has no image, offers busybox, says what networking works, and stops on Ctrl-C', async () => {
    expect(await docker.listImages()).toEqual([]);
    const up = start(['up']);
    const text = await banner(up.output);
    expect(text).toContain(
      'first image:  the engine has no image; run "humpback up --import-busybox" once to import humpback/busybox:latest',
    );
    expect(text).toContain(
      'networking:   host, none (this engine has no bridge network, e.g. dockerd --bridge=none: use host or none)',
    );
    up.child.kill('SIGINT');
    expect(await exited(up.child)).toBe(0);
    expect(await docker.listImages()).toEqual([]);
  });

  it('imports the image with --import-busybox, and the CLI runs a first container to RUNNING', async () => {
    const up = start(['up', '--import-busybox']);
    const text = await banner(up.output);
    expect(text).toContain("first image:  imported humpback/busybox:latest (from Debian's busybox-static)");
    expect((await docker.listImages()).flatMap((i) => i.RepoTags ?? [])).toEqual(['humpback/busybox:latest']);

    expect(await run('login', '--url', base)).toEqual({
      code: 0,
      out: `logged in to ${base} as admin\n(session kept in ${env['HUMPBACK_CLI_SESSION']})\n`,
    });
    const created = await run('run', '--name', 'first', 'humpback/busybox:latest', '--', 'sleep', '3600');
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^NAME +IMAGE +STATE +NODE +ID\nfirst +humpback\/busybox:latest +/);
    await waitFor(
      async () => {
        const ps = await run('ps', '--json');
        const list = JSON.parse(ps.out) as Array<{ name: string; state: string }>;
        return list.find((c) => c.name === 'first' && c.state === 'RUNNING');
      },
      { timeoutMs: 40_000, description: 'the first container RUNNING in humpback ps' },
    );
    up.child.kill('SIGINT');
    expect(await exited(up.child)).toBe(0);
  });
});
