/**
 * AgentClient: a typed HTTP client for one agent's REST API, used by the gateway and the scheduler.
 * Requests carry the token only to an agent that proved it holds it (client-proof.ts); answers are
 * mapped to the gateway's terms (client-mapping.ts, client-types.ts); failures are the errors of
 * client-errors.ts. The event stream is followed across reconnects without losing or repeating events.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { request as undiciRequest } from 'undici';
import { agentDispatcher } from './client-dispatcher.js';
import type { ContainerConfig } from '../core/container-config.js';
import {
  NodeDataError,
  checkedRegistration,
  type NodeData,
  type NodeRegistration,
} from '../core/node-data.js';
import { agentAddress } from './auth.js';
import { AgentError, AgentUnreachableError, AgentUnverifiedError } from './client-errors.js';
import { toContainer, toEvent, toImage, toLogLine, toStats, toSummary, toVolume } from './client-mapping.js';
import { toCreateBody } from '../core/container-config.js';
import { AgentProof } from './client-proof.js';
import type {
  AgentContainer,
  AgentContainerStats,
  AgentContainerSummary,
  AgentEvent,
  AgentImage,
  AgentVolume,
  ContainerOperation,
  NewVolume,
} from './client-types.js';
import type {
  ContainerBody,
  ContainerListItem,
  ContainerStatsBody,
  ErrorBody,
  EventBody,
  ImageListItem,
  StatsLineBody,
  StatusLineBody,
  PingBody,
  VolumeListItem,
} from '../core/agent-wire.js';
import { STATS_LINE, STATUS_LINE } from '../core/agent-wire.js';
import { ndjsonValues } from './ndjson.js';
import { encodeRegistryAuth, REGISTRY_AUTH_HEADER, type RegistryCredentials } from '../core/registry-auth.js';

/** X-Registry-Auth for Docker's pull of the image, when the gateway has credentials for its registry. */
const authHeaders = (auth: RegistryCredentials | undefined): Record<string, string> =>
  auth ? { [REGISTRY_AUTH_HEADER]: encodeRegistryAuth(auth) } : {};

/** A request of the image job routes: a tar body (streamed) or JSON, and headers of its own. */
export interface StreamRequest {
  body?: NodeJS.ReadableStream | Record<string, unknown> | undefined;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
}
import type Docker from 'dockerode';
import WebSocket from 'ws';
import type { AgentLogLine } from './client-types.js';
import type { LogLineBody } from '../core/agent-wire.js';

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
  /** Also the agent's node info every this many ms (instead of asking `/nodeinfo`), to `onStatus`. */
  statusMs?: number | undefined;
  onStatus?: ((node: NodeRegistration) => void) | undefined;
  /** Also its running containers' usage every this many ms (not `/containers/stats`), to `onStats`. */
  statsMs?: number | undefined;
  onStats?: ((stats: Array<AgentContainerStats & { id: string }>) => void) | undefined;
}

/** Unix seconds with nanoseconds, as Docker's `since` takes it. */
function sinceParam(timeNano: number): string {
  const ns = BigInt(Math.round(timeNano));
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${s}.${frac}`;
}

/**
 * Where a followed event stream resumes: after the last event delivered, dropping the events at
 * exactly that instant that were delivered already (Docker's `since` is inclusive).
 */
class EventCursor {
  private seenAtLast = new Set<string>();
  // Without `since`, the first connection starts "now"; later ones resume from the connect time.
  private connectedAt: number | undefined;

  constructor(private lastNano: number | undefined) {}

  /** `since` to (re)connect with, if any; the first call without `since` fixes the connect time. */
  since(): string | undefined {
    const from = this.lastNano ?? this.connectedAt;
    this.connectedAt ??= Date.now() * 1e6;
    // 1 µs early: timeNano loses precision as a double; admit drops what repeats.
    return from !== undefined ? sinceParam(from - 1000) : undefined;
  }

  /** Whether `raw` is new (then it counts as delivered). */
  admit(raw: EventBody): boolean {
    const key = `${raw.timeNano}/${raw.Actor?.ID}/${raw.Action}`;
    const last = this.lastNano;
    if (last !== undefined && raw.timeNano < last) return false;
    if (last !== undefined && raw.timeNano === last && this.seenAtLast.has(key)) return false;
    if (last === undefined || raw.timeNano > last) this.seenAtLast = new Set();
    this.lastNano = raw.timeNano;
    this.seenAtLast.add(key);
    return true;
  }
}

/** `/nodeinfo`'s body (or a STATUS_LINE's), checked as a znode value is: one shape from every path. */
function toRegistration(body: NodeData & { key: string }): NodeRegistration {
  const { key, ...data } = body;
  if (typeof key !== 'string' || key === '') throw new NodeDataError('node info lacks "key"');
  return checkedRegistration(key, data);
}

const toStatsWithId = (b: ContainerStatsBody): AgentContainerStats & { id: string } => ({
  ...toStats(b),
  id: b.Id,
});

/**
 * Hands one of the agent's own `/events` lines to its callback. One that does not decode is dropped:
 * the watcher sees the next one late and asks the agent instead, as it does without these lines.
 */
function agentLine(raw: StatusLineBody | StatsLineBody, options: EventsOptions): void {
  if (raw.Type === STATUS_LINE) {
    const node = decodedOrNone(() => toRegistration(raw.Node));
    if (node) options.onStatus?.(node);
  } else {
    const stats = decodedOrNone(() => raw.Stats.map(toStatsWithId));
    if (stats) options.onStats?.(stats);
  }
}

function decodedOrNone<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined; // malformed: dropped (see agentLine)
  }
}

const defaultRetryWait = (attempt: number): number => Math.min(5000, 250 * 2 ** attempt);

/**
 * Talks to one agent. Requests reuse connections (client-dispatcher.ts keeps them alive: `request`
 * for the JSON calls, fetch for the streams). Before the first
 * request that carries the token, and again after a connection failure or once the proof is older than
 * `proofTtlMs`, the agent must answer a challenge: that costs one round trip then, none per request.
 */
export class AgentClient {
  readonly baseUrl: string;
  /** `host:port` as dialled, in the form the proof signs. */
  readonly address: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly proof: AgentProof;

  constructor(options: AgentClientOptions) {
    const base = options.baseUrl ?? (options.address ? `http://${options.address}` : undefined);
    if (!base) throw new TypeError('AgentClient needs baseUrl or address');
    this.baseUrl = base.replace(/\/+$/, '');
    const url = new URL(this.baseUrl);
    this.address = agentAddress(url.hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.proof = new AgentProof({
      baseUrl: this.baseUrl,
      address: this.address,
      token: this.token,
      timeoutMs: this.timeoutMs,
      ttlMs: options.proofTtlMs ?? 60_000,
      now: options.now ?? Date.now,
    });
  }

  /**
   * Has the agent prove it holds the token, sending no token: resolves when it did, rejects with
   * AgentUnverifiedError when it could not (or AgentUnreachableError). Concurrent calls share one
   * challenge.
   */
  prove(): Promise<void> {
    return this.proof.prove();
  }

  /** Resolves when the agent and its Docker Engine answer; AgentError 503 when Docker does not. */
  async ping(): Promise<{ appVersion: string; dockerVersion: string }> {
    const b = await this.request<PingBody>('GET', '/ping');
    return { appVersion: b.HumpbackVersion ?? b.AppVersion, dockerVersion: b.DockerVersion };
  }

  /** The node's data (as registered in ZooKeeper) with fresh live usage. */
  async nodeInfo(): Promise<NodeRegistration> {
    return toRegistration(await this.request<NodeData & { key: string }>('GET', '/nodeinfo'));
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
  async createContainer(config: ContainerConfig, auth?: RegistryCredentials): Promise<AgentContainer> {
    return toContainer(
      await this.request<ContainerBody>('POST', '/containers', toCreateBody(config), 10, authHeaders(auth)),
    );
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
    opts: { timeoutSeconds?: number | undefined; auth?: RegistryCredentials | undefined } = {},
  ): Promise<AgentContainer> {
    const body = { Action: 'upgrade', Container: id, ImageTag: imageTag, Timeout: opts.timeoutSeconds };
    return toContainer(
      await this.request<ContainerBody>('PUT', '/containers', body, 10, authHeaders(opts.auth)),
    );
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
    return toStats(
      await this.request<ContainerStatsBody>('GET', `/containers/${encodeURIComponent(id)}/stats`),
    );
  }

  /** One sample of every running container's resource usage (`GET /containers/stats`), with its id. */
  async allStats(): Promise<Array<AgentContainerStats & { id: string }>> {
    return (await this.request<ContainerStatsBody[]>('GET', '/containers/stats')).map(toStatsWithId);
  }

  async images(): Promise<AgentImage[]> {
    return (await this.request<ImageListItem[]>('GET', '/images')).map(toImage);
  }

  /** Pulls unless the image is present; resolves to the image. */
  async pullImage(ref: string, auth?: RegistryCredentials): Promise<AgentImage> {
    return toImage(
      await this.request<ImageListItem>('POST', '/images', { Image: ref }, 10, authHeaders(auth)),
    );
  }

  async removeImage(ref: string, force = false): Promise<void> {
    await this.request('DELETE', `/images/${encodeImageRef(ref)}?force=${force}`);
  }

  async volumes(): Promise<AgentVolume[]> {
    return (await this.request<VolumeListItem[]>('GET', '/volumes')).map(toVolume);
  }

  async createVolume(v: NewVolume): Promise<AgentVolume> {
    const body = {
      Name: v.name,
      ...(v.driver ? { Driver: v.driver } : {}),
      ...(v.options ? { DriverOpts: v.options } : {}),
      ...(v.labels ? { Labels: v.labels } : {}),
      ...(v.nfs
        ? {
            Nfs: {
              Server: v.nfs.server,
              Path: v.nfs.path,
              ...(v.nfs.options ? { Options: v.nfs.options } : {}),
            },
          }
        : {}),
    };
    return toVolume(await this.request<VolumeListItem>('POST', '/volumes', body));
  }

  /** AgentError 409 while a container uses it (unless `force`, then as Docker decides). */
  async removeVolume(name: string, force = false): Promise<void> {
    await this.request('DELETE', `/volumes/${encodeURIComponent(name)}?force=${force}`);
  }

  /** Deletes the volume's content; AgentError 409 while a container uses it. */
  async clearVolume(name: string): Promise<void> {
    await this.request('POST', `/volumes/${encodeURIComponent(name)}/clear`, undefined, 6);
  }

  /**
   * The volume's content as a tar stream, read as the agent sends it (nothing is buffered whole).
   * Aborting `signal` ends it (and the agent's helper container).
   */
  async volumeArchive(
    name: string,
    path: string | undefined,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    const q = path ? `?path=${encodeURIComponent(path)}` : '';
    const res = await this.open('GET', `/volumes/${encodeURIComponent(name)}/archive${q}`, signal);
    return res.body!;
  }

  /** Unpacks the tar `body` into the volume (or into `path` in it). */
  async restoreVolume(
    name: string,
    path: string | undefined,
    body: ReadableStream<Uint8Array>,
    signal: AbortSignal,
  ): Promise<void> {
    const q = path ? `?path=${encodeURIComponent(path)}` : '';
    const res = await this.open('PUT', `/volumes/${encodeURIComponent(name)}/archive${q}`, signal, body);
    await res.text();
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
    const cursor = new EventCursor(
      since === undefined ? undefined : (since instanceof Date ? since.getTime() / 1000 : since) * 1e9,
    );
    const query = (): string => {
      const q = new URLSearchParams();
      const from = cursor.since();
      if (from !== undefined) q.set('since', from);
      if (options.statusMs !== undefined) q.set('status', String(Math.round(options.statusMs)));
      if (options.statsMs !== undefined) q.set('stats', String(Math.round(options.statsMs)));
      const text = q.toString();
      return text ? `?${text}` : '';
    };
    let attempt = 0;
    while (!signal.aborted) {
      try {
        const body = await this.openBody(`/events${query()}`, signal);
        attempt = 0;
        for await (const raw of ndjsonValues<EventBody | StatusLineBody | StatsLineBody>(body)) {
          // (Docker's event types are lower-case words: no event is taken for the agent's lines.)
          if (raw.Type === STATUS_LINE || raw.Type === STATS_LINE)
            agentLine(raw as StatusLineBody | StatsLineBody, options);
          else if (cursor.admit(raw as EventBody)) onEvent(toEvent(raw as EventBody));
        }
        this.proof.forget();
        options.onDisconnect?.(new Error('event stream ended'));
      } catch (err) {
        if (signal.aborted) return;
        this.proof.forget();
        options.onDisconnect?.(err);
      }
      if (signal.aborted) return;
      await sleep(retryWait(attempt++), signal);
    }
  }

  /**
   * An image job route (agent/routes/image-jobs.ts): the response, whose body is the NDJSON progress.
   * A stream body is sent as it is read (a tar), never buffered. No deadline but `signal`.
   */
  stream(path: string, r: StreamRequest = {}): Promise<Response> {
    return this.open('POST', path, r.signal, r.body, r.headers);
  }

  // ---- live streams, details and exec (the container page) ---------------------------------

  /** Docker's inspect of the container as Docker gives it (`?originaldata=true`). */
  async inspectContainer(id: string): Promise<Docker.ContainerInspectInfo> {
    return this.request<Docker.ContainerInspectInfo>(
      'GET',
      `/containers/${encodeURIComponent(id)}?originaldata=true`,
    );
  }

  /**
   * The container's output lines from `tail`/`since` (unix seconds), then, with `follow`, new ones as
   * they are printed until `signal` aborts or the container stops. Opening fails as AgentError.
   */
  async logLines(
    id: string,
    from: { tail?: number | undefined; since?: number | undefined; follow: boolean },
    signal: AbortSignal,
  ): Promise<AsyncIterable<AgentLogLine>> {
    const q = new URLSearchParams({ follow: String(from.follow) });
    if (from.tail !== undefined) q.set('tail', String(Math.max(0, Math.floor(from.tail))));
    if (from.since !== undefined) q.set('since', from.since.toFixed(3));
    const body = await this.openBody(`/containers/${encodeURIComponent(id)}/logs/stream?${q}`, signal);
    return (async function* () {
      for await (const l of ndjsonValues<LogLineBody>(body)) yield toLogLine(l);
    })();
  }

  /** A running container's usage, one sample per engine reading, until `signal` aborts. */
  async statsStream(id: string, signal: AbortSignal): Promise<AsyncIterable<AgentContainerStats>> {
    const body = await this.openBody(`/containers/${encodeURIComponent(id)}/stats/stream`, signal);
    return (async function* () {
      for await (const s of ndjsonValues<ContainerStatsBody>(body)) yield toStats(s);
    })();
  }

  /** Makes an exec session in a running container; attach it once with `attachExec`. */
  async createExec(id: string, command: string[], tty: boolean): Promise<string> {
    const b = await this.request<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, {
      Cmd: command,
      Tty: tty,
    });
    return b.Id;
  }

  /**
   * The exec session's WebSocket on the agent (binary frames both ways, resize text frames), open.
   * The token goes only to an agent that proved it holds it.
   */
  async attachExec(execId: string): Promise<WebSocket> {
    if (!this.proof.fresh) await this.proof.prove();
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/v1/exec/${encodeURIComponent(execId)}`;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.token}` },
      followRedirects: false,
      handshakeTimeout: this.timeoutMs,
    });
    return new Promise<WebSocket>((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(
          new AgentError(res.statusCode ?? 502, { Message: `exec attach answered ${res.statusCode}` }, url),
        );
      });
      ws.once('error', (err) => reject(new AgentUnreachableError(url, err)));
    });
  }

  private async open(
    method: string,
    path: string,
    signal: AbortSignal | undefined,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    if (!this.proof.fresh) await abortable(this.proof.prove(), signal);
    const url = `${this.baseUrl}/v1${path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
      ...extraHeaders,
    };
    const streamed = isReadable(body) || body instanceof ReadableStream;
    if (body !== undefined) headers['content-type'] = streamed ? 'application/x-tar' : 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body:
          body === undefined
            ? null
            : body instanceof ReadableStream
              ? body
              : streamed
                ? (Readable.toWeb(body as Readable) as ReadableStream)
                : JSON.stringify(body),
        ...(streamed ? { duplex: 'half' } : {}),
        // The token never follows a redirect.
        redirect: 'error',
        ...(signal ? { signal } : {}),
        dispatcher: agentDispatcher,
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') throw err;
      this.proof.forget();
      throw new AgentUnreachableError(url, err);
    }
    // The agent no longer takes this token: have it prove again, so the next error says which token.
    if (res.status === 401) this.proof.forget();
    if (!res.ok) throw agentError(res.status, await res.text().catch(() => ''), url);
    return res;
  }

  /**
   * A long-lived GET (the event, log and stats streams) whose body is read as a Node stream (undici's
   * `request`): a gateway holds one event stream per node open, where fetch's WHATWG streams cost a
   * reader, a controller and a promise per chunk and kilobytes per stream. Failures are those of
   * open(); no deadline but `signal`.
   */
  private async openBody(path: string, signal: AbortSignal): Promise<Readable> {
    if (!this.proof.fresh) await abortable(this.proof.prove(), signal);
    const url = `${this.baseUrl}/v1${path}`;
    let res: Awaited<ReturnType<typeof undiciRequest>>;
    try {
      res = await undiciRequest(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' },
        signal,
        dispatcher: agentDispatcher,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      this.proof.forget();
      throw new AgentUnreachableError(url, err);
    }
    const status = res.statusCode;
    if (status === 401) this.proof.forget();
    if (status >= 200 && status < 300) return res.body;
    const text = await res.body.text().catch(() => '');
    // (undici's request follows no redirect: one is refused as fetch's `redirect: 'error'` refused it.)
    if (status >= 300 && status < 400)
      throw new AgentUnreachableError(url, new Error(`redirect refused (${status})`));
    throw agentError(status, text, url);
  }

  /**
   * One JSON call, answered whole. undici's `request` rather than fetch (the streams' open()), with a
   * plain emitter as its deadline rather than AbortSignal.timeout: on the hot paths (create, remove)
   * fetch's WHATWG streams and the signal cost more CPU than the rest of the client and the agent's
   * server together (bench/agent-steps.ts), and on a busy host every such millisecond in the critical
   * path is waited for. Failures are those of open(): a redirect is refused as fetch's
   * `redirect: 'error'` refused it (the token never follows one).
   */
  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    timeoutFactor = 1,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const url = `${this.baseUrl}/v1${path}`;
    const deadline = new EventEmitter();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.emit('abort');
    }, this.timeoutMs * timeoutFactor);
    try {
      if (!this.proof.fresh) await untilAbort(this.proof.prove(), deadline);
      const res = await undiciRequest(url, {
        method: method as 'GET',
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: deadline,
        dispatcher: agentDispatcher,
      });
      const text = await res.body.text();
      const status = res.statusCode;
      if (status >= 300 && status < 400) throw new Error(`redirect refused (${status})`);
      // The agent no longer takes this token: have it prove again, so the next error says which token.
      if (status === 401) this.proof.forget();
      if (status < 200 || status >= 300) throw agentError(status, text, url);
      return (text ? JSON.parse(text) : undefined) as T;
    } catch (err) {
      if (err instanceof AgentError || err instanceof AgentUnverifiedError) throw err;
      this.proof.forget();
      if (err instanceof AgentUnreachableError) throw err;
      // As AbortSignal.timeout reported it: the error says "timed out".
      const cause = timedOut
        ? new DOMException('The operation was aborted due to timeout', 'TimeoutError')
        : err;
      throw new AgentUnreachableError(url, cause);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The agent's error answer: its JSON body, or the start of its text (or the status's name). */
function agentError(status: number, text: string, url: string): AgentError {
  let parsed: Partial<ErrorBody>;
  try {
    parsed = JSON.parse(text) as Partial<ErrorBody>;
  } catch {
    parsed = { Message: text.slice(0, 200) || (STATUS_CODES[status] ?? '') };
  }
  return new AgentError(status, parsed, url);
}

function isReadable(v: unknown): v is NodeJS.ReadableStream {
  return typeof (v as { pipe?: unknown } | null)?.pipe === 'function';
}

/** Image references keep their `/` and `:` in the path (`/images/reg:5000/ns/img:tag`). */
function encodeImageRef(ref: string): string {
  return ref.split('/').map(encodeURIComponent).join('/');
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

/** `promise`, or an AbortError as soon as `deadline` emits `abort` (request()'s deadline). */
function untilAbort<T>(promise: Promise<T>, deadline: EventEmitter): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new DOMException('This operation was aborted', 'AbortError'));
    deadline.once('abort', onAbort);
    promise.then(resolve, reject).finally(() => deadline.off('abort', onAbort));
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
