import { badInput } from '../core/errors.js';

/**
 * Placement constraints, Humpback/Swarm style: `key==value` or `key!=value` on
 * `node.id`, `node.hostname`, `node.ip` (an address or an IPv4 CIDR), `node.platform.os`,
 * `node.platform.arch`, `node.labels.<X>` (set with setNodeLabels) and `engine.labels.<X>`.
 * Parsed once per meta; evaluation is plain data in, boolean out.
 */

/** What a constraint can look at on a node. */
export interface ConstraintTarget {
  id: string;
  hostname: string;
  ip: string;
  os?: string | undefined;
  arch?: string | undefined;
  labels: Readonly<Record<string, string>>;
  engineLabels: Readonly<Record<string, string>>;
}

type Field =
  | { kind: 'id' }
  | { kind: 'hostname' }
  | { kind: 'ip' }
  | { kind: 'os' }
  | { kind: 'arch' }
  | { kind: 'nodeLabel'; name: string }
  | { kind: 'engineLabel'; name: string };

type Matcher = { kind: 'exact'; value: string } | { kind: 'cidr'; network: number; mask: number };

export interface Constraint {
  /** The text as the user wrote it, trimmed. */
  source: string;
  field: Field;
  negate: boolean;
  matcher: Matcher;
}

const KEY_PATTERN = /^[A-Za-z0-9_.\-/]+$/;

/** Parses an IPv4 dotted quad into an unsigned 32-bit number; undefined when it is not one. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value >>> 0;
}

function parseField(key: string, source: string): Field {
  switch (key) {
    case 'node.id':
      return { kind: 'id' };
    case 'node.hostname':
      return { kind: 'hostname' };
    case 'node.ip':
      return { kind: 'ip' };
    case 'node.platform.os':
      return { kind: 'os' };
    case 'node.platform.arch':
      return { kind: 'arch' };
  }
  for (const [prefix, kind] of [
    ['node.labels.', 'nodeLabel'],
    ['engine.labels.', 'engineLabel'],
  ] as const) {
    if (key.startsWith(prefix)) {
      const name = key.slice(prefix.length);
      if (!name || !KEY_PATTERN.test(name)) {
        throw badInput(
          `constraint ${JSON.stringify(source)}: label name after ${prefix} is missing or invalid`,
          'constraints',
        );
      }
      return { kind, name };
    }
  }
  throw badInput(
    `constraint ${JSON.stringify(source)}: unknown key ${JSON.stringify(key)}; use node.id, node.hostname, node.ip, ` +
      'node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>',
    'constraints',
  );
}

function parseMatcher(field: Field, value: string, source: string): Matcher {
  if (field.kind !== 'ip') return { kind: 'exact', value };
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const ip = parseIPv4(address);
  const bits = slash < 0 ? 32 : Number(value.slice(slash + 1));
  if (ip === undefined || !/^\d{1,2}$/.test(slash < 0 ? '32' : value.slice(slash + 1)) || bits > 32) {
    throw badInput(
      `constraint ${JSON.stringify(source)}: node.ip takes an IPv4 address or CIDR such as 10.0.0.0/24`,
      'constraints',
    );
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { kind: 'cidr', network: (ip & mask) >>> 0, mask };
}

/** Parses one constraint; throws BAD_USER_INPUT naming the constraint and what is wrong. */
export function parseConstraint(text: string): Constraint {
  const source = text.trim();
  const m = /^([^=!\s]+)\s*(==|!=)\s*(.+)$/.exec(source);
  if (!m) {
    throw badInput(
      `constraint ${JSON.stringify(source)}: expected key==value or key!=value, e.g. node.labels.zone==a`,
      'constraints',
    );
  }
  const field = parseField(m[1]!, source);
  const value = m[3]!.trim();
  if (!value) throw badInput(`constraint ${JSON.stringify(source)}: the value is empty`, 'constraints');
  return { source, field, negate: m[2] === '!=', matcher: parseMatcher(field, value, source) };
}

/** Parses every constraint of a meta (empty strings are ignored). */
export function parseConstraints(texts: readonly string[] | undefined): Constraint[] {
  return (texts ?? []).filter((t) => t.trim() !== '').map(parseConstraint);
}

/** A stable key for a set of constraints: metas with the same key share a candidate pool. */
export function constraintsKey(constraints: readonly Constraint[]): string {
  return constraints
    .map((c) => c.source.replace(/\s+/g, ''))
    .sort()
    .join('\n');
}

function fieldValue(field: Field, node: ConstraintTarget): string | undefined {
  switch (field.kind) {
    case 'id':
      return node.id;
    case 'hostname':
      return node.hostname;
    case 'ip':
      return node.ip;
    case 'os':
      return node.os;
    case 'arch':
      return node.arch;
    case 'nodeLabel':
      return node.labels[field.name];
    case 'engineLabel':
      return node.engineLabels[field.name];
  }
}

function matches(constraint: Constraint, node: ConstraintTarget): boolean {
  const actual = fieldValue(constraint.field, node);
  if (actual === undefined) return false;
  const { matcher } = constraint;
  switch (matcher.kind) {
    case 'exact':
      // Host names are case-insensitive; everything else compares exactly.
      return constraint.field.kind === 'hostname'
        ? actual.toLowerCase() === matcher.value.toLowerCase()
        : actual === matcher.value;
    case 'cidr': {
      const ip = parseIPv4(actual);
      return ip !== undefined && (ip & matcher.mask) >>> 0 === matcher.network;
    }
  }
}

/** Whether a node satisfies one constraint (`!=` also holds when the field is absent). */
export function satisfies(constraint: Constraint, node: ConstraintTarget): boolean {
  return constraint.negate ? !matches(constraint, node) : matches(constraint, node);
}

/** Whether a node satisfies every constraint. */
export function satisfiesAll(constraints: readonly Constraint[], node: ConstraintTarget): boolean {
  for (const c of constraints) if (!satisfies(c, node)) return false;
  return true;
}
