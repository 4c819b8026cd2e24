/**
 * Docker's log and attach streams read as they arrive: the multiplexed frame format (8-byte headers
 * naming stdout or stderr) split incrementally, and timestamped log lines. Pure functions.
 */

export type OutputStream = 'stdout' | 'stderr';

/** One piece of output as Docker framed it. */
export interface OutputChunk {
  stream: OutputStream;
  data: Buffer;
}

/**
 * The chunks of a multiplexed stream (a TTY's output is not multiplexed: pass `tty`, and every chunk
 * is stdout). A frame split across reads is joined first; stdin frames (type 0) count as stdout.
 */
export async function* demuxChunks(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  tty: boolean,
): AsyncGenerator<OutputChunk> {
  let pending = Buffer.alloc(0);
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw);
    if (tty) {
      yield { stream: 'stdout', data: chunk };
      continue;
    }
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      yield { stream: pending[0] === 2 ? 'stderr' : 'stdout', data: pending.subarray(8, 8 + size) };
      pending = pending.subarray(8 + size);
    }
  }
}

/** One line of a container's output with Docker's timestamp (RFC 3339 with nanoseconds). */
export interface TimedLine {
  at: string;
  stream: OutputStream;
  line: string;
}

/**
 * The lines of `chunks` (from a log stream asked with `timestamps`), each as soon as its newline
 * arrives; a TTY's trailing `\r` is dropped. A last line without a newline is given at the end.
 */
export async function* timedLines(chunks: AsyncIterable<OutputChunk>): AsyncGenerator<TimedLine> {
  const partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  for await (const { stream, data } of chunks) {
    let text = partial[stream] + decoders[stream].decode(data, { stream: true });
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      yield parseTimed(text.slice(0, nl), stream);
      text = text.slice(nl + 1);
    }
    partial[stream] = text;
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    if (partial[stream]) yield parseTimed(partial[stream], stream);
  }
}

function parseTimed(raw: string, stream: OutputStream): TimedLine {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const space = text.indexOf(' ');
  const at = space > 0 ? text.slice(0, space) : text;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(at)) return { at: new Date().toISOString(), stream, line: text };
  return { at, stream, line: space > 0 ? text.slice(space + 1) : '' };
}
