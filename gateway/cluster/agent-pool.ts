import type { ContainerConfig } from '../../core/container-config.js';
import type { ContainerRecord, NodeRecord } from '../../core/store/store.js';
import type { ContainerAction, ContainerState } from '../../core/domain.js';
import type { NodeRegistration } from '../../core/node-data.js';
import { AgentClient, type EventsOptions, type StreamRequest } from '../../agent/client.js';
import { withTag } from '../../core/image-ref.js';
import type { RegistryAuthLookup } from '../../core/registry-auth.js';
import { AgentError, AgentUnverifiedError } from '../../agent/client-errors.js';
import type {
  AgentContainer,
  AgentContainerStats,
  AgentContainerSummary,
  AgentEvent,
  AgentImage,
  AgentVolume,
  NewVolume,
  AgentLogLine,
} from '../../agent/client-types.js';
import { toDetails } from '../../agent/client-mapping.js';
import type { ContainerDetails, ImageInfo } from '../../core/services.js';
import type { ContainerStateDetail } from '../../scheduler/webhook-payload.js';
import {
  clusterIdentity,
  clusterIdentityFromEnv,
  mayBeV1ClusterContainer,
  type ClusterIdentity,
} from '../../core/labels.js';
import { ErrorCode, HumpbackError, badInput, conflict, nodeUnavailable } from '../../core/errors.js';
import { parseServerAddress } from './cluster-cache.js';

/**
 * What the gateway needs from an agent's REST API: the methods of agent/client.ts's AgentClient, so
 * tests can hand in a fake.
 */
export type AgentApi = Pick<
  AgentClient,
  | 'ping'
  | 'nodeInfo'
  | 'listContainers'
  | 'getContainer'
  | 'createContainer'
  | 'operateContainer'
  | 'removeContainer'
  | 'logs'
  | 'stats'
  | 'allStats'
  | 'images'
  | 'pullImage'
  | 'removeImage'
  | 'events'
  | 'volumes'
  | 'createVolume'
  | 'removeVolume'
  | 'clearVolume'
  | 'volumeArchive'
  | 'restoreVolume'
  | 'upgradeContainer'
  | 'inspectContainer'
  | 'logLines'
  | 'statsStream'
  | 'createExec'
  | 'attachExec'
> &
  // image jobs (issue 10); fakes of tests without image jobs leave it out
  Partial<Pick<AgentClient, 'stream'>>;

/** Builds the client of one agent (`host:port`). */
export type AgentApiFactory = (address: string) => AgentApi;

/**
 * The real factory: an AgentClient per address with the shared agent token, which it sends only once
 * the agent at the address proved it holds it.
 */
export function agentClientFactory(
  token: string,
  timeoutMs?: number,
  options: { proofTtlMs?: number | undefined } = {},
): AgentApiFactory {
  return (address) => new AgentClient({ address, token, timeoutMs, proofTtlMs: options.proofTtlMs });
}

/**
 * NODE_UNAVAILABLE because what answers at the node's address did not prove it holds the agent
 * token; the message says why. The node watcher counts it as a failed check.
 */
export class NodeUnverifiedError extends HumpbackError {
  constructor(node: string, why: string) {
    super(ErrorCode.NODE_UNAVAILABLE, `node ${node} is unavailable: ${why}`);
    this.name = 'NodeUnverifiedError';
  }
}

/** The node as an agent describes itself, before the gateway adds status and address. */
export type AgentNodeInfo = Omit<NodeRecord, 'status' | 'apiAddr' | 'updatedAt'>;

/** Docker's lower-case state to the API's enum. */
export function containerState(state: string | undefined): ContainerState {
  switch ((state ?? '').toLowerCase()) {
    case 'created':
      return 'CREATED';
    case 'running':
      return 'RUNNING';
    case 'paused':
      return 'PAUSED';
    case 'restarting':
      return 'RESTARTING';
    case 'removing':
      return 'REMOVING';
    case 'dead':
      return 'DEAD';
    default:
      return 'EXITED';
  }
}

/** The cache's record of a container: what is known of it, and where its labels say it belongs. */
export function containerRecord(c: Omit<ContainerRecord, 'groupId' | 'metaId' | 'index'>): ContainerRecord {
  const identity = clusterIdentity(c.labels);
  return { ...c, groupId: identity?.groupId, metaId: identity?.metaId, index: identity?.index };
}

/** The strings kept by `intern`, each once; emptied when it holds this many. */
const INTERNED_MAX = 10_000;
const interned = new Map<string, string>();

/**
 * One copy of a string that many containers hold: the image, Docker's status text ("Up 2 hours"), the
 * creation second, label values (an image's, a meta's); and many nodes: the Docker version, the OS.
 * Each list an agent answers is parsed afresh, every string of it a copy of its own: at 100,000 containers, 100,000 x "…/busybox:latest" were
 * 4.6 MB and 100,000 x "Up 1 minute" 3.1 MB. Bounded, so strings seen once are not kept for ever.
 */
function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size >= INTERNED_MAX) interned.clear();
  interned.set(s, s);
  return s;
}

/** The labels of every container without any (one object, not one each). */
const NO_LABELS: Record<string, string> = Object.freeze({});

/** A container as the agent reports it, as the cache keeps it. */
export function containerFromAgent(nodeId: string, c: AgentContainerSummary): ContainerRecord {
  const created = Date.parse(c.created);
  let labels = c.labels ?? NO_LABELS;
  if (labels !== NO_LABELS) {
    // The list's own object (parsed for this call): its keys are V8's shared copies already.
    let any = false;
    for (const k in labels) {
      labels[k] = intern(labels[k]!);
      any = true;
    }
    if (!any) labels = NO_LABELS;
  }
  const identity = clusterIdentity(labels);
  // One object per container (containerRecord's shape, without the copy its spread makes): every
  // resync maps a node's whole list.
  return {
    id: c.id,
    name: c.name.replace(/^\//, ''),
    nodeId,
    image: intern(c.image),
    state: containerState(c.state),
    status: intern(c.status || c.state),
    labels,
    createdAt: intern(Number.isNaN(created) ? new Date(0).toISOString() : new Date(created).toISOString()),
    groupId: identity?.groupId,
    metaId: identity?.metaId,
    index: identity?.index,
  };
}

export function nodeFromRegistration(reg: NodeRegistration): AgentNodeInfo {
  const d = reg.data;
  const engineLabels: Record<string, string> = {};
  for (const l of d.lables) {
    const i = l.indexOf('=');
    if (i > 0) engineLabels[intern(l.slice(0, i))] = intern(l.slice(i + 1));
  }
  // Every check makes the node's record afresh: what most nodes share is kept once (intern).
  return {
    id: reg.key,
    name: d.name || d.ip,
    ip: d.ip,
    cpus: d.cpus,
    memoryBytes: d.memory,
    cpuPercent: d.cpuPercent,
    memoryUsedBytes: d.memoryUsed,
    engineLabels,
    dockerVersion: d.dockerversion ? intern(d.dockerversion) : undefined,
    os: d.ostype || d.operatingsystem ? intern(d.ostype || d.operatingsystem) : undefined,
    arch: d.architecture ? intern(d.architecture) : undefined,
  };
}

export function imageFromAgent(image: AgentImage): ImageInfo {
  return { id: image.id, tags: image.tags.filter((t) => t !== '<none>:<none>'), sizeBytes: image.sizeBytes };
}

function statusOf(err: unknown): number | undefined {
  const e = err as { status?: unknown; statusCode?: unknown; code?: unknown } | null;
  for (const v of [e?.status, e?.statusCode, e?.code]) if (typeof v === 'number') return v;
  return undefined;
}

/** True for errors that mean "the agent did not answer" (connection refused, timeout, reset). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AgentUnreachableError' || err.name === 'AbortError' || err.name === 'TimeoutError')
    return true;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|UND_ERR)/.test(code)
  ) {
    return true;
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isUnreachable(cause);
}

/**
 * Turns an agent failure into what a client should see: unreachable or unproven → NODE_UNAVAILABLE, 409 →
 * CONFLICT, 404 → NOT_FOUND, 400 → BAD_USER_INPUT, Docker's own failures → ENGINE_ERROR, each with
 * the agent's detail (Docker's words, or which field was bad). Anything else is rethrown as it is
 * (and reported as an internal error).
 */
export function mapAgentError(err: unknown, node: string, what: string): Error {
  if (err instanceof HumpbackError) return err;
  if (err instanceof AgentUnverifiedError) return new NodeUnverifiedError(node, err.message);
  let message = err instanceof Error ? err.message : String(err);
  if (isUnreachable(err)) return nodeUnavailable(node, message);
  const status = statusOf(err);
  if (err instanceof AgentError && err.detail && !message.includes(err.detail)) {
    message = `${message} (${err.detail})`;
  }
  if (err instanceof AgentError && err.fromAgent && (status === 500 || status === 502)) {
    // Docker (or its registry) failed and the agent said why: the node itself is fine.
    return new HumpbackError(ErrorCode.ENGINE_ERROR, `${what}: ${message}`);
  }
  switch (status) {
    case 400:
    case 422:
      return badInput(`${what}: ${message}`);
    case 404:
      return new HumpbackError(ErrorCode.NOT_FOUND, `${what}: ${message}`);
    case 409:
      return conflict(`${what}: ${message}`);
    case 401:
    case 403:
      return nodeUnavailable(node, 'the agent refused the gateway (check HUMPBACK_AGENT_TOKEN on both)');
    case 502:
    case 503:
    case 504:
      return nodeUnavailable(node, message);
    default:
      return err instanceof Error ? err : new Error(message);
  }
}

/** Docker's State details of an agent's container (webhook bodies). */
function stateDetailOf(c: AgentContainer): ContainerStateDetail {
  return {
    pid: c.pid,
    exitCode: c.exitCode,
    error: c.error,
    oomKilled: c.oomKilled,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
  };
}

/**
 * One agent, as the services and the node watcher call it: results in the cache's records, errors
 * mapped to client codes.
 */
export class NodeAgent {
  constructor(
    readonly address: string,
    private readonly api: AgentApi,
    /** The stored credentials for an image's registry, sent with every pull the agent may make. */
    private readonly registryAuth: () => RegistryAuthLookup | undefined = () => undefined,
  ) {}

  private async authFor(image: string): Promise<Awaited<ReturnType<RegistryAuthLookup>>> {
    return this.registryAuth()?.(image);
  }

  /** An image job route's NDJSON response (agent/routes/image-jobs.ts); errors as the other calls'. */
  stream(what: string, path: string, r: StreamRequest): Promise<Response> {
    return this.call(what, (a) => {
      if (!a.stream) throw new Error('this agent client has no image jobs');
      return a.stream(path, r);
    });
  }

  private async call<T>(what: string, fn: (api: AgentApi) => Promise<T>): Promise<T> {
    try {
      return await fn(this.api);
    } catch (err) {
      throw mapAgentError(err, this.address, what);
    }
  }

  ping(): Promise<unknown> {
    return this.call('ping', (a) => a.ping());
  }

  async nodeInfo(): Promise<AgentNodeInfo> {
    return nodeFromRegistration(await this.call('node info', (a) => a.nodeInfo()));
  }

  async listContainers(nodeId: string): Promise<ContainerRecord[]> {
    const items = await this.call('containers', (a) => a.listContainers(true));
    const records = items.map((i) => containerFromAgent(nodeId, i));
    if (this.v1Identities.size > 0) {
      const present = new Set(records.map((r) => r.id));
      for (const id of this.v1Identities.keys()) if (!present.has(id)) this.v1Identities.delete(id);
    }
    // Only the containers that may be v1's wait for an inspect: a node's list is read every resync
    // (100,000 containers at 5,000 nodes every 30 s), and a promise per container was most of its cost.
    const v1 = records.flatMap((r, i) => (mayBeV1ClusterContainer(r.name, r.labels) ? [i] : []));
    if (v1.length === 0) return records;
    const identified = await Promise.all(v1.map((i) => this.withV1Identity(records[i]!)));
    v1.forEach((at, k) => (records[at] = identified[k]!));
    return records;
  }

  /** Ids of containers already looked at for v1's env marks: what they said (undefined: not v1's). */
  private readonly v1Identities = new Map<string, ClusterIdentity | undefined>();

  /**
   * A container a Humpback v1 center made has no humpback.* labels, only the HUMPBACK_CLUSTER_* env
   * vars, which the list does not carry: those named CLUSTER-... are inspected once each.
   */
  private async withV1Identity(record: ContainerRecord): Promise<ContainerRecord> {
    if (!mayBeV1ClusterContainer(record.name, record.labels)) return record;
    if (!this.v1Identities.has(record.id)) {
      try {
        const c = await this.api.getContainer(record.id);
        this.v1Identities.set(record.id, clusterIdentityFromEnv(c.config.env));
      } catch {
        return record; // gone meanwhile, or the agent failed: the next list tries again
      }
    }
    const identity = this.v1Identities.get(record.id);
    return identity ? { ...record, ...identity } : record;
  }

  /** Docker's State details of one container (one inspect), for webhook bodies. */
  async containerStateDetail(id: string): Promise<ContainerStateDetail> {
    return stateDetailOf(await this.call('container', (a) => a.getContainer(id)));
  }

  async createContainer(nodeId: string, config: ContainerConfig): Promise<ContainerRecord> {
    return (await this.createContainerDetailed(nodeId, config)).container;
  }

  /** createContainer with the State details of the agent's answer (its inspect after the start). */
  async createContainerDetailed(
    nodeId: string,
    config: ContainerConfig,
  ): Promise<{ container: ContainerRecord; detail: ContainerStateDetail }> {
    const auth = await this.authFor(config.image);
    const c = await this.call(`container ${config.name}`, (a) => a.createContainer(config, auth));
    return { container: containerFromAgent(nodeId, c), detail: stateDetailOf(c) };
  }

  /** Runs the action; resolves to the container as the agent reports it afterwards. */
  async operate(nodeId: string, id: string, action: ContainerAction): Promise<ContainerRecord> {
    const op = action.toLowerCase() as Lowercase<ContainerAction>;
    const c = await this.call(`container ${id}`, (a) => a.operateContainer(id, op));
    return containerFromAgent(nodeId, c);
  }

  async operateContainer(id: string, action: ContainerAction): Promise<void> {
    await this.operate('', id, action);
  }

  async removeContainer(id: string, force: boolean): Promise<void> {
    await this.call(`container ${id}`, (a) => a.removeContainer(id, force));
  }

  logs(id: string, tail: number | undefined): Promise<string[]> {
    return this.call(`container ${id}`, (a) => a.logs(id, tail));
  }

  stats(id: string): Promise<AgentContainerStats> {
    return this.call(`container ${id}`, (a) => a.stats(id));
  }

  /** Every running container's usage on this node. */
  allStats(): Promise<Array<AgentContainerStats & { id: string }>> {
    return this.call('container stats', (a) => a.allStats());
  }

  async images(): Promise<ImageInfo[]> {
    return (await this.call('images', (a) => a.images())).map(imageFromAgent);
  }

  async pullImage(image: string): Promise<ImageInfo> {
    const auth = await this.authFor(image);
    return imageFromAgent(await this.call(`image ${image}`, (a) => a.pullImage(image, auth)));
  }

  async removeImage(image: string, force: boolean): Promise<void> {
    await this.call(`image ${image}`, (a) => a.removeImage(image, force));
  }

  volumes(): Promise<AgentVolume[]> {
    return this.call('volumes', (a) => a.volumes());
  }

  createVolume(volume: NewVolume): Promise<AgentVolume> {
    return this.call(`volume ${volume.name}`, (a) => a.createVolume(volume));
  }

  removeVolume(name: string, force: boolean): Promise<void> {
    return this.call(`volume ${name}`, (a) => a.removeVolume(name, force));
  }

  clearVolume(name: string): Promise<void> {
    return this.call(`volume ${name}`, (a) => a.clearVolume(name));
  }

  volumeArchive(
    name: string,
    path: string | undefined,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    return this.call(`volume ${name}`, (a) => a.volumeArchive(name, path, signal));
  }

  restoreVolume(
    name: string,
    path: string | undefined,
    body: ReadableStream<Uint8Array>,
    signal: AbortSignal,
  ): Promise<void> {
    return this.call(`volume ${name}`, (a) => a.restoreVolume(name, path, body, signal));
  }

  // ---- the container page: rename, upgrade, details, live streams, exec

  async rename(nodeId: string, id: string, name: string): Promise<ContainerRecord> {
    const c = await this.call(`container ${id}`, (a) => a.operateContainer(id, 'rename', { newName: name }));
    return containerFromAgent(nodeId, c);
  }

  /** `image`: the container's image now; the upgrade pulls it at `imageTag` with its registry's credentials. */
  async upgrade(nodeId: string, id: string, imageTag: string, image?: string): Promise<ContainerRecord> {
    const auth = image ? await this.authFor(withTag(image, imageTag)) : undefined;
    const c = await this.call(`container ${id}`, (a) => a.upgradeContainer(id, imageTag, { auth }));
    return containerFromAgent(nodeId, c);
  }

  async details(id: string): Promise<ContainerDetails> {
    return toDetails(await this.call(`container ${id}`, (a) => a.inspectContainer(id)));
  }

  logLines(
    id: string,
    from: { tail?: number | undefined; since?: number | undefined; follow: boolean },
    signal: AbortSignal,
  ): Promise<AsyncIterable<AgentLogLine>> {
    return this.call(`logs of container ${id}`, (a) => a.logLines(id, from, signal));
  }

  statsStream(id: string, signal: AbortSignal): Promise<AsyncIterable<AgentContainerStats>> {
    return this.call(`stats of container ${id}`, (a) => a.statsStream(id, signal));
  }

  createExec(id: string, command: string[], tty: boolean): Promise<string> {
    return this.call(`exec in container ${id}`, (a) => a.createExec(id, command, tty));
  }

  attachExec(execId: string): ReturnType<AgentApi['attachExec']> {
    return this.call(`exec ${execId}`, (a) => a.attachExec(execId));
  }

  /** Follows the node's container events until `signal` aborts; reconnects by itself. */
  events(
    since: number | undefined,
    onEvent: (event: AgentEvent) => void,
    signal: AbortSignal,
    options: EventsOptions = {},
  ): Promise<void> {
    return this.call('events', (a) => a.events(since, onEvent, signal, options));
  }
}

/** One client per agent address (`host:port`, lower case), made on first use. */
export class AgentPool {
  private readonly agents = new Map<string, NodeAgent>();

  private registryAuth: RegistryAuthLookup | undefined;

  constructor(private readonly factory: AgentApiFactory) {}

  /** Where the agents' pulls get their registry credentials (the registry service, once it exists). */
  useRegistryAuth(lookup: RegistryAuthLookup): void {
    this.registryAuth = lookup;
  }

  /** `address` is a group server or a node's apiAddr; the default port is added when missing. */
  get(address: string): NodeAgent {
    const parsed = parseServerAddress(address);
    if (!parsed)
      throw new HumpbackError(ErrorCode.BAD_USER_INPUT, `${JSON.stringify(address)} is not an agent address`);
    let agent = this.agents.get(parsed.key);
    if (!agent) {
      agent = new NodeAgent(parsed.key, this.factory(parsed.key), () => this.registryAuth);
      this.agents.set(parsed.key, agent);
    }
    return agent;
  }

  forNode(node: NodeRecord): NodeAgent {
    return this.get(node.apiAddr);
  }
}
