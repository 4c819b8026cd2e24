import { describe, expect, it } from 'vitest';
import {
  ClusterCache,
  normalizeServer,
  parseServerAddress,
  serverMatchesNode,
} from '../../gateway/cluster/cluster-cache.js';
import type { ContainerRecord, GroupRecord, NodeRecord } from '../../core/store/store.js';
import type { ContainerState } from '../../core/domain.js';
import type { ContainerFilter } from '../../core/services.js';

const now = '2026-11-22T00:00:00.000Z';

function node(id: string, ip: string, name: string, apiAddr = `${ip}:8500`): NodeRecord {
  return {
    id,
    name,
    ip,
    apiAddr,
    status: 'HEALTHY',
    cpus: 2,
    memoryBytes: 1e9,
    engineLabels: {},
    updatedAt: now,
  };
}

function container(id: string, nodeId: string, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id,
    name: `c-${id}`,
    nodeId,
    image: 'busybox',
    state: 'RUNNING',
    status: 'Up',
    labels: {},
    createdAt: now,
    ...extra,
  };
}

function group(id: string, servers: string[]): GroupRecord {
  return { id, name: id, clusterMode: false, servers, owners: [], createdAt: now, updatedAt: now };
}

describe('server addresses', () => {
  it('parses ip, hostname, port and IPv6, case-insensitively', () => {
    expect(parseServerAddress('10.0.0.1')).toMatchObject({
      host: '10.0.0.1',
      port: 8500,
      explicitPort: false,
    });
    expect(parseServerAddress('Node-A.Example.com:9000')).toMatchObject({
      host: 'node-a.example.com',
      port: 9000,
      key: 'node-a.example.com:9000',
    });
    expect(parseServerAddress('[::1]:8600')).toMatchObject({ host: '::1', port: 8600, key: '[::1]:8600' });
    expect(parseServerAddress('fe80::1')).toMatchObject({ host: 'fe80::1', port: 8500 });
    for (const bad of ['', 'http://x', 'a b', 'host:99999', 'host:0', '-x']) {
      expect(parseServerAddress(bad), bad).toBeUndefined();
    }
  });

  it('normalises servers and rejects bad ones with BAD_USER_INPUT', () => {
    expect(normalizeServer(' HOST1 ')).toBe('host1');
    expect(normalizeServer('Host1:8500')).toBe('host1:8500');
    expect(() => normalizeServer('not an address')).toThrow(/not an ip or hostname/);
  });

  it('matches a node by api address, ip or hostname', () => {
    const n = node('n1', '10.0.0.1', 'Alpha', '10.0.0.1:8500');
    expect(serverMatchesNode('10.0.0.1', n)).toBe(true);
    expect(serverMatchesNode('alpha', n)).toBe(true);
    expect(serverMatchesNode('ALPHA:8500', n)).toBe(true);
    expect(serverMatchesNode('alpha:8600', n)).toBe(false);
    expect(serverMatchesNode('10.0.0.2', n)).toBe(false);
  });
});

describe('ClusterCache', () => {
  function populated(count: number): ClusterCache {
    const cache = new ClusterCache();
    cache.upsertNode(node('n1', '10.0.0.1', 'alpha'));
    cache.upsertNode(node('n2', '10.0.0.2', 'beta'));
    cache.upsertNode(node('n3', '10.0.0.3', 'gamma'));
    cache.setGroups([group('g1', ['10.0.0.1', 'BETA']), group('g2', ['gamma:8500'])]);
    const states: ContainerState[] = ['RUNNING', 'EXITED', 'CREATED'];
    for (let i = 0; i < count; i++) {
      const id = i.toString(16).padStart(12, '0') + 'ab';
      cache.upsertContainer(
        container(id, `n${(i % 3) + 1}`, {
          name: `app-${String(i).padStart(5, '0')}`,
          state: states[i % 3]!,
          ...(i % 10 === 0 ? { metaId: 'm1', groupId: 'g2', index: i / 10 } : {}),
        }),
      );
    }
    return cache;
  }

  it('resolves group membership from servers', () => {
    const cache = populated(0);
    expect(cache.nodeIdsOfGroup('g1').sort()).toEqual(['n1', 'n2']);
    expect(cache.nodeIdsOfGroup('g2')).toEqual(['n3']);
    expect(cache.groupIdsOfNode('n2')).toEqual(['g1']);
    expect(cache.listNodes({ groupId: 'g1' }).map((n) => n.id)).toEqual(['n1', 'n2']);
    cache.upsertGroup(group('g2', ['alpha']));
    expect(cache.nodeIdsOfGroup('g2')).toEqual(['n1']);
  });

  it('finds nodes by id, ip or hostname', () => {
    const cache = populated(0);
    expect(cache.findNode('n2')?.id).toBe('n2');
    expect(cache.findNode('10.0.0.3')?.id).toBe('n3');
    expect(cache.findNode('GAMMA')?.id).toBe('n3');
    expect(cache.findNode('delta')).toBeUndefined();
  });

  it('pages through 5,000 containers without gaps or repeats', () => {
    const cache = populated(5000);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = cache.queryContainers({}, { first: 333, after });
      expect(page.totalCount).toBe(5000);
      seen.push(...page.nodes.map((c) => c.id));
      if (!page.hasNextPage) break;
      after = page.endCursor ?? undefined;
    }
    expect(seen.length).toBe(5000);
    expect(new Set(seen).size).toBe(5000);
  });

  it('orders by name then id, a name before the names it begins, one page after another', () => {
    const cache = new ClusterCache();
    cache.upsertNode(node('n1', '10.0.0.1', 'alpha'));
    const named: Array<[string, string]> = [
      ['ab', 'e'],
      ['a', 'f'],
      ['a-b', 'a'],
      ['a', 'b'],
      ['b', 'c'],
      ['a', 'd'],
    ];
    for (const [name, id] of named) cache.upsertContainer(container(id, 'n1', { name }));
    const expected = ['a/b', 'a/d', 'a/f', 'a-b/a', 'ab/e', 'b/c'];
    const all = cache.queryContainers({}, { first: 100 }).nodes.map((c) => `${c.name}/${c.id}`);
    expect(all).toEqual(expected);
    const paged: string[] = [];
    let after: string | undefined;
    do {
      const page = cache.queryContainers({ nodeId: 'n1' }, { first: 1, after });
      paged.push(...page.nodes.map((c) => `${c.name}/${c.id}`));
      after = page.hasNextPage ? (page.endCursor ?? undefined) : undefined;
    } while (after);
    expect(paged).toEqual(expected);
    // A rename moves the container; a change that keeps the name keeps its place.
    cache.upsertContainer(container('f', 'n1', { name: 'c' }));
    cache.upsertContainer(container('b', 'n1', { name: 'a', state: 'EXITED' }));
    const after2 = cache.queryContainers({}, { first: 100 }).nodes.map((c) => `${c.name}/${c.id}`);
    expect(after2).toEqual(['a/b', 'a/d', 'a-b/a', 'ab/e', 'b/c', 'c/f']);
  });

  it('filters by node, meta, state and group, with counts', () => {
    const cache = populated(300);
    const byNode = cache.queryContainers({ nodeId: 'n1' }, { first: 1000 });
    expect(byNode.totalCount).toBe(100);
    expect(byNode.nodes.every((c) => c.nodeId === 'n1')).toBe(true);

    const byMeta = cache.queryContainers({ metaId: 'm1' }, { first: 5 });
    expect(byMeta.totalCount).toBe(30);
    expect(byMeta.nodes).toHaveLength(5);
    expect(byMeta.hasNextPage).toBe(true);

    const running = cache.queryContainers({ state: 'RUNNING', nodeId: 'n1' }, { first: 1000 });
    expect(running.totalCount).toBe(100);
    expect(cache.queryContainers({ state: 'EXITED', nodeId: 'n1' }, { first: 10 }).totalCount).toBe(0);

    // g1 = n1 + n2 by servers; g2 = n3 plus containers labelled with g2. A cluster container
    // belongs to its meta's group only: the 20 g2 instances on n1 and n2 are not g1's.
    expect(cache.queryContainers({ groupIds: ['g1'] }, { first: 0 }).totalCount).toBe(200 - 20);
    const g1 = cache.queryContainers({ groupIds: ['g1'] }, { first: 1000 }).nodes;
    expect(g1.some((c) => c.groupId === 'g2')).toBe(false);
    const g2 = cache.queryContainers({ groupIds: ['g2'] }, { first: 1000 });
    expect(g2.totalCount).toBe(100 + 20);
    expect(cache.queryContainers({ groupIds: [] }, { first: 10 }).totalCount).toBe(0);
  });

  it('searches names and images, ignoring case, together with the other filters', () => {
    const cache = new ClusterCache();
    cache.upsertNode(node('n1', '10.0.0.1', 'host1'));
    cache.upsertContainer(container('a1', 'n1', { name: 'web-frontend', image: 'nginx:1.27' }));
    cache.upsertContainer(container('a2', 'n1', { name: 'db', image: 'Postgres:16', state: 'EXITED' }));
    cache.upsertContainer(container('a3', 'n1', { name: 'worker', image: 'reg:5000/team/web:2' }));
    const names = (filter: ContainerFilter) =>
      cache.queryContainers(filter, { first: 10 }).nodes.map((c) => c.name);
    expect(names({ search: 'WEB' })).toEqual(['web-frontend', 'worker']);
    expect(names({ search: 'postgres' })).toEqual(['db']);
    expect(names({ search: 'web', state: 'RUNNING', nodeId: 'n1' })).toEqual(['web-frontend', 'worker']);
    expect(names({ search: '  ' })).toHaveLength(3);
    expect(cache.queryContainers({ search: 'nothing' }, { first: 0 }).totalCount).toBe(0);
  });

  it('keeps indexes right when a container changes state or goes away', () => {
    const cache = populated(3);
    const first = cache.queryContainers({ state: 'RUNNING' }, { first: 10 }).nodes[0]!;
    const { previous, unchanged } = cache.upsertContainer({ ...first, state: 'EXITED' });
    expect(unchanged).toBe(false);
    expect(previous?.state).toBe('RUNNING');
    expect(cache.upsertContainer({ ...first, state: 'EXITED' }).unchanged).toBe(true);
    expect(cache.queryContainers({ state: 'RUNNING' }, { first: 10 }).totalCount).toBe(0);
    expect(cache.queryContainers({ state: 'EXITED' }, { first: 10 }).totalCount).toBe(2);
    cache.removeContainer(first.id);
    expect(cache.queryContainers({ state: 'EXITED' }, { first: 10 }).totalCount).toBe(1);
    expect(cache.containerCount).toBe(2);
  });

  it('answers group queries from a memo that every change invalidates', () => {
    const cache = populated(30);
    expect(cache.queryContainers({ groupIds: ['g2'] }, { first: 100 }).totalCount).toBe(10 + 2);
    cache.upsertContainer(container('ffff0001', 'n3', { name: 'late' }));
    expect(cache.queryContainers({ groupIds: ['g2'] }, { first: 100 }).totalCount).toBe(13);
    // Moving a container to another node moves it between groups.
    cache.upsertContainer(container('ffff0001', 'n1', { name: 'late' }));
    expect(cache.queryContainers({ groupIds: ['g2'] }, { first: 100 }).totalCount).toBe(12);
    // 20 on n1 and n2, less the g2 instances there (indexes 1 and 2), plus the moved one
    expect(cache.queryContainers({ groupIds: ['g1'] }, { first: 100 }).totalCount).toBe(20 - 2 + 1);
    expect(cache.queryContainers({ nodeId: 'n1' }, { first: 100 }).nodes.map((c) => c.id)).toContain(
      'ffff0001',
    );
    // Group servers change: membership follows.
    cache.upsertGroup(group('g2', ['alpha', 'gamma']));
    expect(cache.queryContainers({ groupIds: ['g2'] }, { first: 100 }).totalCount).toBe(11 + 10 + 1);
  });

  it('replaces a node’s containers on resync and reports the difference', () => {
    const cache = new ClusterCache();
    cache.upsertNode(node('n1', '10.0.0.1', 'alpha'));
    cache.replaceNodeContainers('n1', [container('aaaa1', 'n1'), container('bbbb2', 'n1')]);
    const result = cache.replaceNodeContainers('n1', [
      container('aaaa1', 'n1', { state: 'EXITED' }),
      container('cccc3', 'n1'),
    ]);
    expect(result.changed.map((c) => [c.container.id, c.previous?.state])).toEqual([
      ['aaaa1', 'RUNNING'],
      ['cccc3', undefined],
    ]);
    expect(result.removed.map((c) => c.id)).toEqual(['bbbb2']);
    expect(
      cache
        .removeNode('n1')
        .map((c) => c.id)
        .sort(),
    ).toEqual(['aaaa1', 'cccc3']);
    expect(cache.containerCount).toBe(0);
  });

  it('finds containers by id prefix or name and refuses ambiguous prefixes', () => {
    const cache = new ClusterCache();
    cache.upsertContainer(container('abcd1111', 'n1', { name: 'web' }));
    cache.upsertContainer(container('abcd2222', 'n1', { name: 'db' }));
    expect(cache.findContainer('abcd1')?.name).toBe('web');
    expect(cache.findContainer('db')?.id).toBe('abcd2222');
    expect(cache.findContainer('/web')?.id).toBe('abcd1111');
    expect(() => cache.findContainer('abcd')).toThrow(/matches 2 containers/);
    expect(cache.findContainer('ffff')).toBeUndefined();
  });

  it('rejects a cursor it did not make', () => {
    const cache = populated(3);
    expect(() => cache.queryContainers({}, { first: 1, after: 'garbage' })).toThrow(/cursor/);
  });
  it('keeps group membership right as nodes arrive, move and go after the groups are known', () => {
    const cache = new ClusterCache();
    cache.setGroups([group('g1', ['10.0.0.1', 'beta']), group('g2', ['10.0.0.9:8600'])]);
    expect(cache.nodeIdsOfGroup('g1')).toEqual([]);
    cache.upsertNode(node('n1', '10.0.0.1', 'alpha'));
    cache.upsertNode(node('n2', '10.0.0.2', 'beta'));
    expect(cache.nodeIdsOfGroup('g1').sort()).toEqual(['n1', 'n2']);
    // n1 moves to the address g2 names (with its port); it leaves g1.
    cache.upsertNode(node('n1', '10.0.0.9', 'alpha', '10.0.0.9:8600'));
    expect(cache.groupIdsOfNode('n1')).toEqual(['g2']);
    expect(cache.nodeIdsOfGroup('g1')).toEqual(['n2']);
    expect(cache.nodesAtAddress('10.0.0.9:8600').map((n) => n.id)).toEqual(['n1']);
    expect(cache.nodesAtAddress('10.0.0.1:8500')).toEqual([]);
    // The same port on another ip is not g2's.
    cache.upsertNode(node('n3', '10.0.0.3', 'gamma', '10.0.0.3:8600'));
    expect(cache.groupIdsOfNode('n3')).toEqual([]);
    cache.removeNode('n2');
    expect(cache.nodeIdsOfGroup('g1')).toEqual([]);
    expect(cache.groupIdsOfNode('n2')).toEqual([]);
    expect(cache.listNodes({ groupId: 'g2' }).map((n) => n.id)).toEqual(['n1']);
  });

  it('places nodes in the groups exactly as serverMatchesNode says, many agents on one ip included', () => {
    // 200 agents on one ip, each on its own port, and servers of every form that can name them.
    const nodes = Array.from({ length: 200 }, (_, i) =>
      node(`n${i}`, '10.0.0.1', `sim-${i}`, `10.0.0.1:${9000 + i}`),
    );
    nodes.push(
      node('v6', 'fd00::7', 'six', '[fd00::7]:8500'),
      node('named', '10.0.0.2', 'box.example', 'box.example:8600'),
      node('odd', '10.0.0.3', 'odd', 'not an address'),
    );
    const servers = [
      ...Array.from({ length: 100 }, (_, i) => `10.0.0.1:${9000 + i * 2}`),
      'sim-7:9007',
      'sim-8:9999',
      'SIM-9',
      '[fd00::7]:8500',
      'fd00::7',
      'box.example:8600',
      '10.0.0.2:8600',
      '10.0.0.2:8500',
      '10.0.0.3:1234',
      'odd',
    ];
    const groups = [
      group('ports', servers.slice(0, 100)),
      group('mixed', servers.slice(100)),
      group('whole-ip', ['10.0.0.1']),
    ];
    const cache = new ClusterCache();
    cache.setGroups(groups);
    for (const n of nodes) cache.upsertNode(n);
    for (const g of groups) {
      const expected = nodes.filter((n) => g.servers.some((s) => serverMatchesNode(s, n))).map((n) => n.id);
      expect(cache.nodeIdsOfGroup(g.id).sort()).toEqual(expected.sort());
    }
    expect(cache.nodeIdsOfGroup('ports')).toHaveLength(100);
    expect(cache.groupIdsOfNode('n7').sort()).toEqual(['mixed', 'whole-ip']);
    expect(cache.groupIdsOfNode('n8').sort()).toEqual(['ports', 'whole-ip']);
    expect(cache.groupIdsOfNode('odd')).toEqual(['mixed']);
  });

  it('keeps every index sorted through adds, removals and re-adds between reads', () => {
    const cache = new ClusterCache();
    cache.upsertNode(node('n1', '10.0.0.1', 'alpha'));
    const names = (filter: ContainerFilter): string[] =>
      cache.queryContainers(filter, { first: 1000 }).nodes.map((c) => c.name);
    const sorted = (xs: string[]): string[] => [...xs].sort();
    let live: string[] = [];
    const add = (i: number, state: ContainerState = 'RUNNING'): void => {
      cache.upsertContainer(container(`id${i}`, 'n1', { name: `c${i}`, state }));
      if (!live.includes(`c${i}`)) live.push(`c${i}`);
    };
    const remove = (i: number): void => {
      cache.removeContainer(`id${i}`);
      live = live.filter((n) => n !== `c${i}`);
    };
    for (let i = 0; i < 50; i++) add((i * 37) % 50);
    expect(names({})).toEqual(sorted(live));
    // Only adds, a few (merged in), then many (sorted afresh).
    add(77);
    add(51);
    expect(names({})).toEqual(sorted(live));
    for (let i = 100; i < 160; i++) add(i);
    expect(names({})).toEqual(sorted(live));
    // Only removals.
    remove(77);
    remove(3);
    expect(names({})).toEqual(sorted(live));
    // A removal and a re-add of the same container before the next read.
    remove(10);
    add(10);
    remove(11);
    expect(names({})).toEqual(sorted(live));
    // State moves between indexes; each stays sorted.
    for (const i of [5, 1, 40, 120]) add(i, 'EXITED');
    expect(names({ state: 'EXITED' })).toEqual(['c1', 'c120', 'c40', 'c5']);
    expect(names({ state: 'RUNNING' })).toEqual(
      sorted(live.filter((n) => !['c1', 'c120', 'c40', 'c5'].includes(n))),
    );
    add(40, 'RUNNING');
    expect(names({ state: 'EXITED' })).toEqual(['c1', 'c120', 'c5']);
    expect(names({ nodeId: 'n1' })).toEqual(sorted(live));
  });
});
