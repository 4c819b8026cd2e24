import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempDirs } from './gateway-harness.js';
import { waitFor } from '../helpers/test-env.js';

/**
 * scripts/start.sh as the README's first step runs it, in a network namespace of its own (its own
 * 127.0.0.1:8100 and docker0) with its own socket and data dir: it starts a Docker Engine, checks its
 * networking before it calls it ready, runs humpback up, and Ctrl-C stops everything it started.
 */
describe('scripts/start.sh', () => {
  const tmp = new TempDirs();
  const netns = `${process.env['HBT_NAME'] ?? 'hbt'}-start`;
  let dir: string;
  let child: ChildProcess | undefined;

  const inNetns = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync('nsenter', [`--net=/run/netns/${netns}`, ...args], { encoding: 'utf8' });
  const netnsPids = (): string[] =>
    (spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout ?? '')
      .split('\n')
      .filter(Boolean);

  beforeAll(() => {
    dir = tmp.make('hb-start-');
    spawnSync('ip', ['netns', 'del', netns]);
    expect(spawnSync('ip', ['netns', 'add', netns]).status).toBe(0);
    expect(spawnSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']).status).toBe(0);
  });

  afterAll(() => {
    if (child?.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    for (const pid of netnsPids()) spawnSync('kill', ['-9', pid]);
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => dir && m.startsWith(dir))
      .sort()
      .reverse();
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    spawnSync('ip', ['netns', 'del', netns]);
    tmp.cleanup();
  });

  it('checks networking before the engine is ready, serves /healthz, and Ctrl-C leaves no process', async () => {
    child = spawn('nsenter', [`--net=/run/netns/${netns}`, 'bash', 'scripts/start.sh'], {
      detached: true, // its own process group, as a terminal's Ctrl-C reaches it
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '',
        DOCKER_ENDPOINT: `unix://${join(dir, 'docker.sock')}`,
        HUMPBACK_DATA_DIR: join(dir, 'humpback'),
        HUMPBACK_ADMIN_PASSWORD: 'start-script-password',
        HUMPBACK_LOG_LEVEL: 'warn',
        HUMPBACK_FROM_SOURCE: '1',
      },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));

    await waitFor(() => out.includes('Stop with Ctrl-C'), { timeoutMs: 90_000, description: 'the banner' });
    const lines = out.split('\n');
    const check = lines.findIndex((l) => l.startsWith('start: networking:   '));
    const ready = lines.findIndex((l) => l.startsWith('start: Docker Engine ready at '));
    expect(check).toBeGreaterThanOrEqual(0);
    expect(ready).toBeGreaterThan(check);
    // Either bridge works, or the line says why not and what to use instead.
    expect(lines[check]).toMatch(
      /^start: networking: {3}(bridge, host, none|host, none \(.+: use host or none\))$/,
    );
    // humpback up's banner says the same: one check.
    expect(lines).toContain(`  ${lines[check]!.slice('start: '.length)}`);
    expect(out).toContain('and the Docker Engine scripts/start.sh started, with its containers.');

    const health = inNetns(
      process.execPath,
      '-e',
      "fetch('http://127.0.0.1:8100/healthz').then(async (r) => console.log(r.status, await r.text()))",
    );
    expect(String(health.stdout)).toMatch(/^200 /);
    expect(netnsPids().length).toBeGreaterThanOrEqual(2); // humpback up and dockerd at least

    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('start: stopping the Docker Engine this script started');
    expect(netnsPids()).toEqual([]);
    expect(spawnSync('pgrep', ['-f', dir]).stdout.toString()).toBe('');
  });

  it('engine-check says bridge fails, and why, when the engine has a bridge network but no docker0', async () => {
    const engine = join(dir, 'broken');
    const socket = join(engine, 'docker.sock');
    const args = [
      '-H',
      `unix://${socket}`,
      '--data-root',
      join(engine, 'data'),
      '--exec-root',
      join(engine, 'exec'),
    ];
    const dockerd = spawn(
      'nsenter',
      [`--net=/run/netns/${netns}`, 'dockerd', ...args, '--pidfile', join(engine, 'pid')],
      {
        stdio: 'ignore',
      },
    );
    const docker = new Docker({ socketPath: socket });
    try {
      await waitFor(() => docker.ping().then(() => true), { timeoutMs: 30_000, description: 'dockerd' });
      expect(spawnSync('ip', ['-n', netns, 'link', 'del', 'docker0']).status).toBe(0);
      const check = spawnSync(process.execPath, ['--import', 'tsx', 'bin/humpback.ts', 'engine-check'], {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', DOCKER_ENDPOINT: `unix://${socket}` },
      });
      expect(check.status).toBe(0);
      const [first, second, ...rest] = check.stdout.split('\n');
      expect(first).toBe(`engine:       unix://${socket} answers`);
      expect(second).toMatch(
        /^networking: {3}host, none \(bridge networking fails on this engine: .*could not find bridge docker0.*: use host or none\)$/,
      );
      expect(rest).toEqual(['']);
      // The probe leaves nothing behind.
      expect(await docker.listContainers({ all: true })).toEqual([]);
      expect(await docker.listImages()).toEqual([]);
    } finally {
      dockerd.kill('SIGTERM');
      await new Promise((resolve) =>
        dockerd.exitCode !== null ? resolve(null) : dockerd.on('exit', resolve),
      );
    }
  });
});
