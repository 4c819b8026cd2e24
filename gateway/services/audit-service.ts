import { randomBytes } from 'node:crypto';
import { logger as rootLogger, type Logger } from '../../core/logger.js';
import type { AuditEntry, Store } from '../../core/store/store.js';
import type { AuditService } from '../../core/services.js';

export interface AuditServiceOptions {
  /** Arguments of an entry larger than this (as JSON) are cut down, with a marker. @default 4096 */
  maxArgsBytes?: number | undefined;
  /** At most one entry summarising refused unauthenticated requests per interval. @default 60000 */
  refusalIntervalMs?: number | undefined;
  /** @default the root logger */
  logger?: Logger | undefined;
}

/** What marks a cut in audited arguments. */
export const TRUNCATED = '[truncated]';

const MAX_OPERATION = 100;
const MAX_ERROR = 1000;
/** Operations and client addresses named in one refusal summary; the rest are only counted. */
const MAX_NAMED = 10;

interface Refusals {
  since: number;
  requests: number;
  operations: Map<string, number>;
  codes: Map<string, number>;
  clients: Set<string>;
  otherClients: boolean;
}

/**
 * The audit log in the store. Entry ids sort by time, so `before` pages back through it. Every entry
 * is bounded in size (long arguments are cut down); requests refused before authentication are only
 * counted, and written as one summary per interval, so a flood of them cannot fill the log.
 */
export class StoreAuditService implements AuditService {
  private last = 0;
  private seq = 0;
  private readonly maxArgsBytes: number;
  private readonly refusalIntervalMs: number;
  private readonly logger: Logger;
  private refusals: Refusals | undefined;
  private lastRefusalWrite = -Infinity;
  private refusalTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    /** Milliseconds since the epoch. @default Date.now */
    private readonly now: () => number = Date.now,
    options: AuditServiceOptions = {},
  ) {
    this.maxArgsBytes = options.maxArgsBytes ?? 4096;
    this.refusalIntervalMs = options.refusalIntervalMs ?? 60_000;
    this.logger = options.logger ?? rootLogger;
  }

  async record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.append({
      ...entry,
      operation: cut(entry.operation, MAX_OPERATION),
      args: boundArgs(entry.args, this.maxArgsBytes),
      ...(entry.error === undefined ? {} : { error: cut(entry.error, MAX_ERROR) }),
    });
  }

  /**
   * Counts a request refused before its caller was authenticated. The first refusal after a quiet
   * interval is written at once; later ones are summed into one entry written when the interval is
   * over.
   */
  async recordRefusal(refusal: { operation: string; code: string; clientKey: string }): Promise<void> {
    const now = this.now();
    const r = (this.refusals ??= {
      since: now,
      requests: 0,
      operations: new Map(),
      codes: new Map(),
      clients: new Set(),
      otherClients: false,
    });
    r.requests++;
    countNamed(r.operations, cut(refusal.operation, MAX_OPERATION));
    countNamed(r.codes, cut(refusal.code, MAX_OPERATION));
    const client = cut(refusal.clientKey, 64);
    if (r.clients.has(client) || r.clients.size < MAX_NAMED) r.clients.add(client);
    else r.otherClients = true;
    const wait = this.lastRefusalWrite + this.refusalIntervalMs - now;
    if (wait <= 0) return this.flushRefusals();
    this.refusalTimer ??= setTimeout(
      () => {
        this.flushRefusals().catch((err: unknown) =>
          this.logger.error({ err }, 'could not write the summary of refused requests to the audit log'),
        );
      },
      Math.min(wait, this.refusalIntervalMs),
    ).unref();
  }

  list(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]> {
    return this.store.listAudit(options);
  }

  private async flushRefusals(): Promise<void> {
    clearTimeout(this.refusalTimer);
    this.refusalTimer = undefined;
    const r = this.refusals;
    if (!r) return;
    this.refusals = undefined;
    this.lastRefusalWrite = this.now();
    const operations = [...r.operations.keys()];
    const clients = [...r.clients].join(', ') + (r.otherClients ? ' and others' : '');
    await this.append({
      userId: null,
      operation: operations.length === 1 ? operations[0]! : 'unauthenticated requests',
      args: {
        refused: r.requests,
        since: new Date(r.since).toISOString(),
        operations: Object.fromEntries(r.operations),
        codes: Object.fromEntries(r.codes),
        clients: [...r.clients],
        ...(r.otherClients ? { otherClients: true } : {}),
      },
      outcome: 'error',
      error: `${r.requests} request(s) refused before authentication (${[...r.codes.keys()].join(', ')}) from ${clients}`,
    });
  }

  private async append(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    const at = this.now();
    this.seq = at === this.last ? this.seq + 1 : 0;
    this.last = at;
    // time (ms, base 36, fixed width) + a per-millisecond sequence + randomness across gateways
    const id = `${at.toString(36).padStart(9, '0')}-${this.seq.toString(36).padStart(3, '0')}-${randomBytes(3).toString('hex')}`;
    await this.store.appendAudit({ ...entry, id, at: new Date(at).toISOString() });
  }
}

function countNamed(counts: Map<string, number>, name: string): void {
  const key = counts.has(name) || counts.size < MAX_NAMED ? name : 'other';
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…${TRUNCATED}`;
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * `args` when its JSON fits in `maxBytes`; otherwise a copy with long strings, long lists and big
 * objects cut down, each cut marked with TRUNCATED and what was left out; when even that is too big,
 * only a note of the size.
 */
export function boundArgs(args: Record<string, unknown>, maxBytes: number): Record<string, unknown> {
  const bytes = jsonBytes(args);
  if (bytes <= maxBytes) return args;
  for (const [maxString, maxItems] of [
    [256, 16],
    [32, 4],
  ] as const) {
    const shrunk = shrink(args, maxString, maxItems, 0) as Record<string, unknown>;
    if (jsonBytes(shrunk) <= maxBytes) return shrunk;
  }
  return { [TRUNCATED]: `arguments of ${bytes} bytes` };
}

function shrink(value: unknown, maxString: number, maxItems: number, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length <= maxString
      ? value
      : `${value.slice(0, maxString)}…${TRUNCATED} ${value.length - maxString} more characters`;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 8) return TRUNCATED;
  if (Array.isArray(value)) {
    const kept = value.slice(0, maxItems).map((v) => shrink(v, maxString, maxItems, depth + 1));
    if (value.length > maxItems) kept.push(`${TRUNCATED} ${value.length - maxItems} more items`);
    return kept;
  }
  const entries = Object.entries(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, maxItems * 2)) {
    out[cut(k, maxString)] = shrink(v, maxString, maxItems, depth + 1);
  }
  if (entries.length > maxItems * 2) out[TRUNCATED] = `${entries.length - maxItems * 2} more keys`;
  return out;
}
