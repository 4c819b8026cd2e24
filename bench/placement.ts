/**
 * Placement throughput on synthetic clusters: spread + one constraint (`node.labels.zone!=z3`).
 * Prints placements/s for 500, 5,000 and 50,000 nodes and the cost per placement.
 * Run: npx tsx bench/placement.ts
 */
import { parseConstraints } from '../scheduler/constraints.js';
import { PlacementIndex, resourcesOf } from '../scheduler/placement.js';

const GiB = 2 ** 30;

function build(nodes: number): PlacementIndex {
  const index = new PlacementIndex();
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < nodes; i++) {
    const id = `node-${i}`;
    index.upsertNode({
      id,
      hostname: `host-${i}`,
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      os: 'linux',
      arch: 'amd64',
      labels: { zone: `z${i % 4}` },
      engineLabels: {},
      healthy: true,
      cpus: 16,
      memoryBytes: 64 * GiB,
    });
    // Some unrelated containers already there.
    const existing = Math.floor(random() * 20);
    for (let c = 0; c < existing; c++) index.addContainer(id, undefined, resourcesOf({ memoryMB: 128 }));
  }
  return index;
}

function run(nodes: number, placements: number, perMeta: number): { perSecond: number; examined: number } {
  const index = build(nodes);
  const constraints = parseConstraints(['node.labels.zone!=z3']);
  const resources = resourcesOf({ cpuShares: 64, memoryMB: 64 });
  const start = process.hrtime.bigint();
  for (let p = 0, meta = 0; p < placements; meta++) {
    for (let i = 0; i < perMeta && p < placements; i++, p++) {
      const r = index.place({ metaId: `meta-${meta}`, constraints, resources });
      if (!r.ok) throw new Error(r.message);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: placements / seconds, examined: index.stats.examined / index.stats.chosen };
}

const placements = 100_000;
console.log(
  `placement bench: ${placements} placements per size, metas of 10 instances, spread + node.labels.zone!=z3`,
);
const rows: Array<{ nodes: number; perSecond: number }> = [];
for (const nodes of [500, 5_000, 50_000]) {
  run(nodes, 5_000, 10); // warm-up
  const { perSecond, examined } = run(nodes, placements, 10);
  rows.push({ nodes, perSecond });
  console.log(
    `${String(nodes).padStart(6)} nodes: ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} placements/s` +
      `  (${(1e6 / perSecond).toFixed(2)} µs each, ${examined.toFixed(2)} nodes examined per placement)`,
  );
}
const [small, , large] = rows;
if (small && large) {
  console.log(
    `cost ratio 50,000 vs 500 nodes: ${(small.perSecond / large.perSecond).toFixed(2)}x ` +
      `(log ratio would be ${(Math.log(50_000) / Math.log(500)).toFixed(2)}x, linear 100x)`,
  );
}
