/**
 * The cluster simulator: N virtual nodes in a few processes, each node the REAL agent code
 * (agent/main.ts startAgent: its REST API with the agent token, its event stream, its registration
 * in the test environment's real ZooKeeper) over an in-memory engine (bench/sim/memory-engine.ts)
 * passed through startAgent's `docker` option instead of a dockerode client. Settable: containers
 * per node, create and start delays, event rate (churn), node flaps. For scale figures only
 * (bench/scale.ts); the integration tests stay on real engines.
 *
 *   const sim = await SimCluster.start({ nodes: 500, containers: 20, zkUri, token });
 *   sim.addresses  // '127.0.0.1:port' of every agent, for a group's servers
 *   sim.churn(2)   // each node: 2 container events per second
 *   sim.flap(17, 5000)
 *   await sim.close()
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeProcessConfig, ParentMessage } from './node-process.js';

export interface SimClusterOptions {
  nodes: number;
  /** Containers each node starts with. @default 20 */
  containers?: number | undefined;
  /** Virtual nodes per process. @default 125 */
  perProcess?: number | undefined;
  zkUri: string;
  clusterName?: string | undefined;
  token: string;
  createDelayMs?: number | undefined;
  startDelayMs?: number | undefined;
  heartbeatSeconds?: number | undefined;
  zkSessionTimeoutMs?: number | undefined;
}

const here = dirname(fileURLToPath(import.meta.url));

export class SimCluster {
  private constructor(
    readonly addresses: string[],
    private readonly procs: Array<{ proc: ChildProcess; first: number; count: number }>,
  ) {}

  static async start(o: SimClusterOptions): Promise<SimCluster> {
    const per = o.perProcess ?? 125;
    const procs: Array<{ proc: ChildProcess; first: number; count: number }> = [];
    const parts: Array<Promise<string[]>> = [];
    for (let first = 0; first < o.nodes; first += per) {
      const cfg: NodeProcessConfig = {
        first,
        count: Math.min(per, o.nodes - first),
        containers: o.containers ?? 20,
        zkUri: o.zkUri,
        clusterName: o.clusterName ?? 'humpback/center',
        token: o.token,
        createDelayMs: o.createDelayMs ?? 0,
        startDelayMs: o.startDelayMs ?? 0,
        heartbeatSeconds: o.heartbeatSeconds ?? 10,
        zkSessionTimeoutMs: o.zkSessionTimeoutMs ?? 10_000,
      };
      const proc = fork(join(here, 'node-process.ts'), [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, HB_SIM_CONFIG: JSON.stringify(cfg), HUMPBACK_LOG_LEVEL: 'error' },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      procs.push({ proc, first, count: cfg.count });
      parts.push(
        new Promise((resolve, reject) => {
          proc.once('exit', (code) => reject(new Error(`simulator process exited with ${code}`)));
          proc.on('message', (m: { type: string; addresses?: string[] }) => {
            if (m.type === 'ready') resolve(m.addresses!);
          });
        }),
      );
    }
    return new SimCluster((await Promise.all(parts)).flat(), procs);
  }

  /** Container events per second on every node (0 stops). */
  churn(perSecondPerNode: number): void {
    this.send({ cmd: 'churn', perSecondPerNode });
  }

  /** Node `node`'s agent and engine go away for `downMs`, then come back (same key, same port). */
  flap(node: number, downMs: number): void {
    const p = this.procs.find((x) => node >= x.first && node < x.first + x.count)!;
    p.proc.send({ cmd: 'flap', node, downMs } satisfies ParentMessage);
  }

  /** Containers on all simulated engines. */
  async containerCount(): Promise<number> {
    return (await this.counts()).containers;
  }

  /** Containers on all simulated engines, and the state changes their churn made so far. */
  async counts(): Promise<{ containers: number; churned: number }> {
    const counts = await Promise.all(
      this.procs.map(
        ({ proc }) =>
          new Promise<{ containers: number; churned: number }>((resolve) => {
            const on = (m: { type: string; containers?: number; churned?: number }): void => {
              if (m.type !== 'count') return;
              proc.off('message', on);
              resolve({ containers: m.containers!, churned: m.churned ?? 0 });
            };
            proc.on('message', on);
            proc.send({ cmd: 'count' } satisfies ParentMessage);
          }),
      ),
    );
    return counts.reduce(
      (a, b) => ({ containers: a.containers + b.containers, churned: a.churned + b.churned }),
      {
        containers: 0,
        churned: 0,
      },
    );
  }

  /** PIDs of the simulator's processes (for RSS). */
  pids(): number[] {
    return this.procs.map((p) => p.proc.pid!);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.procs.map(
        ({ proc }) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null) return resolve();
            const force = setTimeout(() => proc.kill('SIGKILL'), 10_000);
            proc.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            proc.send({ cmd: 'close' } satisfies ParentMessage);
          }),
      ),
    );
  }

  private send(m: ParentMessage): void {
    for (const { proc } of this.procs) proc.send(m);
  }
}
