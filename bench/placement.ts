/**
 * Placement throughput on synthetic clusters: spread + one constraint (`node.labels.zone!=z3`).
 * Prints placements/s for 500, 5,000 and 50,000 nodes and the cost per placement, next to a baseline
 * measured in the same process: the least any placement must do — find the chosen node's record by id
 * in a Map and update it — over the same node counts, so that the growth of memory latency with the
 * cluster's size (working set beyond the CPU caches) can be told apart from the algorithm's.
 * Run: node --expose-gc --import tsx bench/placement.ts (without --expose-gc it runs too, noisier)
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

/** Baseline: per operation, one Map lookup of a node by id and one update of its record, nodes in turn. */
function baseline(nodes: number, operations: number): number {
  const records = new Map<string, { containers: number; reserved: number }>();
  const ids: string[] = [];
  for (let i = 0; i < nodes; i++) {
    ids.push(`node-${i}`);
    records.set(`node-${i}`, { containers: i % 20, reserved: 0 });
  }
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.hrtime.bigint();
  for (let op = 0; op < operations; op++) {
    const record = records.get(ids[op % nodes]!)!;
    record.containers++;
    record.reserved += 64;
  }
  return operations / (Number(process.hrtime.bigint() - start) / 1e9);
}

const placements = 100_000;
const sizes = [500, 5_000, 50_000];
const rounds = 5;
console.log(
  `placement bench: ${placements} placements per size and round, metas of 10 instances, ` +
    `spread + node.labels.zone!=z3; ${rounds} rounds alternating the sizes, median shown`,
);
for (const nodes of sizes) {
  run(nodes, 20_000, 10); // warm-up of the JIT on every size
  baseline(nodes, 200_000);
}
const samples = new Map<number, number[]>(sizes.map((n) => [n, []]));
const baseSamples = new Map<number, number[]>(sizes.map((n) => [n, []]));
let examinedPerPlacement = 0;
for (let round = 0; round < rounds; round++) {
  for (const nodes of sizes) {
    const { perSecond, examined } = run(nodes, placements, 10);
    samples.get(nodes)!.push(perSecond);
    baseSamples.get(nodes)!.push(baseline(nodes, placements * 10));
    examinedPerPlacement = Math.max(examinedPerPlacement, examined);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rows = sizes.map((nodes) => ({
  nodes,
  perSecond: median(samples.get(nodes)!),
  basePerSecond: median(baseSamples.get(nodes)!),
}));
for (const { nodes, perSecond, basePerSecond } of rows) {
  const all = samples
    .get(nodes)!
    .map((v) => Math.round(v / 1000))
    .join(', ');
  console.log(
    `${String(nodes).padStart(6)} nodes: ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} placements/s` +
      `  (${(1e6 / perSecond).toFixed(2)} µs each; rounds in thousands/s: ${all}); ` +
      `baseline lookup+update ${(1e9 / basePerSecond).toFixed(1)} ns`,
  );
}
console.log(`nodes examined per placement (worst round): ${examinedPerPlacement.toFixed(2)}`);
const small = rows[0]!;
const large = rows[rows.length - 1]!;
console.log(
  `cost ratio 50,000 vs 500 nodes: ${(small.perSecond / large.perSecond).toFixed(2)}x ` +
    `(log ratio would be ${(Math.log(50_000) / Math.log(500)).toFixed(2)}x, linear 100x); ` +
    `baseline lookup+update ${(small.basePerSecond / large.basePerSecond).toFixed(2)}x`,
);
