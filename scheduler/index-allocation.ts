import { clusterContainerName } from '../core/labels.js';

/**
 * Instance indexes: every instance of a meta has an index, unique within the meta, and a new one
 * takes the smallest index not in use, from 1 (humpback-center's MakeContainerIdleIndex), so names
 * stay short and stable. Index 0, given by earlier versions, is kept by the instance that has it
 * until it is next recreated (a config change or an upgrade), which gives it an index from 1.
 */

/** The first index given to a new instance. */
export const FIRST_INDEX = 1;

/** The `count` smallest indexes (from 1) not in `used`, ascending. */
export function allocateIndexes(used: Iterable<number>, count: number): number[] {
  const taken = new Set(used);
  const out: number[] = [];
  for (let i = FIRST_INDEX; out.length < count; i++) if (!taken.has(i)) out.push(i);
  return out;
}

/** The smallest index (from 1) not in `used`. */
export function smallestFreeIndex(used: Iterable<number>): number {
  return allocateIndexes(used, 1)[0]!;
}

/** The name of instance `index` of a meta: `CLUSTER-<groupId[:8]>-<name>-<index>`. */
export function instanceName(groupId: string, name: string, index: number): string {
  return clusterContainerName(groupId, name, index);
}
