/**
 * Docker conventions shared by the agent, the gateway and the scheduler. Every managed container
 * carries these labels and env vars, so the whole cluster cache can be rebuilt from the engines.
 */
export const LABEL = {
  group: 'humpback.group',
  meta: 'humpback.meta',
  index: 'humpback.index',
  /** The name the user gave the meta's config, before the CLUSTER- prefix. */
  originalName: 'humpback.name',
} as const;

/** The prefix of the labels above: Humpback's own, never taken from a user's config. */
export const RESERVED_LABEL_PREFIX = 'humpback.';

export const CLUSTER_ENV = {
  groupId: 'HUMPBACK_CLUSTER_GROUPID',
  metaId: 'HUMPBACK_CLUSTER_METAID',
  index: 'HUMPBACK_CLUSTER_CONTAINER_INDEX',
  originalName: 'HUMPBACK_CLUSTER_CONTAINER_ORIGINALNAME',
} as const;

/** `CLUSTER-<groupId[:8]>-<name>-<index>`, Humpback's name for a cluster container. */
export function clusterContainerName(groupId: string, name: string, index: number): string {
  return `CLUSTER-${groupId.slice(0, 8)}-${name}-${index}`;
}

/** Where a cluster container belongs, read back from its labels; undefined for other containers. */
export interface ClusterIdentity {
  groupId: string;
  metaId: string;
  index: number;
}

export function clusterIdentity(
  labels: Record<string, string> | undefined | null,
): ClusterIdentity | undefined {
  const groupId = labels?.[LABEL.group];
  const metaId = labels?.[LABEL.meta];
  const index = Number(labels?.[LABEL.index]);
  if (!groupId || !metaId || !Number.isInteger(index) || index < 0) return undefined;
  return { groupId, metaId, index };
}

/**
 * Where a container made by a Humpback v1 center belongs: v1 marks its cluster containers with the
 * HUMPBACK_CLUSTER_* env vars only (no labels). Undefined when they are not all there.
 */
export function clusterIdentityFromEnv(
  env: readonly string[] | undefined | null,
): ClusterIdentity | undefined {
  const vars = new Map<string, string>();
  for (const entry of env ?? []) {
    const at = entry.indexOf('=');
    if (at > 0) vars.set(entry.slice(0, at), entry.slice(at + 1));
  }
  const groupId = vars.get(CLUSTER_ENV.groupId);
  const metaId = vars.get(CLUSTER_ENV.metaId);
  const index = Number(vars.get(CLUSTER_ENV.index));
  if (!groupId || !metaId || !Number.isInteger(index) || index < 0) return undefined;
  return { groupId, metaId, index };
}

/** v1 names every cluster container CLUSTER-..., so only those need their env read. */
export function mayBeV1ClusterContainer(name: string, labels: Record<string, string> | undefined): boolean {
  return /^\/?CLUSTER-/.test(name) && clusterIdentity(labels) === undefined;
}

/** The labels and env a cluster container is created with. */
export function clusterMarks(
  id: ClusterIdentity,
  originalName: string,
): { labels: Record<string, string>; env: string[] } {
  return {
    labels: {
      [LABEL.group]: id.groupId,
      [LABEL.meta]: id.metaId,
      [LABEL.index]: String(id.index),
      [LABEL.originalName]: originalName,
    },
    env: [
      `${CLUSTER_ENV.groupId}=${id.groupId}`,
      `${CLUSTER_ENV.metaId}=${id.metaId}`,
      `${CLUSTER_ENV.index}=${id.index}`,
      `${CLUSTER_ENV.originalName}=${originalName}`,
    ],
  };
}

/**
 * The groups a container belongs to: a cluster container (a meta's instance) to its meta's group
 * only; any other container to the groups whose servers include its node.
 */
export function containerGroupIds(
  container: { groupId?: string | undefined },
  groupsOfNode: readonly string[],
): string[] {
  return container.groupId ? [container.groupId] : [...groupsOfNode];
}
