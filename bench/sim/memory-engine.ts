/**
 * An in-memory Docker Engine for the cluster simulator (bench/sim/cluster.ts): the part of dockerode's
 * surface the agent uses (agent/container-ops.ts, image-ops.ts, node-ops.ts, node-info.ts), with
 * Docker's shapes (list, inspect, events) and Docker's errors (statusCode, json.message), settable
 * create and start delays, and a churn of container events at a settable rate. For scale figures only:
 * nothing runs, the integration tests stay on real engines.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

export interface MemoryEngineOptions {
  /** Name reported by `info` (the node's name). */
  name: string;
  /** Delay of createContainer. @default 0 */
  createDelayMs?: number | undefined;
  /** Delay of start. @default 0 */
  startDelayMs?: number | undefined;
  /** Images the engine has. @default ['humpback-test/busybox:latest'] */
  images?: string[] | undefined;
}

interface SimContainer {
  id: string;
  name: string;
  image: string;
  created: number;
  config: Docker.ContainerCreateOptions;
  state: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
  };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();

/** An error as dockerode gives one: statusCode and Docker's JSON message. */
function dockerError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), {
    statusCode,
    json: { message },
  });
}

export class MemoryEngine {
  private readonly containers = new Map<string, SimContainer>();
  private readonly images: Set<string>;
  private readonly streams = new Set<PassThrough>();
  private readonly recent: string[] = [];
  private lastNs = 0;
  private churn: NodeJS.Timeout | undefined;
  /** Container state changes the churn made since the engine started. */
  churned = 0;
  private down = false;
  readonly modem = {
    followProgress: (_s: unknown, done: (err: Error | null, out: unknown[]) => void) => done(null, []),
  };

  constructor(private readonly o: MemoryEngineOptions) {
    this.images = new Set(o.images ?? ['humpback-test/busybox:latest']);
  }

  /** Stops answering (ECONNREFUSED, as a dead engine) or answers again; open event streams end. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const s of this.streams) s.end();
  }

  /** Adds `n` running containers named `<prefix>-<i>` without events (the node's initial state). */
  seed(n: number, prefix: string): void {
    for (let i = 0; i < n; i++) {
      const c = this.make({ name: `${prefix}-${i}`, Image: [...this.images][0]!, Labels: {} });
      this.run(c);
    }
  }

  /**
   * Every `1000 / perSecond` ms, a running container dies or a dead one starts (one event each),
   * its event's name attribute stamped `name~<ms since the epoch>`.
   */
  startChurn(perSecond: number): void {
    this.stopChurn();
    if (perSecond <= 0) return;
    const ids = (): string[] => [...this.containers.keys()];
    this.churn = setInterval(() => {
      const all = ids();
      if (all.length === 0) return;
      const c = this.containers.get(all[Math.floor(Math.random() * all.length)]!)!;
      // The name attribute carries the event's time (`name~ms`): the bench reads it at the client.
      const stamp = { name: `${c.name}~${Date.now()}` };
      if (c.state.Running) this.exit(c, 0, stamp);
      else this.run(c, stamp);
      this.churned++;
    }, 1000 / perSecond);
  }

  stopChurn(): void {
    if (this.churn) clearInterval(this.churn);
    this.churn = undefined;
  }

  /** How many containers the engine has. */
  size(): number {
    return this.containers.size;
  }

  /** Ends every stream and timer. */
  close(): void {
    this.stopChurn();
    for (const s of this.streams) s.end();
  }

  // ---- dockerode's surface -----------------------------------------------------------------------

  async ping(): Promise<string> {
    this.check();
    return 'OK';
  }

  async info(): Promise<Record<string, unknown>> {
    this.check();
    const all = [...this.containers.values()];
    const running = all.filter((c) => c.state.Running).length;
    return {
      ID: `sim-${this.o.name}`,
      Name: this.o.name,
      NCPU: 4,
      MemTotal: 8 * 2 ** 30,
      Driver: 'sim',
      KernelVersion: '6.1.0-sim',
      Architecture: 'x86_64',
      OperatingSystem: 'Simulated',
      OSType: 'linux',
      Labels: [],
      ServerVersion: '20.10.24-sim',
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: all.length - running,
    };
  }

  async version(): Promise<Record<string, unknown>> {
    this.check();
    return {
      Version: '20.10.24-sim',
      ApiVersion: '1.41',
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: '6.1.0-sim',
    };
  }

  async listContainers(opts: { all?: boolean } = {}): Promise<Docker.ContainerInfo[]> {
    this.check();
    const out: Docker.ContainerInfo[] = [];
    for (const c of this.containers.values()) {
      if (!opts.all && !c.state.Running) continue;
      out.push({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: c.image,
        ImageID: `sha256:${c.image}`,
        Command: (c.config.Cmd ?? []).join(' '),
        Created: c.created,
        Ports: [],
        Labels: c.config.Labels ?? {},
        State: c.state.Status,
        Status: c.state.Running ? 'Up 1 minute' : `Exited (${c.state.ExitCode}) 1 minute ago`,
        HostConfig: { NetworkMode: c.config.HostConfig?.NetworkMode ?? 'none' },
        NetworkSettings: { Networks: {} },
        Mounts: [],
      } as Docker.ContainerInfo);
    }
    return out;
  }

  async createContainer(
    opts: Docker.ContainerCreateOptions,
  ): Promise<ReturnType<MemoryEngine['getContainer']>> {
    this.check();
    await sleep(this.o.createDelayMs ?? 0);
    if (!this.images.has(withTag(opts.Image ?? ''))) throw dockerError(404, `No such image: ${opts.Image}`);
    const name = opts.name ?? randomBytes(6).toString('hex');
    for (const c of this.containers.values())
      if (c.name === name)
        throw dockerError(409, `Conflict. The container name "/${name}" is already in use`);
    const c = this.make(opts);
    this.emit(c, 'create');
    return this.getContainer(c.id);
  }

  getContainer(ref: string) {
    const find = (): SimContainer => {
      this.check();
      const c =
        this.containers.get(ref) ??
        [...this.containers.values()].find((x) => x.name === ref || x.id.startsWith(ref));
      if (!c) throw dockerError(404, `No such container: ${ref}`);
      return c;
    };
    return {
      id: ref,
      inspect: async () => this.inspectOf(find()),
      start: async () => {
        const c = find();
        if (c.state.Running) throw dockerError(304, 'container already started');
        await sleep(this.o.startDelayMs ?? 0);
        this.run(c);
      },
      stop: async () => {
        const c = find();
        if (!c.state.Running) throw dockerError(304, 'container already stopped');
        this.emit(c, 'kill', { signal: '15' });
        this.exit(c, 0);
        this.emit(c, 'stop');
      },
      restart: async () => {
        const c = find();
        if (c.state.Running) this.exit(c, 0);
        this.run(c);
        this.emit(c, 'restart');
      },
      kill: async () => {
        const c = find();
        if (!c.state.Running) throw dockerError(409, `Container ${ref} is not running`);
        this.emit(c, 'kill', { signal: '9' });
        this.exit(c, 137);
      },
      pause: async () => {
        const c = find();
        c.state = { ...c.state, Status: 'paused', Paused: true };
        this.emit(c, 'pause');
      },
      unpause: async () => {
        const c = find();
        c.state = { ...c.state, Status: 'running', Paused: false };
        this.emit(c, 'unpause');
      },
      rename: async ({ name }: { name: string }) => {
        const c = find();
        c.name = name;
        this.emit(c, 'rename');
      },
      remove: async ({ force }: { force?: boolean } = {}) => {
        const c = find();
        if (c.state.Running && !force)
          throw dockerError(
            409,
            `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`,
          );
        if (c.state.Running) this.exit(c, 137);
        this.containers.delete(c.id);
        this.emit(c, 'destroy');
      },
      logs: async () => Buffer.alloc(0),
      stats: async () => {
        find();
        return {
          read: new Date().toISOString(),
          cpu_stats: {
            cpu_usage: { total_usage: 0, percpu_usage: [0] },
            system_cpu_usage: 0,
            online_cpus: 4,
          },
          precpu_stats: { cpu_usage: { total_usage: 0, percpu_usage: [0] }, system_cpu_usage: 0 },
          memory_stats: { usage: 0, limit: 8 * 2 ** 30 },
          networks: {},
        };
      },
    };
  }

  async listImages(): Promise<Docker.ImageInfo[]> {
    this.check();
    return [...this.images].map(
      (ref) =>
        ({
          Id: `sha256:${ref}`,
          RepoTags: [ref],
          RepoDigests: [],
          Created: 0,
          Size: 0,
          Labels: {},
        }) as unknown as Docker.ImageInfo,
    );
  }

  getImage(ref: string) {
    return {
      inspect: async () => {
        this.check();
        if (!this.images.has(withTag(ref)) && !ref.startsWith('sha256:'))
          throw dockerError(404, `No such image: ${ref}`);
        return {
          Id: `sha256:${ref}`,
          RepoTags: [withTag(ref)],
          Config: { Env: [], Labels: {}, Cmd: ['/bin/sh'] },
        };
      },
      remove: async () => {
        this.check();
        if (!this.images.delete(withTag(ref))) throw dockerError(404, `No such image: ${ref}`);
        return [{ Untagged: withTag(ref) }];
      },
    };
  }

  async createImage(opts: { fromImage: string; tag: string }): Promise<PassThrough> {
    this.check();
    this.images.add(`${opts.fromImage}:${opts.tag}`);
    const s = new PassThrough();
    s.end();
    return s;
  }

  /** Container events as NDJSON: the recent ones from `since` (Docker keeps a backlog), then live. */
  async getEvents(opts: { since?: string | number; abortSignal?: AbortSignal } = {}): Promise<PassThrough> {
    this.check();
    const s = new PassThrough();
    if (opts.since !== undefined) {
      const since = Number(opts.since) * 1e9;
      for (const line of this.recent)
        if ((JSON.parse(line) as { timeNano: number }).timeNano >= since) s.write(line);
    }
    this.streams.add(s);
    const done = (): void => {
      this.streams.delete(s);
      s.end();
    };
    s.once('close', done);
    opts.abortSignal?.addEventListener('abort', done, { once: true });
    return s;
  }

  // ---- internals ---------------------------------------------------------------------------------

  private check(): void {
    if (this.down)
      throw Object.assign(new Error('connect ECONNREFUSED (simulated engine down)'), {
        code: 'ECONNREFUSED',
      });
  }

  private make(opts: Docker.ContainerCreateOptions): SimContainer {
    const c: SimContainer = {
      id: randomBytes(32).toString('hex'),
      name: opts.name ?? randomBytes(6).toString('hex'),
      image: opts.Image ?? '',
      created: Math.floor(Date.now() / 1000),
      config: opts,
      state: {
        Status: 'created',
        Running: false,
        Paused: false,
        ExitCode: 0,
        StartedAt: ZERO_TIME,
        FinishedAt: ZERO_TIME,
      },
    };
    this.containers.set(c.id, c);
    return c;
  }

  private run(c: SimContainer, extra: Record<string, string> = {}): void {
    c.state = {
      ...c.state,
      Status: 'running',
      Running: true,
      Paused: false,
      ExitCode: 0,
      StartedAt: new Date().toISOString(),
    };
    this.emit(c, 'start', extra);
  }

  private exit(c: SimContainer, code: number, extra: Record<string, string> = {}): void {
    c.state = {
      ...c.state,
      Status: 'exited',
      Running: false,
      Paused: false,
      ExitCode: code,
      FinishedAt: new Date().toISOString(),
    };
    this.emit(c, 'die', { exitCode: String(code), ...extra });
  }

  private emit(c: SimContainer, action: string, extra: Record<string, string> = {}): void {
    // Strictly increasing, as Docker's are: the agent drops an event older than the last it saw.
    // (1,024 ns steps: near 1.8e18 a double is exact only to 256 ns.)
    const nowNs = (this.lastNs = Math.max(Date.now() * 1e6, this.lastNs + 1024));
    const line = `${JSON.stringify({
      status: action,
      id: c.id,
      from: c.image,
      Type: 'container',
      Action: action,
      Actor: { ID: c.id, Attributes: { ...(c.config.Labels ?? {}), image: c.image, name: c.name, ...extra } },
      scope: 'local',
      time: Math.floor(nowNs / 1e9),
      timeNano: nowNs,
    })}\n`;
    this.recent.push(line);
    if (this.recent.length > 256) this.recent.shift();
    for (const s of this.streams) s.write(line);
  }

  private inspectOf(c: SimContainer): Docker.ContainerInspectInfo {
    const hc = c.config.HostConfig ?? {};
    return {
      Id: c.id,
      Created: new Date(c.created * 1000).toISOString(),
      Path: c.config.Cmd?.[0] ?? '/bin/sh',
      Args: c.config.Cmd?.slice(1) ?? [],
      State: {
        ...c.state,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: c.state.Running ? 1 : 0,
        Error: '',
      },
      Image: `sha256:${c.image}`,
      Name: `/${c.name}`,
      RestartCount: 0,
      HostConfig: { NetworkMode: 'none', ...hc },
      Config: {
        Hostname: c.id.slice(0, 12),
        Image: c.image,
        Cmd: c.config.Cmd ?? [],
        Env: c.config.Env ?? [],
        Labels: c.config.Labels ?? {},
        Tty: false,
        ExposedPorts: c.config.ExposedPorts ?? {},
      },
      NetworkSettings: { Ports: {}, Networks: {} },
      Mounts: [],
    } as unknown as Docker.ContainerInspectInfo;
  }
}

function withTag(ref: string): string {
  return /:[^/]+$/.test(ref) || ref.includes('@') ? ref : `${ref}:latest`;
}
