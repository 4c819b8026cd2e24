/**
 * The agent's edge to the Docker Engine: a dockerode client for DOCKER_ENDPOINT, Docker's errors
 * turned into HttpErrors, and the few stream helpers the ops need (pull, logs).
 */
import Docker from 'dockerode';
import type { RegistryCredentials } from '../core/registry-auth.js';
import { imageName, parseImageRef } from '../core/image-ref.js';
import { HttpError } from './http-error.js';

/**
 * A dockerode client for `unix:///path`, `tcp://host:port` or `http(s)://host:port`. No keep-alive
 * pool: bench/agent-overhead measured one to cost 10–20% on concurrent create+start over a unix
 * socket (without it the agent matches direct dockerode).
 */
export function createDocker(endpoint: string, apiVersion?: string): Docker {
  const version = apiVersion ? { version: apiVersion } : {};
  if (endpoint.startsWith('unix://'))
    return new Docker({ socketPath: endpoint.slice('unix://'.length), ...version });
  const url = new URL(endpoint.replace(/^tcp:/, 'http:'));
  return new Docker({
    ...version,
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  });
}

interface DockerodeError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True when the error means the engine did not answer at all. */
export function isDockerUnreachable(err: unknown): boolean {
  const code = (err as DockerodeError | undefined)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/** Docker's own message for an error, without dockerode's `(HTTP code ...)` prefix. */
export function dockerMessage(err: unknown): string {
  const e = err as DockerodeError;
  const m = e?.json?.message;
  if (typeof m === 'string' && m) return m;
  return String(e?.message ?? err)
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .trim();
}

/** Docker's HTTP status, when the engine answered. */
export function dockerStatus(err: unknown): number | undefined {
  const s = (err as DockerodeError | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Maps a dockerode error to what the agent answers: 503 unreachable, Docker's 4xx kept, else 500. */
export function toHttpError(err: unknown, what: string): HttpError {
  if (err instanceof HttpError) return err;
  if (isDockerUnreachable(err)) {
    return new HttpError(503, 'Docker Engine unreachable', `${what}: ${(err as Error).message}`);
  }
  const status = dockerStatus(err);
  const detail = dockerMessage(err);
  if (status === 404) return new HttpError(404, `${what}: not found`, detail);
  if (status === 409) return new HttpError(409, `${what}: conflict`, detail);
  if (status !== undefined && status >= 400 && status < 500)
    return new HttpError(status, `${what}: rejected by Docker`, detail);
  return new HttpError(500, `${what}: failed`, detail);
}

/** Runs one Docker call; its error becomes the agent's answer (toHttpError), `what` saying which call. */
export async function dockerCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toHttpError(err, what);
  }
}

/**
 * Pulls `ref` and waits for the pull to finish. A failed pull is an HttpError: 404 when the registry
 * has no such image (or will not say, as Docker Hub does for private repositories), 502 when the
 * registry failed or cannot be reached; an unreachable engine stays Docker's error (503 upstream).
 */
export async function pullImage(docker: Docker, ref: string, auth?: RegistryCredentials): Promise<void> {
  const parsed = parseImageRef(ref);
  try {
    const from = { fromImage: imageName(parsed), tag: parsed.digest ?? parsed.tag ?? 'latest' };
    // `auth` (the gateway's X-Registry-Auth) goes to Docker as its own X-Registry-Auth
    const stream = (await (auth
      ? docker.createImage(auth, from)
      : docker.createImage(from))) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
          if (err) return reject(err);
          const failed = output.find((o) => o.error || o.errorDetail);
          if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error ?? 'pull failed'));
          resolve();
        },
      );
    });
  } catch (err) {
    if (isDockerUnreachable(err)) throw err;
    throw pullFailure(ref, err);
  }
}

const NOT_IN_REGISTRY = /manifest unknown|not found|does not exist|pull access denied|unauthorized/i;

function pullFailure(ref: string, err: unknown): HttpError {
  const detail = dockerMessage(err);
  if (dockerStatus(err) === 404 || NOT_IN_REGISTRY.test(detail)) {
    return new HttpError(404, `pulling image ${ref}: not found in its registry (or access denied)`, detail);
  }
  return new HttpError(502, `pulling image ${ref}: the registry failed or cannot be reached`, detail);
}

/** Pulls the image unless the engine has it. */
export async function ensureImage(docker: Docker, ref: string, auth?: RegistryCredentials): Promise<void> {
  try {
    await docker.getImage(ref).inspect();
    return;
  } catch (err) {
    if (dockerStatus(err) !== 404) throw err;
  }
  await pullImage(docker, ref, auth);
}

/** Splits Docker's multiplexed log format (8-byte frame headers) into text; a TTY log is plain text. */
export function demuxLogs(buf: Buffer, tty: boolean): string {
  if (tty) return buf.toString('utf8');
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const type = buf[off]!;
    const size = buf.readUInt32BE(off + 4);
    if (type > 2 || buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) {
      // Not a frame header: the log is not multiplexed after all.
      return buf.toString('utf8');
    }
    parts.push(buf.subarray(off + 8, off + 8 + size));
    off += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
