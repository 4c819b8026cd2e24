/**
 * Where a process's heap is: a V8 heap snapshot (node:v8 writeHeapSnapshot, the .heapsnapshot that
 * Chrome DevTools opens) summarised as self size by constructor, like DevTools' Summary view without
 * retained sizes, plus the strings held in most copies and the closures by the function they are of
 * (file and line: whose code keeps them, which a count per node makes plain). The snapshot is read as
 * bytes and its nodes and edges are aggregated while they are scanned, so a snapshot of a heap of a
 * GB is summed in seconds without an array of its nodes; only its strings table goes through
 * JSON.parse.
 *
 *   npx tsx bench/lib/heap-summary.ts <file.heapsnapshot>   (or summariseHeapSnapshot(file))
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface HeapGroup {
  /** The constructor (objects), or `(type)` for V8's own kinds: `(string)`, `(array: …)`, `(code)`. */
  name: string;
  count: number;
  selfMb: number;
}

export interface HeapSummary {
  totalMb: number;
  nodes: number;
  byConstructor: HeapGroup[];
  /** Strings by content (first 60 characters) in most copies: duplicates a cache could share. */
  duplicateStrings: HeapGroup[];
  /** Closures in most copies, by function name and where it is defined (`file:line`). */
  closures: HeapGroup[];
}

interface SnapshotMeta {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
      location_fields?: string[];
    };
    node_count: number;
    edge_count: number;
  };
}

/** Calls `each` with the file's bytes from `from` on, in chunks, until it returns false. */
function scan(fd: number, from: number, each: (chunk: Buffer, at: number) => boolean): void {
  const chunk = Buffer.allocUnsafe(64 * 2 ** 20);
  for (let at = from; ;) {
    const n = readSync(fd, chunk, 0, chunk.length, at);
    if (n === 0 || !each(chunk.subarray(0, n), at)) return;
    at += n;
  }
}

/** Offset of the first `needle` at or after `from` (chunks overlap so that none is missed). */
function find(fd: number, from: number, needle: string): number {
  const chunk = Buffer.allocUnsafe(16 * 2 ** 20);
  for (let at = from; ; at += chunk.length - needle.length) {
    const n = readSync(fd, chunk, 0, chunk.length, at);
    const i = chunk.subarray(0, n).indexOf(needle);
    if (i >= 0) return at + i;
    if (n < chunk.length) return -1;
  }
}

/**
 * Parses the flat array of numbers that starts at `from` (just after its `[`) in records of `width`,
 * calling `each` with each record (the same array, refilled); returns the offset of its `]`.
 */
function scanRecords(fd: number, from: number, width: number, each: (record: Float64Array) => void): number {
  const record = new Float64Array(width);
  let field = 0;
  let value = 0;
  let inNumber = false;
  let end = -1;
  scan(fd, from, (chunk, at) => {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c >= 48 && c <= 57) {
        value = value * 10 + (c - 48);
        inNumber = true;
        continue;
      }
      if (inNumber) {
        record[field] = value;
        inNumber = false;
        value = 0;
        if (++field === width) {
          field = 0;
          each(record);
        }
      }
      if (c === 93 /* ] */) {
        end = at + i;
        return false;
      }
    }
    return true;
  });
  return end;
}

/** The strings table, the snapshot's last section (searched for from the end backwards). */
function readStrings(fd: number, size: number, notBefore: number): string[] {
  let stringsAt = -1;
  const back = Buffer.allocUnsafe(16 * 2 ** 20);
  for (let to = size; to > notBefore && stringsAt < 0; to -= back.length - 16) {
    const from = Math.max(notBefore, to - back.length);
    const n = readSync(fd, back, 0, to - from, from);
    const i = back.subarray(0, n).lastIndexOf('"strings":[');
    if (i >= 0) stringsAt = from + i;
  }
  if (stringsAt < 0) throw new Error('no strings table in the snapshot');
  const tail = Buffer.alloc(size - stringsAt);
  readSync(fd, tail, 0, tail.length, stringsAt);
  return (JSON.parse(`{${tail.subarray(0, tail.lastIndexOf('}')).toString()}}`) as { strings: string[] })
    .strings;
}

/** A script's URL or path, short: from its package in node_modules, or from the working directory. */
function shortScript(name: string): string {
  const modules = name.lastIndexOf('node_modules/');
  if (modules >= 0) return name.slice(modules + 'node_modules/'.length);
  const cwd = `${process.cwd()}/`;
  const path = name.replace(/^file:\/\//, '');
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

export function summariseHeapSnapshot(file: string, top = 20): HeapSummary {
  const fd = openSync(file, 'r');
  try {
    return summarise(fd, top);
  } finally {
    closeSync(fd);
  }
}

function summarise(fd: number, top: number): HeapSummary {
  const size = fstatSync(fd).size;
  const nodesAt = find(fd, 0, '"nodes":[');
  if (nodesAt < 0) throw new Error('not a V8 heap snapshot');
  const headBuf = Buffer.alloc(nodesAt);
  readSync(fd, headBuf, 0, nodesAt, 0);
  const head = JSON.parse(`${headBuf.toString().replace(/,\s*$/, '')}}`) as SnapshotMeta;
  const meta = head.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const fEdges = fields.indexOf('edge_count');
  const strings = readStrings(fd, size, nodesAt);
  // Per node: (type, name index, self size, edge count), kept in typed arrays (a snapshot's nodes are
  // a few million).
  const nodeCount = head.snapshot.node_count;
  const nType = new Uint8Array(nodeCount);
  const nName = new Uint32Array(nodeCount);
  const nSize = new Float64Array(nodeCount);
  const nEdges = new Uint32Array(nodeCount);
  let node = 0;
  const nodesEnd = scanRecords(fd, nodesAt + 9, fields.length, (r) => {
    nType[node] = r[fType]!;
    nName[node] = r[fName]!;
    nSize[node] = r[fSize]!;
    nEdges[node] = r[fEdges]!;
    node++;
  });
  // The edges, in the order of their nodes: a closure's `shared` edge leads to its function's
  // SharedFunctionInfo, whose `script_or_debug_info` edge leads to its script (named by its URL).
  const closureType = types.indexOf('closure');
  const shared = strings.indexOf('shared');
  const scriptEdge = strings.indexOf('script_or_debug_info');
  const edgeFields = meta.edge_fields;
  const internal = meta.edge_types[0].indexOf('internal');
  const eType = edgeFields.indexOf('type');
  const eName = edgeFields.indexOf('name_or_index');
  const eTo = edgeFields.indexOf('to_node');
  const functionOf = new Int32Array(nodeCount).fill(-1);
  const scriptOf = new Int32Array(nodeCount).fill(-1);
  const edgesAt = find(fd, nodesEnd, '"edges":[');
  let from = 0;
  let left = nEdges[0] ?? 0;
  const edgesEnd = scanRecords(fd, edgesAt + 9, edgeFields.length, (r) => {
    while (left === 0 && from < node - 1) left = nEdges[++from]!;
    left--;
    if (r[eType] !== internal) return;
    const name = r[eName]!;
    if (name === shared && nType[from] === closureType) functionOf[from] = r[eTo]! / fields.length;
    else if (name === scriptEdge) scriptOf[from] = r[eTo]! / fields.length;
  });
  // Where each closure's function is defined (node offset, script id, line, column).
  const lineOf = new Int32Array(nodeCount).fill(-1);
  const locationsAt = find(fd, edgesEnd, '"locations":[');
  const locationFields = meta.location_fields ?? [];
  if (locationsAt >= 0 && locationFields.length > 0) {
    const lObject = locationFields.indexOf('object_index');
    const lLine = locationFields.indexOf('line');
    scanRecords(fd, locationsAt + 13, locationFields.length, (r) => {
      lineOf[r[lObject]! / fields.length] = r[lLine]!;
    });
  }
  const byName = new Set(['object', 'native', 'array']);
  const stringTypes = new Set(['string', 'concatenated string', 'sliced string']);
  // key -> [count, bytes]; objects by (type, name), V8's kinds by type (arrays by type and name).
  const groups = new Map<number, [number, number]>();
  const stringCopies = new Map<number, [number, number]>();
  const closureCopies = new Map<string, [number, number]>();
  let total = 0;
  for (let k = 0; k < node; k++) {
    const type = nType[k]!;
    const name = nName[k]!;
    const bytes = nSize[k]!;
    const t = types[type] ?? '?';
    const key = byName.has(t) ? type * 2 ** 32 + name : type * 2 ** 32 + 2 ** 32 - 1;
    const g = groups.get(key) ?? [0, 0];
    g[0]++;
    g[1] += bytes;
    groups.set(key, g);
    if (t === 'string') {
      const s = stringCopies.get(name) ?? [0, 0];
      s[0]++;
      s[1] += bytes;
      stringCopies.set(name, s);
    } else if (type === closureType) {
      const fn = functionOf[k]!;
      const script = fn >= 0 ? scriptOf[fn]! : -1;
      const where = script >= 0 ? shortScript(strings[nName[script]!] ?? '?') : '?';
      const line = lineOf[k]! >= 0 ? `:${lineOf[k]! + 1}` : '';
      const place = `${strings[name] || '(anonymous)'} ${where}${line}`;
      const c = closureCopies.get(place) ?? [0, 0];
      c[0]++;
      c[1] += bytes;
      closureCopies.set(place, c);
    }
    total += bytes;
  }
  const count = node;
  const label = (key: number): string => {
    const t = types[Math.floor(key / 2 ** 32)] ?? '?';
    const n = key % 2 ** 32;
    if (t === 'object' || t === 'native') return strings[n] ?? '?';
    if (t === 'array') return `(array: ${strings[n] ?? '?'})`;
    return stringTypes.has(t) ? '(string)' : `(${t})`;
  };
  // Strings of all three kinds in one `(string)` row.
  const rows = new Map<string, HeapGroup>();
  for (const [key, [n, bytes]] of groups) {
    const l = label(key);
    const r = rows.get(l) ?? { name: l, count: 0, selfMb: 0 };
    r.count += n;
    r.selfMb += bytes / 2 ** 20;
    rows.set(l, r);
  }
  const duplicateStrings = [...stringCopies]
    .filter(([, [n]]) => n > 1)
    .sort((a, b) => b[1][1] - a[1][1])
    .slice(0, 10)
    .map(([idx, [n, bytes]]) => ({
      name: JSON.stringify((strings[idx] ?? '?').slice(0, 60)),
      count: n,
      selfMb: bytes / 2 ** 20,
    }));
  const closures = [...closureCopies]
    .sort((a, b) => b[1][0] - a[1][0])
    .slice(0, 15)
    .map(([place, [n, bytes]]) => ({ name: place, count: n, selfMb: bytes / 2 ** 20 }));
  return {
    totalMb: total / 2 ** 20,
    nodes: count,
    byConstructor: [...rows.values()].sort((a, b) => b.selfMb - a.selfMb).slice(0, top),
    duplicateStrings,
    closures,
  };
}

export function formatHeapSummary(s: HeapSummary): string {
  const row = (g: HeapGroup): string =>
    `    ${g.selfMb.toFixed(1).padStart(8)} MB ${String(g.count).padStart(9)} x ${g.name}`;
  return [
    `  heap snapshot: ${s.totalMb.toFixed(0)} MB in ${s.nodes} objects; self size by constructor:`,
    ...s.byConstructor.map(row),
    '  strings in most copies (content, copies, MB):',
    ...s.duplicateStrings.map(row),
    '  closures in most copies (function and where it is defined, copies, MB):',
    ...s.closures.map(row),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: heap-summary.ts <file.heapsnapshot>');
  console.log(formatHeapSummary(summariseHeapSnapshot(file)));
}
