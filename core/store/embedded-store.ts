import { mkdirSync, realpathSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { componentLogger, logger as rootLogger, type Logger } from '../logger.js';
import { AttemptCounters } from './attempt-counters.js';
import { EmbeddedUsage } from './embedded-usage.js';
import type { UsageRange, UsageSample, UsageWrite } from './usage.js';
import {
  AuditEntryTooLargeError,
  auditEntryBytes,
  CACHE_COLLECTIONS,
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

export interface EmbeddedStoreOptions {
  /**
   * Compact (write a snapshot, start a new journal) once the journal grows past this many bytes and
   * past the size of the last snapshot. @default 8 MiB
   */
  compactBytes?: number | undefined;
  /** Also compact this often when the journal is not empty; 0 disables. @default 300_000 (5 min) */
  compactIntervalMs?: number | undefined;
  /** Newest audit entries kept. @default 10_000 */
  auditLimit?: number | undefined;
  /** Bytes of audit entries (as JSON) kept at most. @default 16 MiB */
  auditMaxBytes?: number | undefined;
  logger?: Logger | undefined;
}

/** Thrown by `EmbeddedStore.open` when another process (or this one) already has the directory open. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `data directory ${dir} is in use by process ${pid}` +
        (pid === process.pid ? ' (this process)' : '') +
        '; stop that process or set HUMPBACK_DATA_DIR to another directory',
    );
    this.name = 'DataDirLockedError';
  }
}

/** Thrown on open when a journal or snapshot is damaged beyond a torn last line. */
export class StoreCorruptError extends Error {
  constructor(file: string, detail: string) {
    super(`embedded store file ${file} is damaged: ${detail}`);
    this.name = 'StoreCorruptError';
  }
}

type JournalOp =
  | { op: 'put'; c: CollectionName; id: string; doc: unknown }
  | { op: 'putMany'; c: CollectionName; docs: Array<[string, unknown]> }
  | { op: 'del'; c: CollectionName; ids: string[] }
  | { op: 'clear'; c: CollectionName }
  | { op: 'audit'; e: AuditEntry };

interface Snapshot {
  version: 1;
  /** The state includes every journal with a smaller generation. */
  gen: number;
  collections: Partial<Record<CollectionName, Record<string, unknown>>>;
  audit: AuditEntry[];
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits must not become an unhandled rejection; the store is poisoned anyway.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const LOCK_FILE = 'store.lock';
/** Journal, snapshot and lock: readable by the owner only. */
const FILE_MODE = 0o600;
const SNAPSHOT_FILE = 'snapshot.json';
const JOURNAL_RE = /^journal-(\d+)\.jsonl$/;
const journalName = (gen: number): string => `journal-${String(gen).padStart(10, '0')}.jsonl`;

/** Directories open in this process: a second open is refused even though the lock's pid is alive. */
const openDirs = new Set<string>();

const cacheCollections = new Set<CollectionName>(CACHE_COLLECTIONS);

/**
 * The store of `humpback up`: everything in memory, desired state persisted to `dir` so it survives
 * kill -9 and power loss.
 *
 * Files: `journal-<gen>.jsonl` (one JSON operation per line, appended and fdatasync'd before a write
 * resolves; concurrent writes share one fsync), `snapshot.json` (the state up to a journal generation,
 * replaced atomically: temp file, fsync, rename, fsync of the directory) and `store.lock` (the pid of
 * the owning process). Opening loads the snapshot, replays newer journals and drops a torn last line.
 *
 * Cache collections (CACHE_COLLECTIONS) and the login attempt counters live in memory only (a restart
 * forgets the counters). Documents are kept as JSON text, so what
 * reads return is a fresh copy with the same shape Redis would give back. Reads of persisted
 * collections wait until every write they might observe is durable.
 */
export class EmbeddedStore implements Store {
  private readonly data = new Map<CollectionName, Map<string, string>>();
  private audit: AuditEntry[] = [];
  /** The size of each entry of `audit` (auditEntryBytes), and their sum. */
  private auditSizes: number[] = [];
  private auditBytes = 0;
  private readonly attempts = new AttemptCounters();
  /** Usage history (kept apart from the journal: see EmbeddedUsage). */
  private usage!: EmbeddedUsage;
  private readonly compactBytes: number;
  private readonly auditLimit: number;
  private readonly auditMaxBytes: number;
  private readonly log: Logger;

  /** Operations applied in memory and not yet handed to the journal. */
  private queue: string[] = [];
  /** The batch `queue` will be written in. */
  private nextBatch = deferred();
  /** Sequence of the last applied persistent write, and of the last one known to be durable. */
  private appliedSeq = 0;
  private durableSeq = 0;
  private inflight: { seq: number; done: Deferred } | undefined;
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private compactRequested = false;
  /** Size of the last snapshot written or loaded. */
  private snapshotBytes = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly dir: string,
    private journal: FileHandle,
    private gen: number,
    private journalSize: number,
    options: EmbeddedStoreOptions,
  ) {
    this.compactBytes = options.compactBytes ?? 8 * 1024 * 1024;
    this.auditLimit = options.auditLimit ?? DEFAULT_AUDIT_LIMIT;
    this.auditMaxBytes = options.auditMaxBytes ?? DEFAULT_AUDIT_MAX_BYTES;
    this.log = componentLogger(options.logger ?? rootLogger, 'embedded-store', { dir });
    const interval = options.compactIntervalMs ?? 300_000;
    if (interval > 0) {
      this.timer = setInterval(() => {
        if (this.journalSize > 0) this.requestCompaction();
      }, interval);
      this.timer.unref();
    }
  }

  /** Opens (creating if needed) the store in `dir`; refuses a directory another process has open. */
  static async open(dir: string, options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    // Password hashes and webhook secrets live here: owner only.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The real path, so `dir`, `./dir` and a symlink to it count as one directory.
    const abs = realpathSync(resolve(dir));
    if (openDirs.has(abs)) throw new DataDirLockedError(abs, process.pid);
    openDirs.add(abs);
    let locked = false;
    try {
      await acquireLock(abs);
      locked = true;
      const state = await loadState(abs, options.logger ?? rootLogger);
      const journalPath = join(abs, journalName(state.gen));
      const journal = await open(journalPath, 'a', FILE_MODE);
      await fsyncDir(abs);
      const size = (await journal.stat()).size;
      const store = new EmbeddedStore(abs, journal, state.gen, size, options);
      for (const [c, docs] of Object.entries(state.collections)) {
        store.data.set(
          c as CollectionName,
          new Map(Object.entries(docs).map(([id, doc]) => [id, JSON.stringify(doc)])),
        );
      }
      store.loadAudit(state.audit);
      store.usage = await EmbeddedUsage.load(abs, store.log);
      store.snapshotBytes = state.snapshotBytes;
      if (size >= Math.max(store.compactBytes, store.snapshotBytes)) store.requestCompaction();
      return store;
    } catch (err) {
      openDirs.delete(abs);
      if (locked) await rm(join(abs, LOCK_FILE), { force: true });
      throw err;
    }
  }

  async get<C extends CollectionName>(collection: C, id: string): Promise<Collections[C] | undefined> {
    this.assertOpen();
    const text = this.coll(collection).get(id);
    await this.readBarrier(collection);
    return text === undefined ? undefined : (JSON.parse(text) as Collections[C]);
  }

  async list<C extends CollectionName>(collection: C): Promise<Collections[C][]> {
    this.assertOpen();
    const texts = [...this.coll(collection).values()];
    await this.readBarrier(collection);
    return texts.map((t) => JSON.parse(t) as Collections[C]);
  }

  async create<C extends CollectionName>(collection: C, id: string, doc: Collections[C]): Promise<void> {
    this.assertOpen();
    const docs = this.coll(collection);
    if (docs.has(id)) {
      await this.readBarrier(collection);
      throw new StoreConflictError(collection, id);
    }
    const text = JSON.stringify(doc);
    docs.set(id, text);
    await this.journalOp(
      collection,
      () => `{"op":"put","c":${JSON.stringify(collection)},"id":${JSON.stringify(id)},"doc":${text}}`,
    );
  }

  async put<C extends CollectionName>(collection: C, id: string, doc: Collections[C]): Promise<void> {
    this.assertOpen();
    const text = JSON.stringify(doc);
    this.coll(collection).set(id, text);
    await this.journalOp(
      collection,
      () => `{"op":"put","c":${JSON.stringify(collection)},"id":${JSON.stringify(id)},"doc":${text}}`,
    );
  }

  async putMany<C extends CollectionName>(
    collection: C,
    docs: ReadonlyArray<readonly [string, Collections[C]]>,
  ): Promise<void> {
    this.assertOpen();
    if (docs.length === 0) return;
    const map = this.coll(collection);
    const texts = docs.map(([id, doc]) => [id, JSON.stringify(doc)] as const);
    for (const [id, text] of texts) map.set(id, text);
    await this.journalOp(
      collection,
      () =>
        `{"op":"putMany","c":${JSON.stringify(collection)},"docs":[${texts.map(([id, t]) => `[${JSON.stringify(id)},${t}]`).join(',')}]}`,
    );
  }

  async update<C extends CollectionName>(
    collection: C,
    id: string,
    fn: (current: Collections[C] | undefined) => Collections[C] | undefined,
  ): Promise<Collections[C] | undefined> {
    this.assertOpen();
    // Read, fn and write happen in one turn of the event loop, so no other write can interleave.
    const docs = this.coll(collection);
    const before = docs.get(id);
    const next = fn(before === undefined ? undefined : (JSON.parse(before) as Collections[C]));
    if (next === undefined) {
      if (before !== undefined) {
        docs.delete(id);
        await this.journalOp(collection, () =>
          JSON.stringify({ op: 'del', c: collection, ids: [id] } satisfies JournalOp),
        );
      } else {
        await this.readBarrier(collection);
      }
      return undefined;
    }
    const text = JSON.stringify(next);
    docs.set(id, text);
    await this.journalOp(
      collection,
      () => `{"op":"put","c":${JSON.stringify(collection)},"id":${JSON.stringify(id)},"doc":${text}}`,
    );
    return JSON.parse(text) as Collections[C];
  }

  async delete(collection: CollectionName, id: string): Promise<boolean> {
    this.assertOpen();
    const deleted = this.coll(collection).delete(id);
    if (deleted) {
      await this.journalOp(collection, () =>
        JSON.stringify({ op: 'del', c: collection, ids: [id] } satisfies JournalOp),
      );
    } else {
      await this.readBarrier(collection);
    }
    return deleted;
  }

  async deleteMany(collection: CollectionName, ids: readonly string[]): Promise<void> {
    this.assertOpen();
    const docs = this.coll(collection);
    const deleted = ids.filter((id) => docs.delete(id));
    if (deleted.length === 0) return this.readBarrier(collection);
    await this.journalOp(collection, () =>
      JSON.stringify({ op: 'del', c: collection, ids: deleted } satisfies JournalOp),
    );
  }

  async clear(collection: CollectionName): Promise<void> {
    this.assertOpen();
    this.data.delete(collection);
    await this.journalOp(collection, () =>
      JSON.stringify({ op: 'clear', c: collection } satisfies JournalOp),
    );
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.assertOpen();
    const text = JSON.stringify(entry);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.auditMaxBytes) throw new AuditEntryTooLargeError(bytes, this.auditMaxBytes);
    this.pushAudit(JSON.parse(text) as AuditEntry, bytes);
    await this.enqueue(`{"op":"audit","e":${text}}`);
  }

  /** Newest first; `before` is the id of an entry, and only older entries are returned (none if unknown). */
  async listAudit(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]> {
    this.assertOpen();
    let end = this.audit.length;
    if (options.before !== undefined) {
      end = this.audit.findLastIndex((e) => e.id === options.before);
      if (end < 0) end = 0;
    }
    const start = Math.max(0, end - Math.max(0, options.limit));
    const page = this.audit.slice(start, end).reverse();
    await this.waitDurable(this.appliedSeq);
    return page.map((e) => JSON.parse(JSON.stringify(e)) as AuditEntry);
  }

  async countAttempt(limits: readonly AttemptLimit[], now: number): Promise<AttemptOutcome> {
    this.assertOpen();
    return this.attempts.count(limits, now);
  }

  async settleAttempt(keys: { reset: readonly string[]; release: readonly string[] }): Promise<void> {
    this.assertOpen();
    this.attempts.settle(keys);
  }

  async addUsage(points: readonly UsageWrite[]): Promise<void> {
    this.assertOpen();
    this.usage.add(points);
  }

  async usageHistory(series: readonly string[], range: UsageRange, since: number): Promise<UsageSample[][]> {
    this.assertOpen();
    return this.usage.history(series, range, since);
  }

  async deleteUsage(series: readonly string[]): Promise<void> {
    this.assertOpen();
    this.usage.delete(series);
  }

  /**
   * Writes what is pending, compacts, releases the directory. Does not throw for an earlier journal
   * failure: the writes it failed were rejected already.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      if (this.failure === undefined && this.journalSize > 0) this.compactRequested = true;
      this.kick();
      while (this.flushing) await this.flushing.catch(() => undefined);
      await this.usage.close();
    } finally {
      await this.journal.close().catch(() => undefined);
      await rm(join(this.dir, LOCK_FILE), { force: true });
      openDirs.delete(this.dir);
    }
  }

  /** Resolves once everything written so far is durable (also compacts when `compact` is set). */
  async flush(options: { compact?: boolean } = {}): Promise<void> {
    this.assertOpen();
    if (options.compact) this.requestCompaction();
    await this.waitDurable(this.appliedSeq);
    if (options.compact) while (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
  }

  private coll(collection: CollectionName): Map<string, string> {
    let docs = this.data.get(collection);
    if (!docs) {
      docs = new Map();
      this.data.set(collection, docs);
    }
    return docs;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`embedded store ${this.dir} is closed`);
    // After a failed journal write memory may hold what the disk does not: refuse to go on.
    if (this.failure) throw this.failure;
  }

  private pushAudit(entry: AuditEntry, bytes: number): void {
    this.audit.push(entry);
    this.auditSizes.push(bytes);
    this.auditBytes += bytes;
    // Trim in chunks so appends stay O(1) amortised: past the entry limit by a sixteenth, or past the
    // byte limit (which is never exceeded) down to fifteen sixteenths of it.
    if (this.audit.length > this.auditLimit + Math.max(16, this.auditLimit >> 4)) {
      this.trimAudit(this.auditMaxBytes);
    } else if (this.auditBytes > this.auditMaxBytes) {
      this.trimAudit(this.auditMaxBytes - (this.auditMaxBytes >> 4));
    }
  }

  /** Drops the oldest entries down to the entry limit and to at most `maxBytes`. */
  private trimAudit(maxBytes: number): void {
    let drop = Math.max(0, this.audit.length - this.auditLimit);
    for (let i = 0; i < drop; i++) this.auditBytes -= this.auditSizes[i]!;
    while (drop < this.audit.length && this.auditBytes > maxBytes)
      this.auditBytes -= this.auditSizes[drop++]!;
    if (drop === 0) return;
    this.audit = this.audit.slice(drop);
    this.auditSizes = this.auditSizes.slice(drop);
  }

  /** The log as loaded from the files, within the limits (which may be lower than when it was written). */
  private loadAudit(entries: AuditEntry[]): void {
    this.audit = entries;
    this.auditSizes = entries.map(auditEntryBytes);
    this.auditBytes = this.auditSizes.reduce((a, b) => a + b, 0);
    this.trimAudit(this.auditMaxBytes);
  }

  private async journalOp(collection: CollectionName, line: () => string): Promise<void> {
    if (cacheCollections.has(collection)) return;
    await this.enqueue(line());
  }

  private enqueue(line: string): Promise<void> {
    this.queue.push(line);
    const seq = ++this.appliedSeq;
    this.kick();
    return this.waitDurable(seq);
  }

  private async readBarrier(collection: CollectionName): Promise<void> {
    if (cacheCollections.has(collection)) return;
    await this.waitDurable(this.appliedSeq);
  }

  private waitDurable(seq: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (seq <= this.durableSeq) return Promise.resolve();
    if (this.inflight && seq <= this.inflight.seq) return this.inflight.done.promise;
    return this.nextBatch.promise;
  }

  private requestCompaction(): void {
    if (this.failure || this.closed) return;
    this.compactRequested = true;
    this.kick();
  }

  private kick(): void {
    if (this.flushing) return;
    if (this.queue.length === 0 && !this.compactRequested) return;
    // Failures reach callers through the batch promises; the loop's own rejection is not needed.
    this.flushing = this.flushLoop()
      .catch(() => undefined)
      .finally(() => {
        this.flushing = undefined;
        // Something may have arrived between the loop's last check and now.
        if (!this.failure && (this.queue.length > 0 || this.compactRequested)) this.kick();
      });
  }

  private async flushLoop(): Promise<void> {
    // Let the current turn of the event loop add its writes, so they share one fsync.
    await new Promise<void>((r) => setImmediate(r));
    while (!this.failure && (this.queue.length > 0 || this.compactRequested)) {
      const compact = this.compactRequested;
      this.compactRequested = false;
      // Taken in one synchronous step: the batch plus the durable state is exactly the memory state.
      const lines = this.queue;
      const done = this.nextBatch;
      this.queue = [];
      this.nextBatch = deferred();
      const seq = this.appliedSeq;
      const snapshot = compact ? this.serialize(this.gen + 1) : undefined;
      this.inflight = { seq, done };
      try {
        if (lines.length > 0) {
          const text = lines.join('\n') + '\n';
          // appendFile loops over short writes; O_APPEND puts every byte at the end.
          await this.journal.appendFile(text);
          await this.journal.datasync();
          this.journalSize += Buffer.byteLength(text);
          // Compacting only once the journal outgrows the snapshot keeps rewriting cost linear.
          if (this.journalSize >= Math.max(this.compactBytes, this.snapshotBytes))
            this.compactRequested = true;
        }
        this.durableSeq = seq;
        this.inflight = undefined;
        done.resolve();
      } catch (err) {
        const error = new Error(
          `embedded store ${this.dir}: journal write failed; the store refuses further use until the process restarts`,
          {
            cause: err,
          },
        );
        this.log.error({ err }, 'journal write failed; restart the process to recover from the files');
        this.failure = error;
        this.inflight = undefined;
        done.reject(error);
        this.nextBatch.reject(error);
        throw error;
      }
      if (snapshot !== undefined) {
        try {
          await this.compact(snapshot);
        } catch (err) {
          // Every step leaves a replayable set of files, so a failed compaction only costs disk space.
          this.log.error({ err }, 'compaction failed; will retry later');
        }
      }
    }
  }

  private serialize(gen: number): string {
    // Built from the stored JSON text directly: no parse and re-stringify of every document.
    const parts: string[] = [];
    for (const [c, docs] of this.data) {
      if (cacheCollections.has(c) || docs.size === 0) continue;
      const entries: string[] = [];
      for (const [id, text] of docs) entries.push(`${JSON.stringify(id)}:${text}`);
      parts.push(`${JSON.stringify(c)}:{${entries.join(',')}}`);
    }
    const audit = JSON.stringify(this.audit.slice(-this.auditLimit));
    return `{"version":1,"gen":${gen},"collections":{${parts.join(',')}},"audit":${audit}}`;
  }

  /**
   * Starts journal gen+1, writes the snapshot of everything before it, then drops older journals.
   * A crash at any point leaves either the old snapshot plus both journals or the new one plus the new
   * journal, and replaying either gives the same state.
   */
  private async compact(snapshot: string): Promise<void> {
    const nextGen = this.gen + 1;
    const journal = await open(join(this.dir, journalName(nextGen)), 'a', FILE_MODE);
    await fsyncDir(this.dir);
    const old = this.journal;
    this.journal = journal;
    this.gen = nextGen;
    this.journalSize = 0;
    await old.close();
    await writeFileAtomic(this.dir, SNAPSHOT_FILE, snapshot);
    this.snapshotBytes = Buffer.byteLength(snapshot);
    await removeOldJournals(this.dir, nextGen);
    this.log.debug({ gen: nextGen, bytes: snapshot.length }, 'compacted');
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

async function writeFileAtomic(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `${name}.tmp-${process.pid}`);
  const fd = await open(tmp, 'w', FILE_MODE);
  try {
    await fd.writeFile(text);
    await fd.sync();
  } finally {
    await fd.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

async function removeOldJournals(dir: string, keepFrom: number): Promise<void> {
  for (const name of await readdir(dir)) {
    const m = JOURNAL_RE.exec(name);
    if (m && Number(m[1]) < keepFrom) await rm(join(dir, name), { force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `store.lock`. A lock left by a process that is gone (kill -9) is taken over; so is one with this
 * process's own pid (a container restarted with the same pid), since `openDirs` guards this process.
 */
async function acquireLock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = await open(path, 'wx', FILE_MODE);
      try {
        await fd.writeFile(`${process.pid}\n`);
        await fd.sync();
      } finally {
        await fd.close();
      }
      await fsyncDir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    const pid = Number.parseInt(text, 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
      throw new DataDirLockedError(dir, pid);
    }
    if (!Number.isInteger(pid) || pid <= 0) {
      // A lock being written right now looks empty: give its writer a moment before calling it stale.
      const age = Date.now() - (await stat(path).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
      if (age < 1000) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
    }
    await rm(path, { force: true });
  }
  throw new Error(`could not take the lock ${path}`);
}

interface LoadedState {
  gen: number;
  collections: Partial<Record<CollectionName, Record<string, unknown>>>;
  audit: AuditEntry[];
  snapshotBytes: number;
}

async function loadState(dir: string, log: Logger): Promise<LoadedState> {
  let snapshot: Snapshot = { version: 1, gen: 1, collections: {}, audit: [] };
  const snapshotPath = join(dir, SNAPSHOT_FILE);
  const snapshotText = await readFile(snapshotPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (snapshotText !== undefined) {
    try {
      snapshot = JSON.parse(snapshotText) as Snapshot;
    } catch (err) {
      // The snapshot is only ever replaced by rename, so a bad one is real damage, not a torn write.
      throw new StoreCorruptError(snapshotPath, (err as Error).message);
    }
    if (snapshot.version !== 1)
      throw new StoreCorruptError(snapshotPath, `unknown version ${String(snapshot.version)}`);
  }
  const state: LoadedState = {
    gen: snapshot.gen,
    collections: snapshot.collections,
    audit: snapshot.audit,
    snapshotBytes: snapshotText === undefined ? 0 : Buffer.byteLength(snapshotText),
  };
  const gens = (await readdir(dir))
    .map((name) => JOURNAL_RE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const name of await readdir(dir)) {
    if (name.startsWith(`${SNAPSHOT_FILE}.tmp-`)) await rm(join(dir, name), { force: true });
  }
  for (const gen of gens) {
    if (gen < snapshot.gen) {
      await rm(join(dir, journalName(gen)), { force: true });
      continue;
    }
    await replayJournal(join(dir, journalName(gen)), state, log);
    state.gen = gen;
  }
  return state;
}

async function replayJournal(path: string, state: LoadedState, log: Logger): Promise<void> {
  const buf = await readFile(path);
  let offset = 0;
  let lineNo = 0;
  while (offset < buf.length) {
    const nl = buf.indexOf(0x0a, offset);
    const end = nl < 0 ? buf.length : nl;
    lineNo++;
    let op: JournalOp | undefined;
    try {
      op = JSON.parse(buf.subarray(offset, end).toString('utf8')) as JournalOp;
    } catch {
      op = undefined;
    }
    if (op === undefined || nl < 0) {
      // A torn write: only acceptable if nothing valid follows. Cut it off so appends start clean.
      const rest = buf.subarray(nl < 0 ? buf.length : nl + 1).toString('utf8');
      const laterValid = rest.split('\n').some((l) => {
        try {
          JSON.parse(l);
          return l.trim() !== '';
        } catch {
          return false;
        }
      });
      if (laterValid) throw new StoreCorruptError(path, `line ${lineNo} is not valid JSON`);
      log.warn({ path, line: lineNo, bytes: buf.length - offset }, 'dropping torn journal tail');
      const fd = await open(path, 'r+');
      try {
        await fd.truncate(offset);
        await fd.sync();
      } finally {
        await fd.close();
      }
      return;
    }
    applyOp(state, op);
    offset = end + 1;
  }
}

function applyOp(state: LoadedState, op: JournalOp): void {
  const coll = (c: CollectionName): Record<string, unknown> => (state.collections[c] ??= {});
  switch (op.op) {
    case 'put':
      coll(op.c)[op.id] = op.doc;
      return;
    case 'putMany': {
      const docs = coll(op.c);
      for (const [id, doc] of op.docs) docs[id] = doc;
      return;
    }
    case 'del': {
      const docs = coll(op.c);
      for (const id of op.ids) delete docs[id];
      return;
    }
    case 'clear':
      state.collections[op.c] = {};
      return;
    case 'audit':
      state.audit.push(op.e);
      return;
    default: {
      const never: never = op;
      throw new Error(`unknown journal operation ${JSON.stringify(never)}`);
    }
  }
}
