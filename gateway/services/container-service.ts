import type { AgentContainerStats } from '../../agent/client-types.js';
import { containerConfigProblems } from '../../core/container-config.js';
import type { ContainerConfig } from '../../core/container-config.js';
import type { ContainerRecord, NodeRecord } from '../../core/store/store.js';
import type { Logger } from '../../core/logger.js';
import {
  ErrorCode,
  HumpbackError,
  badFields,
  badInput,
  conflict,
  nodeUnavailable,
  notFound,
} from '../../core/errors.js';
import { LABEL } from '../../core/labels.js';
import type { ContainerDetails, ContainerFilter, ContainerService, Page } from '../../core/services.js';
import type { ContainerAction } from '../../core/domain.js';
import type { AgentPool, NodeAgent } from '../cluster/agent-pool.js';
import type { CacheWriter } from '../cluster/cache-writer.js';
import type { ClusterCache } from '../cluster/cluster-cache.js';

/** Hooks into the node watcher (present on the leader only). */
export interface AgentFeedback {
  /** A call to this node's agent failed as unreachable: check it now rather than at the next interval. */
  unreachable(nodeId: string): void;
}

export interface ServiceDeps {
  cache: ClusterCache;
  writer: CacheWriter;
  pool: AgentPool;
  logger: Logger;
  feedback?: AgentFeedback | undefined;
}

const RESERVED_LABELS = new Set<string>(Object.values(LABEL));

/**
 * The node a single-mode call targets (by id, ip or hostname), with its agent. A node that is not
 * HEALTHY is refused with NODE_UNAVAILABLE before its agent is tried.
 */
export function usableNode(deps: ServiceDeps, idOrAddress: string): { node: NodeRecord; agent: NodeAgent } {
  const node = deps.cache.findNode(idOrAddress);
  if (!node) throw notFound('node', idOrAddress);
  if (node.status !== 'HEALTHY') throw nodeUnavailable(node.name || node.id, `it is ${node.status}`);
  return { node, agent: deps.pool.forNode(node) };
}

/** Runs a call to a node's agent; an unreachable agent gets the watcher's attention at once. */
export async function callAgent<T>(deps: ServiceDeps, node: NodeRecord, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HumpbackError && err.code === ErrorCode.NODE_UNAVAILABLE)
      deps.feedback?.unreachable(node.id);
    deps.logger.debug({ err, node: node.id }, 'agent call failed');
    throw err;
  }
}

/**
 * Single mode: containers on a chosen node, through that node's agent. Reads come from the cluster
 * cache only (never a fan-out to agents); writes go to the agent, then straight into the cache so
 * the answer and the next query agree, and the Docker events confirm them.
 */
export class AgentContainerService implements ContainerService {
  constructor(private readonly deps: ServiceDeps) {}

  async list(
    filter: ContainerFilter,
    page: { first: number; after?: string | undefined },
  ): Promise<Page<ContainerRecord>> {
    if (!Number.isInteger(page.first) || page.first < 0)
      throw badInput('first must be a whole number >= 0', 'first');
    return this.deps.cache.queryContainers(filter, page);
  }

  async get(idOrPrefix: string): Promise<ContainerRecord | undefined> {
    return this.deps.cache.findContainer(idOrPrefix);
  }

  private known(idOrPrefix: string): ContainerRecord {
    const container = this.deps.cache.findContainer(idOrPrefix);
    if (!container) throw notFound('container', idOrPrefix);
    return container;
  }

  async create(nodeId: string, config: ContainerConfig): Promise<ContainerRecord> {
    const { node, agent } = usableNode(this.deps, nodeId);
    const name = config.name.replace(/^\//, '');
    const reserved = Object.keys(config.labels ?? {}).find((k) => RESERVED_LABELS.has(k));
    if (reserved) throw badInput(`label ${reserved} is reserved for cluster containers`, 'labels');
    const problems = containerConfigProblems({ ...config, name });
    if (problems.length > 0) throw badFields(problems, 'config');
    if (this.deps.cache.containersOfNode(node.id).some((c) => c.name === name)) {
      throw conflict(`a container named ${JSON.stringify(name)} exists on node ${node.name} already`);
    }
    const created = await callAgent(this.deps, node, () =>
      agent.createContainer(node.id, { ...config, name }),
    );
    await this.deps.writer.containers([created], []);
    return this.deps.cache.getContainer(created.id) ?? created;
  }

  async operate(id: string, action: ContainerAction): Promise<ContainerRecord> {
    const container = this.known(id);
    const { node, agent } = usableNode(this.deps, container.nodeId);
    const after = await callAgent(this.deps, node, () => agent.operate(node.id, container.id, action));
    await this.deps.writer.containers([after], []);
    return this.deps.cache.getContainer(container.id) ?? after;
  }

  async remove(id: string, force: boolean): Promise<boolean> {
    const container = this.known(id);
    const { node, agent } = usableNode(this.deps, container.nodeId);
    try {
      await callAgent(this.deps, node, () => agent.removeContainer(container.id, force));
    } catch (err) {
      // Gone already: the cache was behind; make it right and report success.
      if (!(err instanceof HumpbackError && err.code === ErrorCode.NOT_FOUND)) throw err;
    }
    await this.deps.writer.containers([], [container.id]);
    return true;
  }

  async logs(id: string, tail: number): Promise<string[]> {
    const container = this.known(id);
    const { node, agent } = usableNode(this.deps, container.nodeId);
    return callAgent(this.deps, node, () => agent.logs(container.id, tail));
  }

  async stats(id: string): Promise<AgentContainerStats> {
    const container = this.known(id);
    const { node, agent } = usableNode(this.deps, container.nodeId);
    return callAgent(this.deps, node, () => agent.stats(container.id));
  }

  // ---- details, rename and upgrade (the container page)

  /** In-flight and recent inspects: the detail fields of one query (or of a page) share one. */
  private readonly inspected = new Map<string, { at: number; details: Promise<ContainerDetails> }>();

  async details(id: string): Promise<ContainerDetails> {
    const container = this.known(id);
    const now = Date.now();
    const hit = this.inspected.get(container.id);
    if (hit && now - hit.at < DETAILS_TTL_MS) return hit.details;
    for (const [k, v] of this.inspected) if (now - v.at >= DETAILS_TTL_MS) this.inspected.delete(k);
    const { node, agent } = usableNode(this.deps, container.nodeId);
    const details = callAgent(this.deps, node, () => agent.details(container.id));
    this.inspected.set(container.id, { at: now, details });
    details.catch(() => this.inspected.delete(container.id));
    return details;
  }

  async rename(id: string, name: string): Promise<ContainerRecord> {
    const container = this.single(id, 'rename');
    const problems = containerConfigProblems({ name, image: container.image });
    if (problems.length > 0) throw badInput(problems.join('; ').replace('config.name', 'name'), 'name');
    const wanted = name.replace(/^\//, '');
    if (
      this.deps.cache
        .containersOfNode(container.nodeId)
        .some((c) => c.name === wanted && c.id !== container.id)
    ) {
      throw conflict(`a container named ${JSON.stringify(wanted)} exists on its node already`);
    }
    const { node, agent } = usableNode(this.deps, container.nodeId);
    const after = await callAgent(this.deps, node, () => agent.rename(node.id, container.id, wanted));
    this.inspected.delete(container.id);
    await this.deps.writer.containers([after], []);
    return this.deps.cache.getContainer(after.id) ?? after;
  }

  async upgrade(id: string, imageTag: string): Promise<ContainerRecord> {
    const container = this.single(id, 'upgrade');
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(imageTag))
      throw badInput('imageTag: not a valid image tag', 'imageTag');
    const { node, agent } = usableNode(this.deps, container.nodeId);
    const after = await callAgent(this.deps, node, () =>
      agent.upgrade(node.id, container.id, imageTag, container.image),
    );
    this.inspected.delete(container.id);
    await this.deps.writer.containers([after], after.id === container.id ? [] : [container.id]);
    return this.deps.cache.getContainer(after.id) ?? after;
  }

  /** A single-mode container: a meta's instances are renamed and upgraded through their meta. */
  private single(id: string, what: string): ContainerRecord {
    const container = this.known(id);
    if (container.metaId) {
      throw badInput(
        `${what}: container ${container.name} is an instance of a service; change the service instead`,
        'id',
      );
    }
    return container;
  }
}

/** How long an inspect answers the detail fields of a container. */
const DETAILS_TTL_MS = 2000;
