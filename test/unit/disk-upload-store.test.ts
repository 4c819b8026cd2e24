// The upload store's sweep on a real folder, with the time passed in.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logger } from '../../core/logger.js';
import { DiskUploadStore } from '../../gateway/uploads/disk-upload-store.js';

let dir: string;
let now: number;
let store: DiskUploadStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hb-upload-store-'));
  now = 1_000_000;
  store = await DiskUploadStore.open({ dir, maxBytes: 100, logger, maxAgeMs: 3_600_000, now: () => now });
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('DiskUploadStore', () => {
  it('deletes an upload not opened within an hour, and keeps one in use', async () => {
    const unused = await store.receive('u1', Readable.from([Buffer.from('one')]));
    const used = await store.receive('u1', Readable.from([Buffer.from('two')]));
    await store.open(used.uploadId, 'u1');
    now += 3_599_999;
    await store.sweep();
    expect((await readdir(dir)).length).toBe(4);
    now += 1;
    await store.sweep();
    expect((await readdir(dir)).sort()).toEqual([`${used.uploadId}.json`, `${used.uploadId}.tar`]);
    await expect(store.open(unused.uploadId, 'u1')).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'uploadId' },
    });
  });

  it('refuses a body over the limit and keeps nothing of it', async () => {
    await expect(store.receive('u1', Readable.from([Buffer.alloc(60), Buffer.alloc(60)]))).rejects.toThrow(
      'larger than 100 bytes',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('opens nothing for an id that is not an upload id', async () => {
    await expect(store.open('../../etc/passwd', 'u1')).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});
