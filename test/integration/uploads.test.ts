// POST /uploads on a real gateway over HTTP: streamed to disk, owned by its user, limited in size.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/main.js';
import { gatewayConfig, startTestGateway, TempDirs, TestClient } from './gateway-harness.js';

const dirs = new TempDirs();
let dataDir: string;
let gateway: RunningGateway;
let admin: TestClient;
let uploadsUrl: string;

async function post(
  body: Buffer | ReadableStream<Uint8Array> | undefined,
  token: string | undefined,
): Promise<Response> {
  return fetch(uploadsUrl, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
}

/** A body of `size` bytes sent in chunks, with no Content-Length (as a streaming client sends it). */
function chunked(size: number): ReadableStream<Uint8Array> {
  return Readable.toWeb(
    Readable.from(
      (function* () {
        for (let sent = 0; sent < size; sent += 64 * 1024)
          yield Buffer.alloc(Math.min(64 * 1024, size - sent), 7);
      })(),
    ),
  ) as ReadableStream<Uint8Array>;
}

const filesOnDisk = async (): Promise<string[]> => readdir(path.join(dataDir, 'uploads'));

beforeAll(async () => {
  dataDir = dirs.make('hb-uploads-');
  gateway = await startTestGateway({
    config: gatewayConfig({ HUMPBACK_DATA_DIR: dataDir, HUMPBACK_UPLOAD_MAX_MB: '1' }),
    cluster: false,
  });
  uploadsUrl = gateway.url.replace(/\/graphql$/, '/uploads');
  admin = new TestClient(gateway.url);
  await admin.login();
});

afterAll(async () => {
  await gateway?.close();
  dirs.cleanup();
});

describe('POST /uploads', () => {
  it('stores the body and answers 201 with its id, size and SHA-256; only its owner can open it', async () => {
    const body = Buffer.from('a tar, or something like it\n'.repeat(1000));
    const res = await post(body, admin.token);
    expect(res.status).toBe(201);
    const info = (await res.json()) as { uploadId: string; sizeBytes: number; sha256: string };
    expect(info).toEqual({
      uploadId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sizeBytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    const uploads = gateway.core.uploads;
    const opened = await uploads.open(
      info.uploadId,
      (await admin.request<{ me: { id: string } }>('{ me { id } }')).me.id,
    );
    const chunks: Buffer[] = [];
    for await (const chunk of opened.read()) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    await expect(uploads.open(info.uploadId, 'someone-else')).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'uploadId' },
    });
    await uploads.discard(info.uploadId);
    expect(await filesOnDisk()).toEqual([]);
  });

  it('refuses a request without a valid token with 401', async () => {
    expect((await post(Buffer.from('x'), undefined)).status).toBe(401);
    expect((await post(Buffer.from('x'), 'not-a-token')).status).toBe(401);
    expect(await filesOnDisk()).toEqual([]);
  });

  it('refuses a body over HUMPBACK_UPLOAD_MAX_MB with 413 and leaves nothing on disk', async () => {
    const declared = await post(Buffer.alloc(1024 * 1024 + 1), admin.token);
    expect(declared.status).toBe(413);
    const streamed = await post(chunked(3 * 1024 * 1024), admin.token);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toContain(
      'HUMPBACK_UPLOAD_MAX_MB',
    );
    expect(await filesOnDisk()).toEqual([]);
    // exactly the limit is fine
    const full = await post(chunked(1024 * 1024), admin.token);
    expect(full.status).toBe(201);
    const { uploadId } = (await full.json()) as { uploadId: string };
    await gateway.core.uploads.discard(uploadId);
  });
});
