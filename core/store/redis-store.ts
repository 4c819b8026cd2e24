import { Redis, type RedisOptions } from 'ioredis';
import { componentLogger, logger as rootLogger, type Logger } from '../logger.js';
import { REDIS_CLIENT_OPTIONS } from '../redis-client.js';
import {
  AuditEntryTooLargeError,
  DEFAULT_AUDIT_LIMIT,
  DEFAULT_AUDIT_MAX_BYTES,
  StoreConflictError,
  type AttemptLimit,
  type AttemptOutcome,
  type AuditEntry,
  type CollectionName,
  type Collections,
  type Store,
} from './store.js';
import {
  USAGE_RESOLUTION,
  USAGE_RANGES,
  decodeUsage,
  encodeUsage,
  usageSpanMs,
  type UsageRange,
  type UsageSample,
  type UsageWrite,
} from './usage.js';

export interface RedisStoreOptions {
  /** Prefix of every key the store uses. @default 'hb:' */
  keyPrefix?: string | undefined;
  /** Newest audit entries kept. @default 10_000 */
  auditLimit?: number | undefined;
  /** Bytes of audit entries (as JSON) kept at most. @default 16 MiB */
  auditMaxBytes?: number | undefined;
  /** Attempts of one `update` under contention before it gives up. @default 200 */
  maxUpdateAttempts?: number | undefined;
  /** Extra ioredis options (the URL wins for host, port, auth and db). */
  redisOptions?: RedisOptions | undefined;
  logger?: Logger | undefined;
}

// Compare-and-set of one hash field (KEYS[1] the hash, ARGV[1] the field): writes ARGV[3] (or deletes,
// when it is empty) only if the field still holds ARGV[2] ('' meaning absent). Documents are JSON,
// never the empty string.
const CAS_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur == false then cur = '' end
if cur ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1
`;

// Audit: KEYS[1] sequence, KEYS[2] zset id -> sequence, KEYS[3] hash id -> JSON, KEYS[4] the bytes of
// every JSON in KEYS[3]; ARGV[1] id, ARGV[2] JSON, ARGV[3] entry limit, ARGV[4] byte limit.
// A log written before the byte count existed is measured once.
const AUDIT_APPEND_SCRIPT = `
if redis.call('EXISTS', KEYS[4]) == 0 then
  local total = 0
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    total = total + redis.call('HSTRLEN', KEYS[3], id)
  end
  redis.call('SET', KEYS[4], total)
end
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
local bytes = redis.call('INCRBY', KEYS[4], string.len(ARGV[2]))
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
  for _, id in ipairs(old) do bytes = bytes - redis.call('HSTRLEN', KEYS[3], id) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
  redis.call('HDEL', KEYS[3], unpack(old))
  redis.call('SET', KEYS[4], bytes)
end
local max = tonumber(ARGV[4])
while bytes > max do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  bytes = redis.call('DECRBY', KEYS[4], redis.call('HSTRLEN', KEYS[3], oldest))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
  redis.call('HDEL', KEYS[3], oldest)
end
return seq
`;

// Usage: KEYS[1] a series' sorted set (score: at); ARGV[1] at, ARGV[2] the encoded point, ARGV[3] the
// range's span in ms, ARGV[4] its point count. Mirrors withSample in usage.ts.
const USAGE_ADD_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', newest - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

// Attempts: KEYS one hash per key (n = count, at = time of the last counted attempt, exp = when it is
// forgotten, by the callers' clock; the Redis expiry only collects it); ARGV[1] now, then free, base
// delay, max delay and window for each key. Mirrors attempt-counters.ts.
const COUNT_ATTEMPT_SCRIPT = `
local now = tonumber(ARGV[1])
local function delay(i, n)
  local free = tonumber(ARGV[4 * i - 2])
  if n < free then return 0 end
  return math.min(tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i - 1]) * 2 ^ (n - free))
end
local wait = 0
local counts = {1}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'n', 'at', 'exp')
  local n = tonumber(state[1])
  if n and now >= tonumber(state[3]) then n = nil end
  if n then wait = math.max(wait, tonumber(state[2]) + delay(i, n) - now) end
  counts[i + 1] = n or 0
end
if wait > 0 then return {0, math.ceil(wait)} end
for i, key in ipairs(KEYS) do
  local n = counts[i + 1] + 1
  local keep = delay(i, n) + tonumber(ARGV[4 * i + 1])
  redis.call('HSET', key, 'n', n, 'at', ARGV[1], 'exp', string.format('%d', now + keep))
  redis.call('PEXPIRE', key, string.format('%d', math.ceil(keep)))
  counts[i + 1] = n
end
return counts
`;

// KEYS[1..ARGV[1]] are reset, the rest released.
const SETTLE_ATTEMPT_SCRIPT = `
local resets = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if i <= resets then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    if redis.call('HINCRBY', key, 'n', -1) <= 0 then redis.call('DEL', key) end
  end
end
return 0
`;

// ARGV[1] limit, ARGV[2] id of the entry to page before ('' for the newest).
const AUDIT_LIST_SCRIPT = `
local max = '+inf'
if ARGV[2] ~= '' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if score == false then return {} end
  max = '(' .. score
end
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'LIMIT', 0, tonumber(ARGV[1]))
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
`;

/** Fields per HSET/HDEL command in bulk writes, to keep single commands small. */
const CHUNK = 500;

/**
 * The production store: one Redis hash per collection (`<prefix>c:<collection>`, field id → JSON), the
 * audit log as a sorted set plus hash capped in entries and bytes, login attempt counters as hashes
 * that expire (`<prefix>attempt:<key>`). Several gateways may share it.
 *
 * Durability is Redis's: run it with `appendonly yes` (AOF), otherwise a Redis restart loses desired
 * state. `open` logs a warning when `CONFIG GET appendonly` says no.
 */
export class RedisStore implements Store {
  /** Prefix of every key this store uses. */
  readonly keyPrefix: string;
  private readonly auditLimit: number;
  private readonly auditMaxBytes: number;
  private readonly maxUpdateAttempts: number;

  private get commands(): CasCommands {
    return this.redis as unknown as CasCommands;
  }

  private constructor(
    private readonly redis: Redis,
    options: RedisStoreOptions,
  ) {
    this.keyPrefix = options.keyPrefix ?? 'hb:';
    this.auditLimit = options.auditLimit ?? DEFAULT_AUDIT_LIMIT;
    this.auditMaxBytes = options.auditMaxBytes ?? DEFAULT_AUDIT_MAX_BYTES;
    this.maxUpdateAttempts = options.maxUpdateAttempts ?? 200;
    redis.defineCommand('hbCas', { numberOfKeys: 1, lua: CAS_SCRIPT });
    redis.defineCommand('hbAuditAppend', { numberOfKeys: 4, lua: AUDIT_APPEND_SCRIPT });
    redis.defineCommand('hbAuditList', { numberOfKeys: 2, lua: AUDIT_LIST_SCRIPT });
    redis.defineCommand('hbUsageAdd', { numberOfKeys: 1, lua: USAGE_ADD_SCRIPT });
    // Key counts vary per call: given with each call.
    redis.defineCommand('hbCountAttempt', { lua: COUNT_ATTEMPT_SCRIPT });
    redis.defineCommand('hbSettleAttempt', { lua: SETTLE_ATTEMPT_SCRIPT });
  }

  /** Connects (failing if Redis cannot be reached) and checks the persistence setting. */
  static async open(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const log = componentLogger(options.logger ?? rootLogger, 'redis-store');
    const redis = new Redis(url, { ...REDIS_CLIENT_OPTIONS, ...options.redisOptions });
    let lastError: Error | undefined;
    redis.on('error', (err: Error) => {
      lastError = err;
      log.warn({ err: err.message }, 'redis connection error');
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      // connect() only says "Connection is closed"; the error event has the reason (ECONNREFUSED, ...).
      const reason = (lastError ?? (err as Error)).message;
      throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${reason}`, { cause: err });
    }
    try {
      const reply = (await redis.call('CONFIG', 'GET', 'appendonly')) as string[];
      if (reply[1] === 'no') {
        log.warn(
          { url: redactUrl(url) },
          'Redis runs without AOF (appendonly no): desired state may be lost when Redis restarts; set appendonly yes',
        );
      }
    } catch {
      // CONFIG is often disabled on managed Redis; nothing to check then.
    }
    return new RedisStore(redis, options);
  }

  isConnected(): boolean {
    return this.redis.status === 'ready';
  }

  private key(collection: CollectionName): string {
    return `${this.keyPrefix}c:${collection}`;
  }

  async get<C extends CollectionName>(collection: C, id: string): Promise<Collections[C] | undefined> {
    const text = await this.redis.hget(this.key(collection), id);
    return text === null ? undefined : (JSON.parse(text) as Collections[C]);
  }

  async list<C extends CollectionName>(collection: C): Promise<Collections[C][]> {
    // HGETALL is one consistent snapshot; a 5,000-container hash is a few hundred kB.
    const all = await this.redis.hgetall(this.key(collection));
    return Object.values(all).map((t) => JSON.parse(t) as Collections[C]);
  }

  async create<C extends CollectionName>(collection: C, id: string, doc: Collections[C]): Promise<void> {
    const created = await this.redis.hsetnx(this.key(collection), id, JSON.stringify(doc));
    if (created === 0) throw new StoreConflictError(collection, id);
  }

  async put<C extends CollectionName>(collection: C, id: string, doc: Collections[C]): Promise<void> {
    await this.redis.hset(this.key(collection), id, JSON.stringify(doc));
  }

  async putMany<C extends CollectionName>(
    collection: C,
    docs: ReadonlyArray<readonly [string, Collections[C]]>,
  ): Promise<void> {
    if (docs.length === 0) return;
    const key = this.key(collection);
    const chunks: string[][] = [];
    for (let i = 0; i < docs.length; i += CHUNK) {
      const args: string[] = [];
      for (const [id, doc] of docs.slice(i, i + CHUNK)) args.push(id, JSON.stringify(doc));
      chunks.push(args);
    }
    // One command is atomic by itself; MULTI (and the objects ioredis makes for it) only for several.
    if (chunks.length === 1) {
      await this.redis.hset(key, ...chunks[0]!);
      return;
    }
    const multi = this.redis.multi();
    for (const args of chunks) multi.hset(key, ...args);
    checkExec(await multi.exec());
  }

  async update<C extends CollectionName>(
    collection: C,
    id: string,
    fn: (current: Collections[C] | undefined) => Collections[C] | undefined,
  ): Promise<Collections[C] | undefined> {
    const key = this.key(collection);
    for (let attempt = 0; attempt < this.maxUpdateAttempts; attempt++) {
      const before = await this.redis.hget(key, id);
      const next = fn(before === null ? undefined : (JSON.parse(before) as Collections[C]));
      const after = next === undefined ? '' : JSON.stringify(next);
      if (before === null && after === '') return undefined;
      const ok = await this.commands.hbCas(key, id, before ?? '', after);
      if (ok === 1) return next === undefined ? undefined : (JSON.parse(after) as Collections[C]);
      // Lost the race: back off a little, with jitter so contenders spread out.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** Math.min(attempt, 6))));
    }
    throw new Error(
      `update of ${collection} ${id} gave up after ${this.maxUpdateAttempts} attempts under contention`,
    );
  }

  async delete(collection: CollectionName, id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key(collection), id)) > 0;
  }

  async deleteMany(collection: CollectionName, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const key = this.key(collection);
    if (ids.length <= CHUNK) {
      await this.redis.hdel(key, ...ids);
      return;
    }
    const multi = this.redis.multi();
    for (let i = 0; i < ids.length; i += CHUNK) multi.hdel(key, ...ids.slice(i, i + CHUNK));
    checkExec(await multi.exec());
  }

  async clear(collection: CollectionName): Promise<void> {
    // UNLINK frees a large hash in the background instead of blocking Redis.
    await this.redis.unlink(this.key(collection));
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    const json = JSON.stringify(entry);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.auditMaxBytes) throw new AuditEntryTooLargeError(bytes, this.auditMaxBytes);
    await this.commands.hbAuditAppend(
      `${this.keyPrefix}audit:seq`,
      `${this.keyPrefix}audit:order`,
      `${this.keyPrefix}audit:entries`,
      `${this.keyPrefix}audit:bytes`,
      entry.id,
      json,
      String(this.auditLimit),
      String(this.auditMaxBytes),
    );
  }

  /** Newest first; `before` is the id of an entry, and only older entries are returned (none if unknown). */
  async listAudit(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]> {
    if (options.limit <= 0) return [];
    const texts = await this.commands.hbAuditList(
      `${this.keyPrefix}audit:order`,
      `${this.keyPrefix}audit:entries`,
      String(options.limit),
      options.before ?? '',
    );
    return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as AuditEntry);
  }

  async countAttempt(limits: readonly AttemptLimit[], now: number): Promise<AttemptOutcome> {
    if (limits.length === 0) return { outcome: 'counted', counts: [] };
    const args: Array<string | number> = [now];
    for (const l of limits) args.push(l.free, l.baseDelayMs, l.maxDelayMs, l.windowMs);
    const reply = await this.commands.hbCountAttempt(
      limits.length,
      ...limits.map((l) => this.attemptKey(l.key)),
      ...args,
    );
    if (reply[0] === 0) return { outcome: 'wait', retryAfterMs: reply[1]! };
    return { outcome: 'counted', counts: reply.slice(1) };
  }

  async settleAttempt(keys: { reset: readonly string[]; release: readonly string[] }): Promise<void> {
    const all = [...keys.reset, ...keys.release].map((k) => this.attemptKey(k));
    if (all.length === 0) return;
    await this.commands.hbSettleAttempt(all.length, ...all, keys.reset.length);
  }

  private attemptKey(key: string): string {
    return `${this.keyPrefix}attempt:${key}`;
  }

  private usageKey(series: string, range: UsageRange): string {
    return `${this.keyPrefix}usage:${range}:${series}`;
  }

  async addUsage(points: readonly UsageWrite[]): Promise<void> {
    if (points.length === 0) return;
    const pipeline = this.redis.pipeline() as unknown as UsagePipeline;
    for (const p of points) {
      pipeline.hbUsageAdd(
        this.usageKey(p.series, p.range),
        p.sample.at,
        encodeUsage(p.sample),
        usageSpanMs(p.range),
        USAGE_RESOLUTION[p.range].points,
      );
    }
    checkExec(await pipeline.exec());
  }

  async usageHistory(series: readonly string[], range: UsageRange, since: number): Promise<UsageSample[][]> {
    if (series.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const s of series) pipeline.zrangebyscore(this.usageKey(s, range), since, '+inf');
    const results = await pipeline.exec();
    checkExec(results);
    return results!.map(([, members]) => (members as string[]).map(decodeUsage));
  }

  async deleteUsage(series: readonly string[]): Promise<void> {
    if (series.length === 0) return;
    await this.redis.unlink(...series.flatMap((s) => USAGE_RANGES.map((r) => this.usageKey(s, r))));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

interface CasCommands {
  hbCas(key: string, field: string, expected: string, next: string): Promise<number>;
  hbAuditAppend(
    seqKey: string,
    orderKey: string,
    entriesKey: string,
    bytesKey: string,
    id: string,
    json: string,
    limit: string,
    maxBytes: string,
  ): Promise<number>;
  /** [0, retryAfterMs] or [1, ...counts]. */
  hbCountAttempt(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
  hbSettleAttempt(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<number>;
  hbAuditList(
    orderKey: string,
    entriesKey: string,
    limit: string,
    before: string,
  ): Promise<Array<string | null>>;
}

interface UsagePipeline {
  hbUsageAdd(key: string, at: number, member: string, spanMs: number, points: number): UsagePipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

function checkExec(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('Redis transaction was aborted');
  for (const [err] of results) if (err) throw err;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable Redis URL>';
  }
}
