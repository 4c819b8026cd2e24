import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeVariables, loadAgentConfig } from '../../core/config.js';

const token = 'a-secret-of-16-chars+';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real command line (`humpback <args>`) with exactly `env` (plus PATH) and waits for it to exit. */
function humpback(args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/humpback.ts', ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const lines = (text: string): string[] => text.trim().split('\n');

describe('configuration errors at start (the real CLI)', () => {
  it('lists every bad variable of the gateway at once, one line each, exit 2, no stack trace', async () => {
    const run = await humpback(['gateway'], {
      HUMPBACK_LOG_LEVEL: 'loud',
      HUMPBACK_LISTEN: 'nowhere',
      CENTER_MIGRATE_DELAY: '-1',
      HUMPBACK_AGENT_TOKEN: 'short',
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual([
      'humpback gateway: HUMPBACK_LISTEN: expected host:port with a port from 0 to 65535, e.g. 0.0.0.0:8100, got "nowhere"',
      'humpback gateway: HUMPBACK_AGENT_TOKEN: expected a secret of at least 16 characters, got "short"',
      'humpback gateway: CENTER_MIGRATE_DELAY: expected a duration of at least 0 s, in seconds (45) or Go\'s form (8s, 1m, 1m30s), got "-1"',
      'humpback gateway: HUMPBACK_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
  });

  it('lists the agent and gateway variables of humpback up together, each once', async () => {
    const run = await humpback(['up'], {
      HUMPBACK_LOG_LEVEL: 'loud',
      DOCKER_NODE_HTTPADDR: 'localhost',
      DOCKER_CLUSTER_HEARTBEAT: 'ten',
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual([
      'humpback up: HUMPBACK_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'humpback up: DOCKER_NODE_HTTPADDR: expected host:port with a port from 0 to 65535, e.g. 0.0.0.0:8100, got "localhost"',
      'humpback up: DOCKER_CLUSTER_HEARTBEAT: expected a duration of at least 1 s, in seconds (45) or Go\'s form (8s, 1m, 1m30s), got "ten"',
    ]);
  });

  it('names HUMPBACK_REDIS_URL in one line when Redis cannot be reached, exit 2, no stack trace', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const run = await humpback(['gateway'], { HUMPBACK_AGENT_TOKEN: token, HUMPBACK_REDIS_URL: url });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual([
      `humpback gateway: HUMPBACK_REDIS_URL: cannot reach Redis at "${url}" (ECONNREFUSED); start it or set HUMPBACK_REDIS_URL to where it runs`,
    ]);
  });

  it('names DOCKER_ENDPOINT in one line when the agent cannot reach its engine', async () => {
    const endpoint = `tcp://127.0.0.1:${await closedPort()}`;
    const run = await humpback(['agent'], { HUMPBACK_AGENT_TOKEN: token, DOCKER_ENDPOINT: endpoint });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual([
      `humpback agent: DOCKER_ENDPOINT: cannot reach a Docker Engine at "${endpoint}" (ECONNREFUSED); start it or set DOCKER_ENDPOINT to where it runs`,
    ]);
  });
});

describe('humpback --version and --help', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const run = await humpback(['--version'], {});
    expect(run).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('lists every variable the agent reads, with its default, in agent --help', async () => {
    const run = await humpback(['agent', '--help'], {});
    expect(run.code).toBe(0);
    const listed = run.stdout
      .split('Environment variables:\n')[1]!
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0]);
    expect(listed).toEqual(describeVariables(loadAgentConfig).map((v) => v.variable));
    expect(run.stdout).toMatch(
      /\n {2}DOCKER_ENDPOINT +unix:\/\/\/path.* \(default: unix:\/\/\/var\/run\/docker\.sock\)\n/,
    );
    expect(run.stdout).toMatch(
      /\n {2}HUMPBACK_AGENT_TOKEN +a secret of at least 16 characters \(unset\)\n {2}AUTHORIZATION_TOKEN +a secret of at least 16 characters \(unset\)\n/,
    );
  });

  it('shows the defaults humpback up sets itself, and not the variables it turns off', async () => {
    const run = await humpback(['up', '--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\n {2}DOCKER_NODE_HTTPADDR +.*\(default: 127\.0\.0\.1:8500\)\n/);
    expect(run.stdout).not.toMatch(/HUMPBACK_REDIS_URL|DOCKER_CLUSTER_ENABLED/);
  });
});
