/**
 * The cluster's series on /metrics, read from the services at each scrape (one snapshot shared by
 * every series of the scrape): a removed node, container or meta is simply absent from the next one,
 * so label sets stay bounded by what exists.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Services } from '../../core/services.js';
import type { ContainerRecord, MetaRecord, NodeRecord } from '../../core/store/store.js';
import type { UsageSample } from '../../core/store/usage.js';

/** A container sample older than this is not current: its container reports no figures. */
const CURRENT_MS = 60_000;
/** Containers a scrape covers at most. */
const MAX_CONTAINERS = 100_000;

interface Snapshot {
  nodes: NodeRecord[];
  containers: Array<{ container: ContainerRecord; sample: UsageSample | undefined }>;
  metas: Array<{ meta: MetaRecord; running: number }>;
}

async function takeSnapshot(services: Services): Promise<Snapshot> {
  const nodes = await services.nodes.list({});
  const page = await services.containers.list({}, { first: MAX_CONTAINERS });
  const running = page.nodes.filter((c) => c.state === 'RUNNING');
  const samples = await services.usage.latest(
    running.map((c) => ({ kind: 'container', id: c.id })),
    CURRENT_MS,
  );
  const metas: Snapshot['metas'] = [];
  for (const group of await services.groups.list()) {
    if (!group.clusterMode) continue;
    for (const meta of await services.metas.list(group.id)) {
      metas.push({ meta, running: running.filter((c) => c.metaId === meta.id).length });
    }
  }
  return { nodes, containers: running.map((container, i) => ({ container, sample: samples[i] })), metas };
}

type Labels<K extends string> = Partial<Record<K, string>>;

/** Registers the node, container and meta gauges of API.md on `registry`. */
export function registerClusterMetrics(registry: Registry, services: Services): void {
  let current: { at: number; snapshot: Promise<Snapshot> } | undefined;
  // Every gauge of one scrape reads the same snapshot (they are collected one after the other).
  const snapshot = (): Promise<Snapshot> => {
    if (!current || Date.now() - current.at > 1000)
      current = { at: Date.now(), snapshot: takeSnapshot(services) };
    return current.snapshot;
  };
  const gauge = <K extends string>(
    name: string,
    help: string,
    labelNames: readonly K[],
    values: (s: Snapshot) => Array<[Labels<K>, number]>,
  ): void => {
    new Gauge<K>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const [labels, value] of values(s)) this.set(labels, value);
      },
    });
  };
  const nodeLabels = (n: NodeRecord): Labels<'node' | 'node_name'> => ({ node: n.id, node_name: n.name });
  gauge('humpback_node_up', '1 when the node is HEALTHY, else 0', ['node', 'node_name'], (s) =>
    s.nodes.map((n) => [nodeLabels(n), n.status === 'HEALTHY' ? 1 : 0]),
  );
  gauge('humpback_node_cpu_percent', "The node's CPU use in percent", ['node', 'node_name'], (s) =>
    s.nodes.filter((n) => n.cpuPercent !== undefined).map((n) => [nodeLabels(n), n.cpuPercent!]),
  );
  gauge('humpback_node_memory_used_bytes', "The node's memory in use", ['node', 'node_name'], (s) =>
    s.nodes.filter((n) => n.memoryUsedBytes !== undefined).map((n) => [nodeLabels(n), n.memoryUsedBytes!]),
  );
  const containerLabelNames = ['container', 'container_id', 'node', 'meta', 'group'] as const;
  const containerLabels = (c: ContainerRecord): Labels<(typeof containerLabelNames)[number]> => ({
    container: c.name,
    container_id: c.id,
    node: c.nodeId,
    meta: c.metaId ?? '',
    group: c.groupId ?? '',
  });
  gauge(
    'humpback_container_cpu_percent',
    "A running container's CPU use in percent of one CPU (its last 10 s sample)",
    containerLabelNames,
    (s) =>
      s.containers.flatMap(({ container, sample }) =>
        sample ? [[containerLabels(container), sample.cpuPercent]] : [],
      ),
  );
  gauge(
    'humpback_container_memory_used_bytes',
    "A running container's memory in use (its last 10 s sample)",
    containerLabelNames,
    (s) =>
      s.containers.flatMap(({ container, sample }) =>
        sample ? [[containerLabels(container), sample.memoryUsedBytes]] : [],
      ),
  );
  gauge('humpback_meta_instances_desired', "A meta's instance count", ['meta', 'group'], (s) =>
    s.metas.map(({ meta }) => [{ meta: meta.id, group: meta.groupId }, meta.instances]),
  );
  gauge('humpback_meta_instances_running', "A meta's running instances", ['meta', 'group'], (s) =>
    s.metas.map(({ meta, running }) => [{ meta: meta.id, group: meta.groupId }, running]),
  );
}
