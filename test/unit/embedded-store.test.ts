import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, EmbeddedStore, StoreCorruptError } from '../../core/store/embedded-store.js';
import { auditEntryBytes, type AuditEntry, type GroupRecord } from '../../core/store/store.js';

const now = '2026-11-22T03:00:00.000Z';
const group = (id: string): GroupRecord => ({
  id,
  name: id,
  clusterMode: false,
  servers: [],
  owners: [],
  createdAt: now,
  updatedAt: now,
});
const audit = (id: string): AuditEntry => ({
  id,
  at: now,
  userId: null,
  operation: 'op',
  args: {},
  outcome: 'ok',
});
const line = (op: unknown): string => `${JSON.stringify(op)}\n`;
const ids = (docs: Array<{ id: string }>): string[] => docs.map((d) => d.id).sort();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hb-embedded-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('EmbeddedStore files', () => {
  it('journals each write, and releases the lock on close', async () => {
    const store = await EmbeddedStore.open(dir, { compactIntervalMs: 0 });
    expect(await files()).toEqual(['journal-0000000001.jsonl', 'store.lock']);
    expect((await readFile(join(dir, 'store.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await store.put('groups', 'g1', group('g1'));
    await store.put('containers', 'c1', {
      id: 'c1',
      name: 'c',
      nodeId: 'n',
      image: 'i',
      state: 'RUNNING',
      status: '',
      labels: {},
      createdAt: now,
    });
    const journal = await readFile(join(dir, 'journal-0000000001.jsonl'), 'utf8');
    // Cache collections never reach the disk.
    expect(
      journal
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([{ op: 'put', c: 'groups', id: 'g1', doc: group('g1') }]);
    await store.close();
    await store.close();
    expect(await files()).toEqual(['journal-0000000002.jsonl', 'snapshot.json']);
    // Password hashes and webhook secrets: owner only.
    for (const name of await files()) expect((await stat(join(dir, name))).mode & 0o077, name).toBe(0);
    const fresh = join(dir, 'fresh');
    await (await EmbeddedStore.open(fresh)).close();
    expect((await stat(fresh)).mode & 0o077).toBe(0);
  });

  it('journals every one of 1000 concurrent writes (grouped fsyncs)', async () => {
    const store = await EmbeddedStore.open(dir, { compactIntervalMs: 0 });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.put('groups', `g${i}`, group(`g${i}`))));
    const journal = await readFile(join(dir, 'journal-0000000001.jsonl'), 'utf8');
    expect(journal.trim().split('\n')).toHaveLength(1000);
    await store.close();
    const again = await EmbeddedStore.open(dir);
    expect(await again.list('groups')).toHaveLength(1000);
    await again.close();
  });

  it('compacts into a snapshot and a new journal once the journal is big enough', async () => {
    const store = await EmbeddedStore.open(dir, { compactBytes: 2048, compactIntervalMs: 0 });
    for (let i = 0; i < 200; i++)
      await store.put('groups', `g${i % 50}`, { ...group(`g${i % 50}`), name: `n${i}` });
    await store.delete('groups', 'g0');
    await store.flush({ compact: true });
    const names = await files();
    expect(names).toContain('snapshot.json');
    expect(names.filter((n) => n.startsWith('journal-'))).toHaveLength(1);
    const snapshot = JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as { gen: number };
    expect(names).toContain(`journal-${String(snapshot.gen).padStart(10, '0')}.jsonl`);
    await store.put('groups', 'after', group('after'));
    // A crash image: the files as they are now, lock included. Its pid is this process's, as after a
    // container restart, and the copy is not open here, so the lock is taken over.
    const image = await mkdtemp(join(tmpdir(), 'hb-embedded-crash-'));
    await cp(dir, image, { recursive: true });
    await store.close();
    const reopened = await EmbeddedStore.open(image, { compactIntervalMs: 0 });
    const groups = await reopened.list('groups');
    expect(groups).toHaveLength(50);
    expect(groups.find((g) => g.id === 'g49')?.name).toBe('n199');
    expect(groups.find((g) => g.id === 'g0')).toBeUndefined();
    await reopened.close();
    await rm(image, { recursive: true, force: true });
  });

  it('recovers from a crash in the middle of a compaction', async () => {
    // Snapshot of generation 2; journal 1 is older (already in it), journals 2 and 3 are newer, and a
    // half-written temporary snapshot lies around.
    await writeFile(
      join(dir, 'snapshot.json'),
      JSON.stringify({
        version: 1,
        gen: 2,
        collections: { groups: { a: group('a') } },
        audit: [audit('e1')],
      }),
    );
    await writeFile(
      join(dir, 'journal-0000000001.jsonl'),
      line({ op: 'put', c: 'groups', id: 'stale', doc: group('stale') }),
    );
    await writeFile(
      join(dir, 'journal-0000000002.jsonl'),
      line({ op: 'put', c: 'groups', id: 'b', doc: group('b') }) + line({ op: 'audit', e: audit('e2') }),
    );
    await writeFile(
      join(dir, 'journal-0000000003.jsonl'),
      line({ op: 'putMany', c: 'groups', docs: [['c', group('c')]] }) +
        line({ op: 'del', c: 'groups', ids: ['a'] }),
    );
    await writeFile(join(dir, 'snapshot.json.tmp-12345'), '{"version":1,"gen":3,"coll');
    const store = await EmbeddedStore.open(dir, { compactIntervalMs: 0 });
    expect(ids(await store.list('groups'))).toEqual(['b', 'c']);
    expect((await store.listAudit({ limit: 10 })).map((e) => e.id)).toEqual(['e2', 'e1']);
    expect(await files()).toEqual([
      'journal-0000000002.jsonl',
      'journal-0000000003.jsonl',
      'snapshot.json',
      'store.lock',
    ]);
    // New writes go to the newest journal.
    await store.put('groups', 'd', group('d'));
    expect(await readFile(join(dir, 'journal-0000000003.jsonl'), 'utf8')).toContain('"id":"d"');
    await store.close();
  });

  it('cuts a torn tail, including trailing garbage lines, so later appends start clean', async () => {
    await writeFile(
      join(dir, 'journal-0000000001.jsonl'),
      line({ op: 'put', c: 'groups', id: 'a', doc: group('a') }) + '{"op":"put","c":"gro\n\0\0\0\0',
    );
    const store = await EmbeddedStore.open(dir, { compactIntervalMs: 0 });
    expect(ids(await store.list('groups'))).toEqual(['a']);
    await store.put('groups', 'b', group('b'));
    const journal = await readFile(join(dir, 'journal-0000000001.jsonl'), 'utf8');
    expect(
      journal
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(['a', 'b']);
    await store.close();
  });

  it('refuses a journal damaged before its last line', async () => {
    await writeFile(
      join(dir, 'journal-0000000001.jsonl'),
      line({ op: 'put', c: 'groups', id: 'a', doc: group('a') }) +
        'garbage\n' +
        line({ op: 'put', c: 'groups', id: 'b', doc: group('b') }),
    );
    await expect(EmbeddedStore.open(dir)).rejects.toBeInstanceOf(StoreCorruptError);
    // The failed open released the directory.
    expect(await files()).toEqual(['journal-0000000001.jsonl']);
  });

  it('refuses a damaged snapshot', async () => {
    await writeFile(join(dir, 'snapshot.json'), '{"version":1,"gen":2,');
    await expect(EmbeddedStore.open(dir)).rejects.toThrow(/snapshot.json is damaged/);
  });

  it('keeps the capped audit log across reopen', async () => {
    const store = await EmbeddedStore.open(dir, { auditLimit: 10, compactIntervalMs: 0 });
    for (let i = 0; i < 50; i++) await store.appendAudit(audit(`e${i}`));
    await store.close();
    const again = await EmbeddedStore.open(dir, { auditLimit: 10 });
    const listed = (await again.listAudit({ limit: 100 })).map((e) => e.id);
    expect(listed).toEqual(Array.from({ length: 10 }, (_, i) => `e${49 - i}`));
    await again.close();
  });
});

describe('EmbeddedStore audit bytes', () => {
  it('keeps the audit log within its byte limit after a reopen with a lower one', async () => {
    const store = await EmbeddedStore.open(dir, { compactIntervalMs: 0 });
    const padded = (id: string): AuditEntry => ({ ...audit(id), args: { pad: 'x'.repeat(1000) } });
    for (let i = 0; i < 50; i++) await store.appendAudit(padded(`e${i}`));
    await store.close();
    const again = await EmbeddedStore.open(dir, { auditMaxBytes: 5000 });
    const listed = await again.listAudit({ limit: 100 });
    expect(listed.reduce((n, e) => n + auditEntryBytes(e), 0)).toBeLessThanOrEqual(5000);
    expect(listed.map((e) => e.id)).toEqual(['e49', 'e48', 'e47', 'e46']);
    await again.close();
  });
});

describe('EmbeddedStore lock', () => {
  it('takes over a lock left by a process that is gone', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await writeFile(join(dir, 'store.lock'), `${dead.stdout}\n`);
    const store = await EmbeddedStore.open(dir);
    expect((await readFile(join(dir, 'store.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await store.close();
    expect(existsSync(join(dir, 'store.lock'))).toBe(false);
  });

  it('refuses a lock held by a live process, naming it', async () => {
    await writeFile(join(dir, 'store.lock'), `${process.ppid}\n`);
    const err = await EmbeddedStore.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as Error).message).toContain(`in use by process ${process.ppid}`);
    expect((err as Error).message).toContain('HUMPBACK_DATA_DIR');
    // The other process's lock is left alone.
    expect((await readFile(join(dir, 'store.lock'), 'utf8')).trim()).toBe(String(process.ppid));
  });
});

describe('EmbeddedStore failures', () => {
  it('refuses further use after a failed journal write, keeping what was acknowledged', async () => {
    const store = await EmbeddedStore.open(dir, { compactIntervalMs: 0 });
    await store.put('groups', 'a', group('a'));
    await (store as unknown as { journal: { close(): Promise<void> } }).journal.close();
    await expect(store.put('groups', 'b', group('b'))).rejects.toThrow(/journal write failed/);
    await expect(store.put('groups', 'c', group('c'))).rejects.toThrow(/refuses further use/);
    await expect(store.get('groups', 'a')).rejects.toThrow(/refuses further use/);
    await store.close();
    // What was acknowledged is on disk; the failed write is not.
    const again = await EmbeddedStore.open(dir);
    expect(ids(await again.list('groups'))).toEqual(['a']);
    await again.close();
  });

  it('rejects everything after close', async () => {
    const store = await EmbeddedStore.open(dir);
    await store.close();
    await expect(store.get('groups', 'a')).rejects.toThrow(/closed/);
    await expect(store.appendAudit(audit('x'))).rejects.toThrow(/closed/);
  });
});
