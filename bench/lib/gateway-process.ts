/**
 * A gateway as its own process (`bin/humpback.ts gateway`) for benches that kill it (-9) or measure
 * its RSS alone: started with the given environment on a free loopback port; resolves once /healthz
 * answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../test/helpers/test-env.js';
import { ADMIN_PASSWORD, AGENT_TOKEN } from '../../test/integration/gateway-harness.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  proc: ChildProcess;
  /** The GraphQL endpoint. */
  url: string;
  /** Resident set of the process, in MB (from /proc). */
  rssMb(): number;
  /** SIGTERM, SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bin/humpback.ts', 'gateway'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      HUMPBACK_LOG_LEVEL: 'warn',
      HUMPBACK_LISTEN: `127.0.0.1:${port}`,
      HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
      HUMPBACK_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...env,
    },
    // Its log (stdout) only when a level below warn was asked for.
    stdio: [
      'ignore',
      env['HUMPBACK_LOG_LEVEL'] && env['HUMPBACK_LOG_LEVEL'] !== 'warn' ? 'inherit' : 'ignore',
      'inherit',
    ],
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}`);
      const res = await fetch(`${base}/healthz`).catch(() => undefined);
      return res?.ok || undefined;
    },
    { timeoutMs: 120_000, intervalMs: 200, description: 'gateway /healthz' },
  );
  return {
    proc,
    url: `${base}/graphql`,
    rssMb: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
    },
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
