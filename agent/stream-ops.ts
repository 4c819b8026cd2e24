/**
 * The agent's long-lived container streams: logs that follow (with Docker's timestamps), stats that
 * follow (one sample per Docker reading), and exec sessions (created here, attached by
 * exec-socket.ts). Each stream lasts until Docker ends it or `signal` aborts.
 */
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { z } from 'zod';
import type { ContainerStatsBody, LogLineBody, createExecBody, logStreamQuery } from '../core/agent-wire.js';
import { toStatsBody } from './container-mapping.js';
import { dockerCall, toHttpError } from './docker-runtime.js';
import { demuxChunks, timedLines } from './log-frames.js';
import { ndjsonValues } from './ndjson.js';

type Stream = NodeJS.ReadableStream & { destroy?: () => void };

/** Ends `stream` when `signal` aborts. */
function cutOnAbort(stream: Stream, signal: AbortSignal): void {
  const cut = (): void => stream.destroy?.();
  if (signal.aborted) cut();
  else signal.addEventListener('abort', cut, { once: true });
}

export class StreamOps {
  constructor(private readonly docker: Docker) {}

  private async inspect(id: string): Promise<Docker.ContainerInspectInfo> {
    return dockerCall(`container ${id}`, () => this.docker.getContainer(id).inspect());
  }

  /**
   * The container's output lines from `tail`/`since`, following new ones when `follow`, as
   * LogLineBody values. Opening fails as an HttpError before anything is answered.
   */
  async logs(
    id: string,
    q: z.output<typeof logStreamQuery>,
    signal: AbortSignal,
  ): Promise<AsyncIterable<LogLineBody>> {
    const info = await this.inspect(id);
    const raw = await dockerCall(`logs of container ${id}`, () =>
      this.docker.getContainer(info.Id).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        follow: q.follow,
        tail: q.tail === undefined || q.tail === 'all' ? 'all' : Number(q.tail),
        ...(q.since ? { since: Number(q.since) } : {}),
        abortSignal: signal,
      } as Docker.ContainerLogsOptions & { follow: true }),
    );
    const stream: Stream = Buffer.isBuffer(raw) ? Readable.from([raw]) : (raw as Stream);
    cutOnAbort(stream, signal);
    return (async function* () {
      for await (const l of timedLines(demuxChunks(stream as AsyncIterable<Buffer>, info.Config.Tty))) {
        yield { At: l.at, Stream: l.stream, Line: l.line };
      }
    })();
  }

  /** A running container's usage, one sample each time Docker reads it (about every second). */
  async stats(id: string, signal: AbortSignal): Promise<AsyncIterable<ContainerStatsBody>> {
    const info = await this.inspect(id);
    const name = info.Name.replace(/^\//, '');
    const stream = (await dockerCall(`stats of container ${id}`, () =>
      this.docker.getContainer(info.Id).stats({ stream: true, abortSignal: signal } as { stream: true }),
    )) as unknown as Stream;
    cutOnAbort(stream, signal);
    return (async function* () {
      for await (const s of ndjsonValues<Docker.ContainerStats>(stream as AsyncIterable<Buffer>)) {
        yield toStatsBody(info.Id, name, s);
      }
    })();
  }

  /** Creates an exec session (stdin, stdout and stderr attached) in a running container: its id. */
  async createExec(id: string, body: z.output<typeof createExecBody>): Promise<{ Id: string }> {
    const info = await this.inspect(id);
    if (!info.State.Running)
      throw toHttpError(
        { statusCode: 409, json: { message: 'container is not running' } },
        `exec in container ${id}`,
      );
    const exec = await dockerCall(`exec in container ${id}`, () =>
      this.docker.getContainer(info.Id).exec({
        Cmd: body.Cmd,
        Tty: body.Tty,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
      }),
    );
    return { Id: exec.id };
  }
}
