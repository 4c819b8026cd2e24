/**
 * A typed client for the agent's REST API, used by the gateway and the scheduler. Results are in
 * camelCase domain terms; the wire format (Humpback's PascalCase) stays inside this file. The token
 * goes only to an agent that proved it holds it (the challenge in auth.ts).
 */
import { randomBytes } from 'node:crypto';
import type { ContainerConfig, PortMapping, VolumeBinding } from '../core/container-config.js';
import { decodeNodeValue, type NodeData, type NodeRegistration } from '../core/node-data.js';
import { CHALLENGE_PATH, agentAddress, proofKey, verifyAgentProof } from './auth.js';
import type { ContainerStatsBody } from './models.js';
import { createContainerBody } from './models.js';
import type {
  ContainerBody,
  ContainerListItem,
  CreateContainerInput,
  ErrorBody,
  EventBody,
  ImageListItem,
  PingBody,
} from './models.js';

/** Docker's lower-case container state. */
export type AgentContainerState =
  'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead' | 'removing';

/** One sample of a container's resource usage (`stats`). */
export interface AgentContainerStats {
  /** When Docker took the sample (ISO time). */
  at: string;
  /** CPU use in percent of one CPU (200 = two CPUs busy). */
  cpuPercent: number;
  /** Memory in use, page cache excluded. */
  memoryUsageBytes: number;
  /** The container's memory limit (the node's memory when it has none). */
  memoryLimitBytes: number;
  networkRxBytes: number;
  networkTxBytes: number;
}

/** A container as `listContainers` returns it. */
export interface AgentContainerSummary {
  id: string;
  name: string;
  image: string;
  state: AgentContainerState;
  /** Docker's human status, e.g. `Up 3 minutes`, `Exited (0) 2 seconds ago`. */
  status: string;
  labels: Record<string, string>;
  /** ISO 8601. */
  created: string;
}

export interface AgentPort {
  privatePort: number;
  publicPort: number;
  type: string;
  ip: string;
}

/** A container in full (`getContainer`, `createContainer`, `operateContainer`, `upgradeContainer`). */
export interface AgentContainer extends AgentContainerSummary {
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  ports: AgentPort[];
  /** The container's configuration in the gateway's terms (ports with the public ports Docker bound). */
  config: ContainerConfig;
}

export interface AgentImage {
  id: string;
  tags: string[];
  digests: string[];
  sizeBytes: number;
  /** ISO 8601. */
  created: string;
}

/** One Docker container event from the agent's `/events` stream. */
export interface AgentEvent {
  /** Docker's action: create, start, die, stop, kill, pause, unpause, destroy, rename, health_status: ... */
  action: string;
  /** The container's full id. */
  id: string;
  /** Container name (without the leading `/`), when Docker says it. */
  name: string | undefined;
  image: string | undefined;
  attributes: Record<string, string>;
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds (Docker's value; a double, so precise to about 0.25 µs). */
  timeNano: number;
}

export type ContainerOperation = 'start' | 'stop' | 'restart' | 'kill' | 'pause' | 'unpause' | 'rename';

export interface AgentClientOptions {
  /** `http://host:port`; or give `address`. */
  baseUrl?: string | undefined;
  /** `host:port`, turned into `http://host:port`. */
  address?: string | undefined;
  /** HUMPBACK_AGENT_TOKEN. */
  token: string;
  /** Per-request deadline (not for `events`, `pullImage` and `upgradeContainer`, which get 10×). @default 10000 */
  timeoutMs?: number | undefined;
  /**
   * How long the agent's proof that it holds the token is trusted before the next request asks for a
   * new one (a connection failure forgets it at once). @default 60000
   */
  proofTtlMs?: number | undefined;
  /** Milliseconds since the epoch. @default Date.now */
  now?: (() => number) | undefined;
}

export interface EventsOptions {
  /** Called after each lost connection, before waiting to reconnect. */
  onDisconnect?: ((err: unknown) => void) | undefined;
  /** How long to wait before reconnect attempt `n` (0-based). @default 250ms doubling to 5s */
  retryWait?: ((attempt: number) => number) | undefined;
}

/** The agent answered with an error. */
export class AgentError extends Error {
  readonly code: number;
  readonly detail: string;
  /** The agent itself answered (its JSON error body), not a proxy in front of it. */
  readonly fromAgent: boolean;
  constructor(
    readonly status: number,
    body: Partial<ErrorBody>,
    readonly url: string,
  ) {
    super(body.Message || `agent answered ${status}`);
    this.name = 'AgentError';
    this.fromAgent = typeof body.Code === 'number';
    this.code = this.fromAgent ? body.Code! : status;
    this.detail = body.Detail ?? '';
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
}

/** The agent could not be reached (connection refused, reset, DNS, timeout). */
export class AgentUnreachableError extends Error {
  constructor(
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`agent at ${new URL(url).host} unreachable: ${describe(cause)}`);
    this.name = 'AgentUnreachableError';
  }
}

/**
 * What answers at the address did not prove it holds the agent token (wrong token, not an agent, or a
 * relay in front of one); it was not sent the token.
 */
export class AgentUnverifiedError extends Error {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      `the agent at ${address} could not prove it holds HUMPBACK_AGENT_TOKEN (${reason}); it was not sent the token`,
    );
    this.name = 'AgentUnverifiedError';
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const c = (err as Error & { cause?: unknown }).cause;
    if (err.name === 'TimeoutError') return 'timed out';
    if (c instanceof Error) return `${err.message} (${(c as Error & { code?: string }).code ?? c.message})`;
    return err.message;
  }
  return String(err);
}

/** Turns the gateway's container config into the agent's (Humpback's) request body. */
export function toCreateBody(config: ContainerConfig): CreateContainerInput {
  const body: CreateContainerInput = { Name: config.name, Image: config.image };
  if (config.command?.length) body.Command = config.command;
  if (config.env?.length) body.Env = config.env;
  if (config.hostname) body.HostName = config.hostname;
  if (config.networkMode) body.NetworkMode = config.networkMode;
  if (config.ports?.length) {
    body.Ports = config.ports.map((p) => ({
      PrivatePort: p.privatePort,
      PublicPort: p.publicPort ?? 0,
      Type: (p.type ?? 'tcp') as 'tcp' | 'udp' | 'sctp',
    }));
  }
  if (config.volumes?.length) {
    body.Volumes = config.volumes.map((v) => ({
      ContainerVolume: v.containerPath,
      HostVolume: v.hostPath,
      ReadOnly: v.readOnly ?? false,
    }));
  }
  if (config.dns?.length) body.Dns = config.dns;
  if (config.extraHosts?.length) body.Extrahosts = config.extraHosts;
  if (config.restartPolicy)
    body.RestartPolicy = config.restartPolicy as CreateContainerInput['RestartPolicy'];
  if (config.labels && Object.keys(config.labels).length) body.Labels = config.labels;
  if (config.cpuShares) body.CPUShares = config.cpuShares;
  if (config.memoryMB) body.Memory = config.memoryMB;
  return body;
}

/** The gateway's names for the agent body's fields (in problem reports). */
const CONFIG_FIELD: Record<string, string> = {
  Name: 'name',
  Image: 'image',
  Command: 'command',
  Env: 'env',
  HostName: 'hostname',
  NetworkMode: 'networkMode',
  Ports: 'ports',
  PrivatePort: 'privatePort',
  PublicPort: 'publicPort',
  Type: 'type',
  Volumes: 'volumes',
  ContainerVolume: 'containerPath',
  HostVolume: 'hostPath',
  Dns: 'dns',
  Extrahosts: 'extraHosts',
  RestartPolicy: 'restartPolicy',
  Labels: 'labels',
  CPUShares: 'cpuShares',
  Memory: 'memoryMB',
};

/**
 * What an agent would refuse in a container config, as `config.<field>: why` (empty when it would
 * accept it): the gateway and the scheduler turn bad input away with this before storing or sending
 * anything.
 */
export function containerConfigProblems(config: ContainerConfig): string[] {
  const result = createContainerBody.safeParse(toCreateBody(config));
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'string' ? (CONFIG_FIELD[p] ?? p) : String(p)));
    return `${['config', ...path].join('.')}: ${issue.message}`;
  });
}

function toContainer(b: ContainerBody): AgentContainer {
  const ports: AgentPort[] = b.Ports.map((p) => ({
    privatePort: p.PrivatePort,
    publicPort: p.PublicPort,
    type: p.Type,
    ip: p.Ip,
  }));
  const config: ContainerConfig = { name: b.Name, image: b.Image };
  if (b.Command.length) config.command = b.Command;
  if (b.Env.length) config.env = b.Env;
  if (b.HostName) config.hostname = b.HostName;
  if (b.NetworkMode) config.networkMode = b.NetworkMode;
  if (ports.length) {
    config.ports = ports.map((p): PortMapping => ({
      privatePort: p.privatePort,
      publicPort: p.publicPort,
      type: p.type,
    }));
  }
  if (b.Volumes.length) {
    config.volumes = b.Volumes.map((v): VolumeBinding => ({
      containerPath: v.ContainerVolume,
      hostPath: v.HostVolume,
      readOnly: v.ReadOnly,
    }));
  }
  if (b.Dns.length) config.dns = b.Dns;
  if (b.Extrahosts.length) config.extraHosts = b.Extrahosts;
  if (b.RestartPolicy) config.restartPolicy = b.RestartPolicy;
  if (Object.keys(b.Labels).length) config.labels = b.Labels;
  if (b.CPUShares) config.cpuShares = b.CPUShares;
  if (b.Memory) config.memoryMB = b.Memory;
  return {
    id: b.Id,
    name: b.Name,
    image: b.Image,
    state: b.State as AgentContainerState,
    status: b.Status,
    labels: b.Labels,
    created: b.Created,
    exitCode: b.ExitCode,
    startedAt: b.StartedAt,
    finishedAt: b.FinishedAt,
    ports,
    config,
  };
}

function toSummary(c: ContainerListItem): AgentContainerSummary {
  return {
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    image: c.Image,
    state: c.State as AgentContainerState,
    status: c.Status,
    labels: c.Labels ?? {},
    created: new Date(c.Created * 1000).toISOString(),
  };
}

function toImage(i: ImageListItem): AgentImage {
  return {
    id: i.Id,
    tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    digests: (i.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
    sizeBytes: i.Size,
    created: new Date(i.Created * 1000).toISOString(),
  };
}

function toEvent(e: EventBody): AgentEvent {
  const attributes = e.Actor?.Attributes ?? {};
  return {
    action: e.Action,
    id: e.Actor?.ID ?? '',
    name: attributes['name'],
    image: attributes['image'],
    attributes,
    time: e.time,
    timeNano: e.timeNano,
  };
}

/** Unix seconds with nanoseconds, as Docker's `since` takes it. */
function sinceParam(timeNano: number): string {
  const ns = BigInt(Math.round(timeNano));
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${s}.${frac}`;
}

const defaultRetryWait = (attempt: number): number => Math.min(5000, 250 * 2 ** attempt);

/**
 * Talks to one agent. Requests reuse connections (Node's fetch keeps them alive). Before the first
 * request that carries the token, and again after a connection failure or once the proof is older than
 * `proofTtlMs`, the agent must answer a challenge: that costs one round trip then, none per request.
 */
export class AgentClient {
  readonly baseUrl: string;
  /** `host:port` as dialled, in the form the proof signs. */
  readonly address: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly proofTtlMs: number;
  private readonly now: () => number;
  private provenUntil = 0;
  private proving: Promise<void> | undefined;

  constructor(options: AgentClientOptions) {
    const base = options.baseUrl ?? (options.address ? `http://${options.address}` : undefined);
    if (!base) throw new TypeError('AgentClient needs baseUrl or address');
    this.baseUrl = base.replace(/\/+$/, '');
    const url = new URL(this.baseUrl);
    this.address = agentAddress(url.hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.proofTtlMs = options.proofTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Has the agent prove it holds the token, sending no token: resolves when it did, rejects with
   * AgentUnverifiedError when it could not (or AgentUnreachableError). Concurrent calls share one
   * challenge.
   */
  prove(): Promise<void> {
    this.proving ??= this.challenge()
      .then(() => {
        this.provenUntil = this.now() + this.proofTtlMs;
      })
      .finally(() => {
        this.proving = undefined;
      });
    return this.proving;
  }

  /** Forgets the proof: the next request proves again (after a failed or lost connection). */
  private forgetProof(): void {
    this.provenUntil = 0;
  }

  private async challenge(): Promise<void> {
    const nonce = randomBytes(32).toString('base64url');
    const url = `${this.baseUrl}/v1${CHALLENGE_PATH}`;
    let res: Response;
    let text: string | undefined;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ Nonce: nonce, Address: this.address }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await readCapped(res, 16 * 1024);
    } catch (err) {
      throw new AgentUnreachableError(url, err);
    }
    if (text === undefined) {
      throw new AgentUnverifiedError(this.address, 'its answer to the token challenge is far too long');
    }
    let body: Partial<ErrorBody> & { Proofs?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: said below
    }
    if (!res.ok) {
      const said = [body.Message, body.Detail].filter(Boolean).join(': ');
      const reason =
        res.status === 421
          ? `it does not answer for ${this.address}${said ? `: ${said}` : ''}`
          : res.status === 404
            ? `it has no token challenge (${url} answered 404: not an agent, or one older than this gateway)`
            : `its token challenge answered ${res.status}${said ? ` ${said}` : ''}`;
      throw new AgentUnverifiedError(this.address, reason);
    }
    if (!Array.isArray(body.Proofs)) {
      throw new AgentUnverifiedError(this.address, 'its answer to the token challenge holds no proof');
    }
    if (!verifyAgentProof(await proofKey(this.token), nonce, this.address, body.Proofs)) {
      throw new AgentUnverifiedError(
        this.address,
        'its proof does not match: it holds another token, or it relays for an agent at another address',
      );
    }
  }

  /** Resolves when the agent and its Docker Engine answer; AgentError 503 when Docker does not. */
  async ping(): Promise<{ appVersion: string; dockerVersion: string }> {
    const b = await this.request<PingBody>('GET', '/ping');
    return { appVersion: b.AppVersion, dockerVersion: b.DockerVersion };
  }

  /** The node's data (as registered in ZooKeeper) with fresh live usage. */
  async nodeInfo(): Promise<NodeRegistration> {
    const b = await this.request<NodeData & { key: string }>('GET', '/nodeinfo');
    const { key, ...data } = b;
    // Same validation as a znode value, so the gateway sees one shape from both paths.
    return decodeNodeValue(
      JSON.stringify({ key, data: Buffer.from(JSON.stringify(data)).toString('base64') }),
    );
  }

  async listContainers(all = true): Promise<AgentContainerSummary[]> {
    const list = await this.request<ContainerListItem[]>('GET', `/containers?all=${all}`);
    return list.map(toSummary);
  }

  /** By full id, unique id prefix or name; AgentError 404 when there is none. */
  async getContainer(id: string): Promise<AgentContainer> {
    return toContainer(await this.request<ContainerBody>('GET', `/containers/${encodeURIComponent(id)}`));
  }

  /** Creates and starts (pulling a missing image); AgentError 409 on a name conflict. */
  async createContainer(config: ContainerConfig): Promise<AgentContainer> {
    return toContainer(await this.request<ContainerBody>('POST', '/containers', toCreateBody(config), 10));
  }

  async operateContainer(
    id: string,
    action: ContainerOperation,
    opts: { newName?: string | undefined; timeoutSeconds?: number | undefined } = {},
  ): Promise<AgentContainer> {
    const body: Record<string, string | number> = { Action: action, Container: id };
    if (opts.newName) body['NewName'] = opts.newName;
    if (opts.timeoutSeconds !== undefined) body['Timeout'] = opts.timeoutSeconds;
    return toContainer(await this.request<ContainerBody>('PUT', '/containers', body, 3));
  }

  /**
   * Replaces the container with one of the same config and name on `imageTag` (pulled if missing).
   * On failure the agent restores the old container and this throws.
   */
  async upgradeContainer(
    id: string,
    imageTag: string,
    opts: { timeoutSeconds?: number | undefined } = {},
  ): Promise<AgentContainer> {
    const body = { Action: 'upgrade', Container: id, ImageTag: imageTag, Timeout: opts.timeoutSeconds };
    return toContainer(await this.request<ContainerBody>('PUT', '/containers', body, 10));
  }

  async removeContainer(id: string, force = false): Promise<void> {
    await this.request('DELETE', `/containers/${encodeURIComponent(id)}?force=${force}`, undefined, 3);
  }

  /** The last `tail` lines (default all) of stdout and stderr. */
  async logs(id: string, tail?: number, opts: { since?: number | undefined } = {}): Promise<string[]> {
    const q = new URLSearchParams();
    if (tail !== undefined) q.set('tail', String(Math.max(0, Math.floor(tail))));
    if (opts.since !== undefined) q.set('since', String(Math.floor(opts.since)));
    return this.request<string[]>('GET', `/containers/${encodeURIComponent(id)}/logs?${q}`);
  }

  /** One sample of a running container's resource usage. */
  async stats(id: string): Promise<AgentContainerStats> {
    const s = await this.request<ContainerStatsBody>('GET', `/containers/${encodeURIComponent(id)}/stats`);
    return {
      at: s.Read,
      cpuPercent: s.CPUPercent,
      memoryUsageBytes: s.MemoryUsage,
      memoryLimitBytes: s.MemoryLimit,
      networkRxBytes: s.NetworkRx,
      networkTxBytes: s.NetworkTx,
    };
  }

  async images(): Promise<AgentImage[]> {
    return (await this.request<ImageListItem[]>('GET', '/images')).map(toImage);
  }

  /** Pulls unless the image is present; resolves to the image. */
  async pullImage(ref: string): Promise<AgentImage> {
    return toImage(await this.request<ImageListItem>('POST', '/images', { Image: ref }, 10));
  }

  async removeImage(ref: string, force = false): Promise<void> {
    await this.request('DELETE', `/images/${encodeImageRef(ref)}?force=${force}`);
  }

  /**
   * Follows the node's container events from `since` (unix seconds, or undefined for "from now")
   * until `signal` aborts. After a lost connection it reconnects and resumes from the last event seen,
   * so no event is lost or repeated (Docker keeps its recent events for replay). Resolves on abort.
   */
  async events(
    since: number | Date | undefined,
    onEvent: (event: AgentEvent) => void,
    signal: AbortSignal,
    options: EventsOptions = {},
  ): Promise<void> {
    const retryWait = options.retryWait ?? defaultRetryWait;
    let lastNano: number | undefined =
      since === undefined ? undefined : (since instanceof Date ? since.getTime() / 1000 : since) * 1e9;
    // Events at exactly lastNano that were already delivered (Docker's since is inclusive).
    let seenAtLast = new Set<string>();
    let attempt = 0;
    // Without `since`, the first connection starts "now"; later ones resume from the connect time.
    let connectedAt: number | undefined;
    while (!signal.aborted) {
      const from = lastNano ?? connectedAt;
      // 1 µs early: timeNano loses precision as a double; the dedup above drops what repeats.
      const q = from !== undefined ? `?since=${sinceParam(from - 1000)}` : '';
      try {
        connectedAt ??= Date.now() * 1e6;
        const res = await this.open('GET', `/events${q}`, signal);
        attempt = 0;
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const raw = JSON.parse(line) as EventBody;
            const key = `${raw.timeNano}/${raw.Actor?.ID}/${raw.Action}`;
            if (lastNano !== undefined && raw.timeNano < lastNano) continue;
            if (lastNano !== undefined && raw.timeNano === lastNano && seenAtLast.has(key)) continue;
            if (lastNano === undefined || raw.timeNano > lastNano) seenAtLast = new Set();
            lastNano = raw.timeNano;
            seenAtLast.add(key);
            onEvent(toEvent(raw));
          }
        }
        this.forgetProof();
        options.onDisconnect?.(new Error('event stream ended'));
      } catch (err) {
        if (signal.aborted) return;
        this.forgetProof();
        options.onDisconnect?.(err);
      }
      if (signal.aborted) return;
      await sleep(retryWait(attempt++), signal);
    }
  }

  private async open(
    method: string,
    path: string,
    signal: AbortSignal | undefined,
    body?: unknown,
  ): Promise<Response> {
    if (this.now() >= this.provenUntil) await abortable(this.prove(), signal);
    const url = `${this.baseUrl}/v1${path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        // The token never follows a redirect.
        redirect: 'error',
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') throw err;
      this.forgetProof();
      throw new AgentUnreachableError(url, err);
    }
    // The agent no longer takes this token: have it prove again, so the next error says which token.
    if (res.status === 401) this.forgetProof();
    if (!res.ok) {
      let parsed: Partial<ErrorBody> = {};
      const text = await res.text().catch(() => '');
      try {
        parsed = JSON.parse(text) as Partial<ErrorBody>;
      } catch {
        parsed = { Message: text.slice(0, 200) || res.statusText };
      }
      throw new AgentError(res.status, parsed, url);
    }
    return res;
  }

  private async request<T>(method: string, path: string, body?: unknown, timeoutFactor = 1): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs * timeoutFactor);
    try {
      const res = await this.open(method, path, signal, body);
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    } catch (err) {
      if (err instanceof AgentError || err instanceof AgentUnverifiedError) throw err;
      this.forgetProof();
      if (err instanceof AgentUnreachableError) throw err;
      throw new AgentUnreachableError(`${this.baseUrl}/v1${path}`, err);
    }
  }
}

/** Image references keep their `/` and `:` in the path (`/images/reg:5000/ns/img:tag`). */
function encodeImageRef(ref: string): string {
  return ref.split('/').map(encodeURIComponent).join('/');
}

/** The body as text; undefined when it is longer than `max` bytes (a challenge answer is small). */
async function readCapped(res: Response, max: number): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `promise`, or an AbortError as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
