/**
 * Newline-delimited JSON read from a byte stream: the agent's reading of Docker's event stream and the
 * client's reading of the agent's, both through these two generators.
 */

/**
 * The non-blank lines of `source`, trimmed, each as soon as its newline arrives. A stream cut in the
 * middle of a line drops that fragment: a half-received value is not one.
 */
export async function* ndjsonLines(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of source) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    // Lines are cut from a position and the rest kept once per chunk, not the buffer cut after each
    // line: a chunk of 100 or more lines (a reader that fell behind) is read 2-3 times faster.
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n', start)) >= 0) {
      const line = buf.slice(start, nl).trim();
      start = nl + 1;
      if (line) yield line;
    }
    if (start > 0) buf = buf.slice(start);
  }
}

/** The values of `source`, one JSON value per line (blank keep-alive lines skipped). */
export async function* ndjsonValues<T>(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<T> {
  for await (const line of ndjsonLines(source)) yield JSON.parse(line) as T;
}
