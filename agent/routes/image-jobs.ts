/**
 * The image job routes, under `/image-jobs`: `build` and `load` take a tar body (streamed to Docker),
 * `commit`, `push` and `pull` a JSON body. Each answers NDJSON: Docker's progress messages as they
 * come, then one last line, `{"result":{"image","id"}}` or `{"failed":"<Docker's words>"}`.
 * Credentials come as `X-Registry-Auth` (push, pull) or `X-Registry-Config` (a build's FROM images).
 */
import { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import {
  decodeRegistryAuth,
  REGISTRY_AUTH_HEADER,
  type RegistryCredentials,
} from '../../core/registry-auth.js';
import { isImageRef } from '../../core/image-ref.js';
import { dockerMessage } from '../docker-runtime.js';
import { badRequest, HttpError } from '../http-error.js';
import type { ImageJobOps, JobStream } from '../image-job-ops.js';
import { ndjsonLines } from '../ndjson.js';
import { parse, parseQuery } from './params.js';

const imageRef = z.string().refine(isImageRef, 'an image reference such as registry:5000/app:1');
const buildQuery = z.object({
  tag: imageRef,
  dockerfile: z.string().min(1).max(4096).optional(),
  buildargs: z.string().optional(),
});
const commitBody = z.object({ Container: z.string().min(1), Tag: imageRef });
const imageBody = z.object({ Image: imageRef });
const buildArgs = z.record(z.string(), z.string());
const registryConfig = z.record(
  z.string(),
  z.object({ username: z.string(), password: z.string(), serveraddress: z.string().default('') }),
);

/** One Docker progress message, as the engine sends them. */
interface DockerMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

function registryConfigOf(req: Request): Record<string, RegistryCredentials> | undefined {
  const header = req.headers['x-registry-config'];
  if (typeof header !== 'string' || !header) return undefined;
  try {
    return registryConfig.parse(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')));
  } catch {
    throw badRequest('X-Registry-Config is not base64 JSON of {host: {username, password}}');
  }
}

/** Starts the NDJSON answer and passes Docker's messages on; the last line says how it ended. */
async function relay(
  res: Response,
  start: () => Promise<JobStream | NodeJS.ReadableStream>,
  onMessage?: (m: DockerMessage) => void,
  finish?: () => Promise<{ image: string; id?: string | undefined }>,
): Promise<void> {
  res.status(200).type('application/x-ndjson');
  res.flushHeaders();
  const line = (v: unknown): boolean => res.write(`${JSON.stringify(v)}\n`);
  try {
    const job = await start();
    const progress = 'progress' in job ? job.progress : job;
    let failed: string | undefined;
    for await (const text of ndjsonLines(progress as AsyncIterable<Uint8Array>)) {
      let m: DockerMessage;
      try {
        m = JSON.parse(text) as DockerMessage;
      } catch {
        m = { stream: text };
      }
      if (m.error || m.errorDetail) failed = m.errorDetail?.message ?? m.error ?? 'failed';
      onMessage?.(m);
      if (!line(m)) await new Promise((resolve) => res.once('drain', resolve));
    }
    if (failed !== undefined) line({ failed });
    else line({ result: await ('result' in job ? job.result() : finish!()) });
  } catch (err) {
    line({ failed: err instanceof HttpError ? err.detail || err.message : dockerMessage(err) });
  }
  res.end();
}

export function imageJobRoutes(jobs: ImageJobOps): Router {
  const r = Router();
  r.post('/image-jobs/build', async (req, res) => {
    const q = parseQuery(buildQuery, req);
    let args: Record<string, string> | undefined;
    try {
      args = q.buildargs ? buildArgs.parse(JSON.parse(q.buildargs)) : undefined;
    } catch {
      throw badRequest('buildargs must be JSON of {name: value}');
    }
    const config = registryConfigOf(req);
    await relay(res, () =>
      jobs.build(req, { tag: q.tag, dockerfile: q.dockerfile, buildArgs: args, registryConfig: config }),
    );
  });
  r.post('/image-jobs/load', async (req, res) => {
    const loaded: string[] = [];
    await relay(
      res,
      () => jobs.load(req),
      (m) => {
        const named = /^Loaded image(?: ID)?: (\S+)/.exec(m.stream ?? '');
        if (named) loaded.push(named[1]!);
      },
      async () => {
        if (!loaded[0]) throw badRequest('the tar held no image (is it a `docker save` archive?)');
        return jobs.imageResult(loaded[0]);
      },
    );
  });
  r.post('/image-jobs/commit', async (req, res) => {
    const body = parse(commitBody, req.body, 'body');
    await relay(
      res,
      async () => Readable.from([]),
      undefined,
      () => jobs.commit(body.Container, body.Tag),
    );
  });
  r.post('/image-jobs/push', async (req, res) => {
    const { Image } = parse(imageBody, req.body, 'body');
    await relay(res, () => jobs.push(Image, decodeRegistryAuth(req.headers[REGISTRY_AUTH_HEADER])));
  });
  r.post('/image-jobs/pull', async (req, res) => {
    const { Image } = parse(imageBody, req.body, 'body');
    await relay(res, () => jobs.pull(Image, decodeRegistryAuth(req.headers[REGISTRY_AUTH_HEADER])));
  });
  return r;
}
