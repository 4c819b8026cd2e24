/**
 * Seeded, deterministic generators of hostile input for the fuzz tests: the same seed gives the same
 * cases on every run (the seed is printed; FUZZ_SEED overrides it to replay a failure).
 */

/** mulberry32: a small PRNG with a 32-bit state, plenty for choosing cases. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The seed of this run: FUZZ_SEED, or a fixed default so that `npm test` is deterministic. */
export function fuzzSeed(fallback: number): number {
  const given = process.env['FUZZ_SEED'];
  return given !== undefined && /^\d+$/.test(given) ? Number(given) : fallback;
}

/** Strings an attacker or a broken client sends. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  'a',
  '\u0000',
  'abc\u0000def',
  '\u202eevil',
  '\ud800',
  '\udfff\ud800',
  '😀'.repeat(50),
  'ß'.repeat(300),
  '../../../../etc/passwd',
  '..',
  '/',
  '//',
  '%00',
  '%2e%2e%2f',
  'CON',
  '${jndi:ldap://x}',
  "'; DROP TABLE users; --",
  '<script>alert(1)</script>',
  '{"$gt": ""}',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e309',
  '9007199254740993',
  'x'.repeat(4096),
  'y'.repeat(70_000),
  'UPPER/Case:Tag',
  'name with spaces',
  'tab\there',
  'line\nbreak',
  'cr\r\nlf',
  '\\',
  '"',
  "'",
  '`id`',
  '$(id)',
  '*',
  '?',
  '#',
  '&',
  '=',
  ':',
  ';',
];

/** Numbers at the edges. */
export const EXTREME_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
];

/** Any JSON value, up to `depth` levels of arrays and objects. */
export function hostileJson(rng: Rng, depth = 3): unknown {
  const kind = rng.int(depth > 0 ? 8 : 5);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(EXTREME_NUMBERS);
    case 3:
    case 4:
      return rng.pick(HOSTILE_STRINGS);
    case 5:
      return Array.from({ length: rng.int(4) }, () => hostileJson(rng, depth - 1));
    case 6:
      return nested(rng.int(depth * 20) + 1, rng.chance(0.5));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--)
        o[rng.pick(HOSTILE_STRINGS).slice(0, 40)] = hostileJson(rng, depth - 1);
      return o;
    }
  }
}

/** `[[[...]]]` or `{"a":{"a":...}}` `levels` deep. */
export function nested(levels: number, arrays: boolean): unknown {
  let v: unknown = arrays ? [] : {};
  for (let i = 0; i < levels; i++) v = arrays ? [v] : { a: v };
  return v;
}

/** Text that is not quite JSON: truncations, stray bytes, deep nesting written out. */
export function brokenJson(rng: Rng, valid: string): string {
  switch (rng.int(7)) {
    case 0:
      return valid.slice(0, rng.int(valid.length));
    case 1: {
      const at = rng.int(valid.length + 1);
      return (
        valid.slice(0, at) + rng.pick(['\u0000', '{', '}', '"', ',', ']', '\\', '\uffff']) + valid.slice(at)
      );
    }
    case 2:
      return '['.repeat(rng.pick([100, 10_000, 100_000]));
    case 3:
      return '{"a":'.repeat(rng.pick([100, 5_000])) + '1' + '}'.repeat(10);
    case 4:
      return rng.pick(['', ' ', 'null', 'true', '1', '"x"', '[]', 'undefined', 'NaN', '{,}', "{'a':1}"]);
    case 5:
      return valid.replace(/"/g, rng.pick(["'", '', '""']));
    default:
      return Buffer.from(Array.from({ length: rng.int(200) + 1 }, () => rng.int(256))).toString('latin1');
  }
}

/**
 * What an answer must never contain: a stack frame, or a path of this machine's files (the
 * repository, node_modules, compiled or source files with a line number).
 */
export function leaks(body: string, repoRoot: string): string | undefined {
  const patterns: Array<[string, RegExp]> = [
    ['a stack frame', /\n\s+at [^\n]*[(:]\d+/],
    ['a stack frame', /\\n\s+at [^\\]*[(:]\d+/],
    ['node_modules', /node_modules/],
    ['a source file with a line', /\.[cm]?[jt]s:\d+:\d+/],
  ];
  if (body.includes(repoRoot)) return `the repository's path (${repoRoot})`;
  for (const [what, re] of patterns) if (re.test(body)) return what;
  return undefined;
}
