/**
 * The node's data as the agent publishes it (ZooKeeper, `/nodeinfo`): Docker's view of the engine
 * plus the host's live CPU and memory use.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type Docker from 'dockerode';
import type { NodeData } from '../core/node-data.js';

/** The agent's version, from the humpback package.json above the code (source or built). */
export const APP_VERSION: string = (() => {
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'humpback' && pkg.version) return pkg.version;
    } catch {
      // not here; look further up
    }
    dir = new URL('..', dir);
  }
  return '0.0.0';
})();

/**
 * The first non-internal IPv4 address of the host (in a network namespace, the namespace's); the
 * node's IP unless DOCKER_AGENT_IPADDR sets it.
 */
export function detectNodeIp(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Host CPU use between successive calls, from the kernel's counters: the `cpu` line of /proc/stat
 * where there is one (the same counters os.cpus() sums, without what os.cpus() also reads: the CPU
 * models and each CPU's current frequency, which a busy host makes the kernel wait for while the
 * agent's event loop, and every request on it, waits too), else os.cpus().
 */
export class CpuSampler {
  private last = CpuSampler.read();

  private static read(): { idle: number; total: number } {
    const stat = procStatCpu();
    if (stat) return stat;
    let idle = 0;
    let total = 0;
    for (const c of os.cpus()) {
      idle += c.times.idle;
      total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
    }
    return { idle, total };
  }

  /** Percent busy (0–100) since the previous call (or since construction). */
  sample(): number {
    const now = CpuSampler.read();
    const dt = now.total - this.last.total;
    const di = now.idle - this.last.idle;
    if (dt <= 0) return 0;
    this.last = now;
    return Math.round((1 - di / dt) * 10000) / 100;
  }
}

/**
 * The `cpu` line of /proc/stat (all CPUs, in clock ticks) as os.cpus() counts it: idle, and the total
 * of user, nice, system, idle and irq (libuv leaves iowait, softirq and steal out). Undefined where
 * there is no such file or line (not Linux).
 */
export function procStatCpu(text?: string): { idle: number; total: number } | undefined {
  let stat = text;
  if (stat === undefined) {
    try {
      stat = readFileSync('/proc/stat', 'latin1');
    } catch {
      return undefined;
    }
  }
  const m = /^cpu\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(stat);
  if (!m) return undefined;
  const [user, nice, sys, idle, , irq] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { idle, total: user + nice + sys + idle + irq };
}

export interface NodeInfoSource {
  docker: Docker;
  ip: string;
  /** The port the REST API listens on. */
  port: () => number;
  cpu: CpuSampler;
}

/**
 * Reads Docker's info and the host's usage into NodeData. With `withoutDocker`, an engine that does
 * not answer leaves the Docker fields empty (`dockerversion: ''`) instead of failing: the node stays
 * registered and the gateway learns from the agent's 503s that its engine is down.
 */
export async function collectNodeData(
  src: NodeInfoSource,
  opts: { withoutDocker?: boolean } = {},
): Promise<NodeData> {
  let info: Record<string, unknown>;
  try {
    info = (await src.docker.info()) as Record<string, unknown>;
  } catch (err) {
    if (!opts.withoutDocker) throw err;
    info = {};
  }
  const n = (k: string): number => (typeof info[k] === 'number' ? (info[k] as number) : 0);
  const s = (k: string): string => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const total = os.totalmem();
  return {
    id: s('ID'),
    name: s('Name') || os.hostname(),
    ip: src.ip,
    apiaddr: `${src.ip}:${src.port()}`,
    cpus: n('NCPU') || os.cpus().length,
    memory: n('MemTotal') || total,
    storagedirver: s('Driver'),
    kernelversion: s('KernelVersion') || os.release(),
    architecture: s('Architecture') || os.arch(),
    operatingsystem: s('OperatingSystem'),
    ostype: s('OSType') || os.platform(),
    lables: Array.isArray(info['Labels']) ? (info['Labels'] as string[]) : [],
    appversion: APP_VERSION,
    dockerversion: s('ServerVersion'),
    cpuPercent: src.cpu.sample(),
    memoryUsed: total - os.freemem(),
    containers: {
      total: n('Containers'),
      running: n('ContainersRunning'),
      paused: n('ContainersPaused'),
      stopped: n('ContainersStopped'),
    },
    timestamp: new Date().toISOString(),
  };
}
