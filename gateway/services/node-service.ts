import type { NodeRecord, Store } from '../../core/store/store.js';
import type { NodeStatus } from '../../core/domain.js';
import { badInput, notFound } from '../../core/errors.js';
import type { NodeService } from '../../core/services.js';
import type { ClusterCache } from '../cluster/cluster-cache.js';

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/;
const MAX_LABELS = 100;

/** Nodes from the cluster cache; operator labels from the store. */
export class CacheNodeService implements NodeService {
  constructor(
    private readonly o: {
      cache: ClusterCache;
      store: Store;
    },
  ) {}

  async list(filter: {
    groupId?: string | undefined;
    status?: NodeStatus | undefined;
  }): Promise<NodeRecord[]> {
    return this.o.cache.listNodes(filter);
  }

  async get(idOrAddress: string): Promise<NodeRecord | undefined> {
    return this.o.cache.findNode(idOrAddress);
  }

  async labels(nodeId: string): Promise<Record<string, string>> {
    return (await this.o.store.get('nodeLabels', nodeId))?.labels ?? {};
  }

  async setLabels(nodeId: string, labels: Record<string, string>): Promise<NodeRecord> {
    const node = this.o.cache.findNode(nodeId);
    if (!node) throw notFound('node', nodeId);
    const entries = Object.entries(labels);
    if (entries.length > MAX_LABELS) throw badInput(`at most ${MAX_LABELS} labels`, 'labels');
    for (const [key, value] of entries) {
      if (!LABEL_KEY.test(key))
        throw badInput(`label key ${JSON.stringify(key)}: letters, digits, _ . - /`, 'labels');
      if (value.length > 1024) throw badInput(`label ${key}: value longer than 1024 characters`, 'labels');
    }
    await this.o.store.put('nodeLabels', node.id, { id: node.id, labels: Object.fromEntries(entries) });
    return node;
  }

  async groupsOf(nodeId: string): Promise<string[]> {
    const node = this.o.cache.findNode(nodeId);
    return node ? this.o.cache.groupIdsOfNode(node.id) : [];
  }
}
