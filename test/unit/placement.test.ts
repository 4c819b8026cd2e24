import { describe, expect, it } from 'vitest';
import { ErrorCode, HumpbackError } from '../../core/errors.js';
import { parseConstraint, parseConstraints } from '../../scheduler/constraints.js';
import { allocateIndexes, instanceName, smallestFreeIndex } from '../../scheduler/index-allocation.js';
import { PlacementIndex, resourcesOf, type PlacementNode } from '../../scheduler/placement.js';

const GiB = 2 ** 30;

function node(i: number, over: Partial<PlacementNode> = {}): PlacementNode {
  return {
    id: `node-${i}`,
    hostname: `host-${i}`,
    ip: `10.0.${Math.floor(i / 256)}.${i % 256}`,
    os: 'linux',
    arch: 'amd64',
    labels: {},
    engineLabels: {},
    healthy: true,
    cpus: 4,
    memoryBytes: 8 * GiB,
    ...over,
  };
}

function cluster(n: number, over: (i: number) => Partial<PlacementNode> = () => ({})): PlacementIndex {
  const index = new PlacementIndex();
  for (let i = 0; i < n; i++) index.upsertNode(node(i, over(i)));
  return index;
}

function placeAll(
  index: PlacementIndex,
  metaId: string,
  count: number,
  constraints: string[] = [],
): string[] {
  const { nodeIds, failure } = index.placeMany({ metaId, constraints: parseConstraints(constraints) }, count);
  if (failure) throw new Error(failure.ok ? 'unexpected' : failure.message);
  return nodeIds;
}

function tally(ids: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = (out[id] ?? 0) + 1;
  return out;
}

describe('placement: spread', () => {
  it('puts 6 instances 2 per node on 3 nodes', () => {
    const index = cluster(3);
    expect(Object.values(tally(placeAll(index, 'm', 6)))).toEqual([2, 2, 2]);
  });

  it('prefers nodes without the meta even when they hold more containers', () => {
    const index = cluster(3);
    for (let i = 0; i < 5; i++) index.addContainer('node-0', 'other');
    placeAll(index, 'm', 2);
    const third = placeAll(index, 'm', 1);
    expect(third).toEqual(['node-0']);
    expect(index.instancesOf('m').size).toBe(3);
  });

  it('breaks ties by fewer containers', () => {
    const index = cluster(3);
    index.addContainer('node-0', 'x');
    index.addContainer('node-0', 'x');
    index.addContainer('node-2', 'x');
    expect(placeAll(index, 'm', 1)).toEqual(['node-1']);
    expect(placeAll(index, 'm', 1)).toEqual(['node-2']);
    expect(placeAll(index, 'm', 1)).toEqual(['node-0']);
  });

  it('scales evenly past one instance per node, fewest instances first', () => {
    const index = cluster(4);
    const ids = placeAll(index, 'm', 10);
    const counts = Object.values(tally(ids)).sort();
    expect(counts).toEqual([2, 2, 3, 3]);
  });

  it('spreads each meta separately', () => {
    const index = cluster(3);
    placeAll(index, 'a', 3);
    expect(Object.keys(tally(placeAll(index, 'b', 3)))).toHaveLength(3);
  });

  it('skips unhealthy nodes and takes them back when healthy', () => {
    const index = cluster(3);
    index.upsertNode(node(1, { healthy: false }));
    expect(new Set(placeAll(index, 'm', 4))).toEqual(new Set(['node-0', 'node-2']));
    index.upsertNode(node(1));
    expect(placeAll(index, 'm', 1)).toEqual(['node-1']);
  });

  it('reports no healthy node', () => {
    const index = cluster(2, () => ({ healthy: false }));
    const r = index.choose({ metaId: 'm', constraints: [] });
    expect(r).toMatchObject({ ok: false, reason: 'no-healthy-node' });
  });

  it('forgets removed nodes and containers', () => {
    const index = cluster(2);
    placeAll(index, 'm', 2);
    index.removeNode('node-0');
    expect([...index.instancesOf('m').keys()]).toEqual(['node-1']);
    index.removeContainer('node-1', 'm');
    expect(index.instancesOf('m').size).toBe(0);
    expect(index.containersOn('node-1')).toBe(0);
  });
});

describe('placement: capacity', () => {
  it('excludes nodes that cannot fit the memory', () => {
    const index = cluster(3, (i) => ({ memoryBytes: i === 0 ? 1 * GiB : 8 * GiB }));
    const r = resourcesOf({ memoryMB: 2048 });
    const { nodeIds } = index.placeMany({ metaId: 'm', constraints: [], resources: r }, 4);
    expect(nodeIds).not.toContain('node-0');
    expect(nodeIds).toHaveLength(4);
  });

  it('excludes nodes that cannot fit the CPU shares and fails when none can', () => {
    const index = cluster(2, () => ({ cpus: 1 }));
    const req = { metaId: 'm', constraints: [], resources: resourcesOf({ cpuShares: 1024 }) };
    expect(index.placeMany(req, 2).nodeIds).toHaveLength(2);
    const r = index.choose(req);
    expect(r).toMatchObject({ ok: false, reason: 'capacity' });
  });

  it('allows the default 5 % overcommit and no more', () => {
    const index = cluster(1, () => ({ memoryBytes: 1000 * 2 ** 20 }));
    const req = (mb: number) => ({ metaId: 'm', constraints: [], resources: resourcesOf({ memoryMB: mb }) });
    expect(index.place(req(1000)).ok).toBe(true);
    expect(index.place(req(50)).ok).toBe(true); // 1050 of 1000 MB: within 5 %
    expect(index.place(req(1)).ok).toBe(false);
  });

  it('takes the overcommit as an option', () => {
    const index = new PlacementIndex({ overcommit: 0.5 });
    index.upsertNode(node(0, { cpus: 1 }));
    const req = { metaId: 'm', constraints: [], resources: resourcesOf({ cpuShares: 512 }) };
    expect(index.placeMany(req, 4).nodeIds).toHaveLength(3);
  });

  it('prefers the least reserved node over container counts', () => {
    const index = cluster(2);
    index.addContainer('node-0', 'x', resourcesOf({ memoryMB: 4096 }));
    index.addContainer('node-1', 'x');
    index.addContainer('node-1', 'x');
    expect(placeAll(index, 'm', 1)).toEqual(['node-1']);
  });

  it('treats unknown totals as unlimited', () => {
    const index = cluster(1, () => ({ cpus: 0, memoryBytes: 0 }));
    const req = {
      metaId: 'm',
      constraints: [],
      resources: resourcesOf({ cpuShares: 99999, memoryMB: 99999 }),
    };
    expect(index.place(req).ok).toBe(true);
  });
});

describe('placement: retries elsewhere', () => {
  it('never picks an excluded node, even if it is the only one without the meta', () => {
    const index = cluster(3);
    placeAll(index, 'm', 2); // node-0, node-1
    const r = index.choose({ metaId: 'm', constraints: [], exclude: new Set(['node-2']) });
    expect(r.ok && r.nodeId).not.toBe('node-2');
    expect(r.ok).toBe(true);
  });

  it('fails with reason excluded when every node failed', () => {
    const index = cluster(2);
    const r = index.choose({ metaId: 'm', constraints: [], exclude: new Set(['node-0', 'node-1']) });
    expect(r).toMatchObject({ ok: false, reason: 'excluded' });
  });

  it('walks every candidate in turn as failures accumulate', () => {
    const index = cluster(4);
    const exclude = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = index.choose({ metaId: 'm', constraints: [], exclude });
      expect(r.ok).toBe(true);
      if (r.ok) exclude.add(r.nodeId);
    }
    expect(exclude.size).toBe(4);
  });
});

describe('placement: constraints', () => {
  const labelled = () =>
    cluster(6, (i) => ({
      labels: { zone: i < 3 ? 'a' : 'b' },
      engineLabels: { disk: i % 2 === 0 ? 'ssd' : 'hdd' },
      os: i === 5 ? 'windows' : 'linux',
      arch: i === 4 ? 'arm64' : 'amd64',
    }));

  const only = (constraints: string[], count = 6) => new Set(placeAll(labelled(), 'm', count, constraints));

  it('node.id', () => {
    expect(only(['node.id==node-3'])).toEqual(new Set(['node-3']));
    expect(only(['node.id!=node-3'])).not.toContain('node-3');
  });
  it('node.hostname (case-insensitive)', () => {
    expect(only(['node.hostname==HOST-2'])).toEqual(new Set(['node-2']));
    expect(only(['node.hostname!=host-2'])).not.toContain('node-2');
  });
  it('node.ip address and CIDR', () => {
    expect(only(['node.ip==10.0.0.4'])).toEqual(new Set(['node-4']));
    const index = cluster(300);
    const ids = placeAll(index, 'm', 50, ['node.ip==10.0.1.0/24']);
    expect(ids.every((id) => Number(id.slice(5)) >= 256)).toBe(true);
    const outside = placeAll(cluster(300), 'm', 300, ['node.ip!=10.0.0.0/24']);
    expect(outside.every((id) => Number(id.slice(5)) >= 256)).toBe(true);
    expect(only(['node.ip==0.0.0.0/0'])).toHaveProperty('size', 6);
  });
  it('node.platform.os and node.platform.arch', () => {
    expect(only(['node.platform.os==windows'])).toEqual(new Set(['node-5']));
    expect(only(['node.platform.arch!=amd64'])).toEqual(new Set(['node-4']));
  });
  it('node.labels.X', () => {
    expect(only(['node.labels.zone==b'])).toEqual(new Set(['node-3', 'node-4', 'node-5']));
    expect(only(['node.labels.zone!=b'])).toEqual(new Set(['node-0', 'node-1', 'node-2']));
  });
  it('engine.labels.X and several constraints together', () => {
    expect(only(['engine.labels.disk==ssd'])).toEqual(new Set(['node-0', 'node-2', 'node-4']));
    expect(only(['engine.labels.disk==ssd', 'node.labels.zone==a'])).toEqual(new Set(['node-0', 'node-2']));
  });
  it('a missing label fails == and satisfies !=', () => {
    expect(only(['node.labels.gpu!=yes'])).toHaveProperty('size', 6);
    const r = labelled().choose({ metaId: 'm', constraints: parseConstraints(['node.labels.gpu==yes']) });
    expect(r).toMatchObject({ ok: false, reason: 'constraints' });
  });
  it('follows label changes of a node', () => {
    const index = labelled();
    const constraints = parseConstraints(['node.labels.zone==c']);
    expect(index.choose({ metaId: 'm', constraints }).ok).toBe(false);
    index.upsertNode(node(1, { labels: { zone: 'c' } }));
    expect(index.choose({ metaId: 'm', constraints })).toEqual({ ok: true, nodeId: 'node-1' });
  });

  it.each([
    ['zone=a', /key==value/],
    ['node.labels.==a', /label name/],
    ['node.foo==a', /unknown key/],
    ['node.ip==10.0.0.300', /IPv4/],
    ['node.ip==10.0.0.0/33', /IPv4/],
    ['node.labels.zone==', /key==value|empty/],
  ])('rejects %s with BAD_USER_INPUT', (text, message) => {
    let error: unknown;
    try {
      parseConstraint(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HumpbackError);
    expect((error as HumpbackError).code).toBe(ErrorCode.BAD_USER_INPUT);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts spaces around the operator', () => {
    expect(parseConstraint(' node.labels.zone != a ')).toMatchObject({ negate: true });
  });
});

describe('index allocation', () => {
  it('takes the smallest free indexes', () => {
    expect(smallestFreeIndex([])).toBe(1);
    expect(smallestFreeIndex([0, 1, 3])).toBe(2);
    expect(smallestFreeIndex([0])).toBe(1);
    expect(allocateIndexes([1, 3], 4)).toEqual([2, 4, 5, 6]);
  });
  it('names instances the Humpback way', () => {
    expect(instanceName('0123456789abcdef', 'web', 2)).toBe('CLUSTER-01234567-web-2');
  });
});
