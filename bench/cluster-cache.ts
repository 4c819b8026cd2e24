/**
 * How fast the gateway's cluster cache answers `containers` pages: 5,000 containers on 50 nodes in
 * 10 groups. Prints queries per second for the common shapes. Run: npx tsx bench/cluster-cache.ts
 */
import { ClusterCache } from '../gateway/cluster/cluster-cache.js';
import type { ContainerRecord } from '../core/store/store.js';
import type { ContainerState } from '../core/domain.js';

const CONTAINERS = Number(process.env['BENCH_CONTAINERS'] ?? 5000);
const NODES = 50;
const GROUPS = 10;
const now = new Date().toISOString();

const cache = new ClusterCache();
for (let n = 0; n < NODES; n++) {
  cache.upsertNode({
    id: `node-${n}`,
    name: `host-${n}`,
    ip: `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`,
    apiAddr: `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}:8500`,
    status: 'HEALTHY',
    cpus: 8,
    memoryBytes: 32e9,
    engineLabels: {},
    updatedAt: now,
  });
}
cache.setGroups(
  Array.from({ length: GROUPS }, (_, g) => ({
    id: `group-${g}`,
    name: `group-${g}`,
    clusterMode: false,
    servers: Array.from({ length: NODES / GROUPS }, (_, i) => `host-${g * (NODES / GROUPS) + i}`),
    owners: [],
    createdAt: now,
    updatedAt: now,
  })),
);
const states: ContainerState[] = ['RUNNING', 'RUNNING', 'RUNNING', 'EXITED', 'CREATED'];
const all: ContainerRecord[] = [];
for (let i = 0; i < CONTAINERS; i++) {
  const c: ContainerRecord = {
    id: i.toString(16).padStart(64, 'a'),
    name: `app-${i}`,
    nodeId: `node-${i % NODES}`,
    image: 'busybox:latest',
    state: states[i % states.length]!,
    status: 'Up 2 hours',
    labels: {},
    createdAt: now,
    ...(i % 4 === 0 ? { metaId: `meta-${i % 20}`, groupId: `group-${i % GROUPS}`, index: i } : {}),
  };
  all.push(c);
  cache.upsertContainer(c);
}

function measure(name: string, fn: (i: number) => unknown, ms = 1000): void {
  for (let i = 0; i < 200; i++) fn(i); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < end) {
    fn(n);
    n++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${name.padEnd(58)} ${Math.round(n / seconds)
      .toLocaleString('en')
      .padStart(12)} queries/s`,
  );
}

console.log(`cluster cache: ${CONTAINERS} containers, ${NODES} nodes, ${GROUPS} groups`);
measure('containers(first: 100)', () => cache.queryContainers({}, { first: 100 }));
const page2 = cache.queryContainers({}, { first: 100 }).endCursor!;
measure('containers(first: 100, after: page 1)', () =>
  cache.queryContainers({}, { first: 100, after: page2 }),
);
measure('containers(nodeId, first: 100)', (i) =>
  cache.queryContainers({ nodeId: `node-${i % NODES}` }, { first: 100 }),
);
measure('containers(state: RUNNING, first: 100)', () =>
  cache.queryContainers({ state: 'RUNNING' }, { first: 100 }),
);
measure('containers(groupIds: [2 groups], first: 100)  (a non-admin)', () =>
  cache.queryContainers({ groupIds: ['group-1', 'group-2'] }, { first: 100 }),
);
measure('one state change, then containers(first: 100)', (i) => {
  const c = all[i % all.length]!;
  cache.upsertContainer({ ...c, state: c.state === 'RUNNING' ? 'EXITED' : 'RUNNING' });
  return cache.queryContainers({}, { first: 100 });
});
