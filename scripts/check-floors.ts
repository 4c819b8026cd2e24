/**
 * Checks the floor plan (README "Layout"): which top-level folder may import which, that the ground
 * floor (`core/`) imports no GraphQL, and that no two top-level folders import each other, directly or
 * round a cycle. Reads the import lines of the production code (not test/ or bench/); exits 1 naming
 * every import that breaks a rule. `npm run check` runs it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What each top-level folder may import, besides itself and npm packages. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  core: [],
  agent: ['core'],
  scheduler: ['core'],
  schema: ['core'],
  resolvers: ['core', 'schema'],
  gateway: ['core', 'agent', 'scheduler', 'schema', 'resolvers', 'web'],
  web: ['core', 'gateway'],
  bin: ['core', 'agent', 'gateway'],
  scripts: ['core', 'gateway'],
};
/** Packages the ground floor may not use: it holds no GraphQL. */
const NOT_ON_THE_GROUND_FLOOR = /^(graphql|type-graphql|graphql-ws|@apollo\/|graphql-)/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (['node_modules', 'dist', 'test', 'bench', '.git', 'gql'].includes(name) || name.startsWith('.'))
      continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const topOf = (file: string): string => relative(root, file).split(sep)[0] ?? '';
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

const problems: string[] = [];
const edges = new Map<string, Set<string>>();
for (const file of sources(root)) {
  const from = topOf(file);
  if (!(from in MAY_IMPORT)) continue;
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? '';
    const where = relative(root, file);
    if (!spec.startsWith('.')) {
      if (from === 'core' && NOT_ON_THE_GROUND_FLOOR.test(spec))
        problems.push(`${where}: core/ imports ${spec}`);
      continue;
    }
    const to = topOf(normalize(join(dirname(file), spec)));
    if (to === from) continue;
    edges.set(from, (edges.get(from) ?? new Set()).add(to));
    if (!MAY_IMPORT[from]!.includes(to)) problems.push(`${where}: ${from}/ may not import ${to}/ (${spec})`);
  }
}

// Cycles between folders, whatever the table says.
const visiting: string[] = [];
const done = new Set<string>();
function walk(folder: string): void {
  if (done.has(folder)) return;
  const at = visiting.indexOf(folder);
  if (at >= 0) {
    problems.push(`import cycle between folders: ${[...visiting.slice(at), folder].join(' -> ')}`);
    return;
  }
  visiting.push(folder);
  for (const next of edges.get(folder) ?? []) walk(next);
  visiting.pop();
  done.add(folder);
}
for (const folder of edges.keys()) walk(folder);

if (problems.length > 0) {
  console.error(`floor plan: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('floor plan: every import keeps to its floor');
