import { createHash } from 'node:crypto';
import { withVolumeIndex, type ContainerConfig } from '../core/container-config.js';
import { clusterMarks } from '../core/labels.js';
import type { MetaRecord } from '../core/store/store.js';
import { instanceName } from './index-allocation.js';

/**
 * Label holding a digest of the meta's config and constraints an instance was created from: an
 * instance whose digest differs from the meta's current one is recreated.
 */
export const SPEC_LABEL = 'humpback.spec';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Digest of what instances are made from (config incl. image tag, and constraints). */
export function specDigest(meta: Pick<MetaRecord, 'config' | 'constraints'>): string {
  const text = JSON.stringify(canonical({ config: meta.config, constraints: [...meta.constraints].sort() }));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The config instance `index` of a meta is created with: name, labels and env of a cluster container. */
export function instanceConfig(
  meta: MetaRecord,
  index: number,
  config: ContainerConfig = meta.config,
): ContainerConfig {
  const marks = clusterMarks({ groupId: meta.groupId, metaId: meta.id, index }, meta.name);
  return {
    // `{index}` in a volume name: each instance its own volume, found again when it is recreated.
    ...withVolumeIndex(config, index),
    name: instanceName(meta.groupId, meta.name, index),
    labels: {
      ...config.labels,
      ...marks.labels,
      [SPEC_LABEL]: specDigest({ config, constraints: meta.constraints }),
    },
    env: [...(config.env ?? []).filter((e) => !e.startsWith('HUMPBACK_CLUSTER_')), ...marks.env],
  };
}
