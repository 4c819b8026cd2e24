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
  (globalThis as { gc?: () => void }).gc?.(); // start every timed run on a collected heap
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
const sizes = [500, 5_000, 50_000];
const rounds = 5;
console.log(
  `placement bench: ${placements} placements per size and round, metas of 10 instances, ` +
    `spread + node.labels.zone!=z3; ${rounds} rounds alternating the sizes, median shown`,
);
for (const nodes of sizes) run(nodes, 20_000, 10); // warm-up of the JIT on every size
const samples = new Map<number, number[]>(sizes.map((n) => [n, []]));
let examinedPerPlacement = 0;
for (let round = 0; round < rounds; round++) {
  for (const nodes of sizes) {
    const { perSecond, examined } = run(nodes, placements, 10);
    samples.get(nodes)!.push(perSecond);
    examinedPerPlacement = Math.max(examinedPerPlacement, examined);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rows = sizes.map((nodes) => ({ nodes, perSecond: median(samples.get(nodes)!) }));
for (const { nodes, perSecond } of rows) {
  const all = samples
    .get(nodes)!
    .map((v) => Math.round(v / 1000))
    .join(', ');
  console.log(
    `${String(nodes).padStart(6)} nodes: ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} placements/s` +
      `  (${(1e6 / perSecond).toFixed(2)} µs each; rounds in thousands/s: ${all})`,
  );
}
console.log(`nodes examined per placement (worst round): ${examinedPerPlacement.toFixed(2)}`);
const small = rows[0]!;
const large = rows[rows.length - 1]!;
console.log(
  `cost ratio 50,000 vs 500 nodes: ${(small.perSecond / large.perSecond).toFixed(2)}x ` +
    `(log ratio would be ${(Math.log(50_000) / Math.log(500)).toFixed(2)}x, linear 100x)`,
);
