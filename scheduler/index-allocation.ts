import { clusterContainerName } from '../core/labels.js';

/**
 * Instance indexes: every instance of a meta has an index, unique within the meta, and a new one
 * takes the smallest index not in use (Humpback's rule), so names stay short and stable.
 */

/** The `count` smallest indexes (from 0) not in `used`, ascending. */
export function allocateIndexes(used: Iterable<number>, count: number): number[] {
  const taken = new Set(used);
  const out: number[] = [];
  for (let i = 0; out.length < count; i++) if (!taken.has(i)) out.push(i);
  return out;
}

/** The smallest index (from 0) not in `used`. */
export function smallestFreeIndex(used: Iterable<number>): number {
  return allocateIndexes(used, 1)[0]!;
}

/** The name of instance `index` of a meta: `CLUSTER-<groupId[:8]>-<name>-<index>`. */
export function instanceName(groupId: string, name: string, index: number): string {
  return clusterContainerName(groupId, name, index);
}
