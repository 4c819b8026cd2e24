import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ndjsonLines, ndjsonValues } from '../../agent/ndjson.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

const bytes = (...parts: string[]): Uint8Array[] => parts.map((p) => new TextEncoder().encode(p));

describe('ndjson', () => {
  it('yields each line once its newline arrives, whatever the chunking', async () => {
    const lines = await collect(ndjsonLines(Readable.from(bytes('{"a":', '1}\n{"b"', ':2}\n{"c":3}\n'))));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('skips blank keep-alive lines and trims \\r', async () => {
    const lines = await collect(ndjsonLines(Readable.from(bytes('\n\n{"a":1}\r\n  \n{"b":2}\n'))));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('keeps a character split across chunks whole', async () => {
    const all = new TextEncoder().encode('{"name":"café"}\n');
    const cut = all.indexOf(0xc3) + 1; // inside the two bytes of é
    const lines = await collect(ndjsonLines(Readable.from([all.subarray(0, cut), all.subarray(cut)])));
    expect(lines).toEqual(['{"name":"café"}']);
  });

  it('reads a chunk of many lines, and its unfinished last line with the next chunk', async () => {
    const values = Array.from({ length: 5000 }, (_, i) => `{"i":${i}}`);
    const first = values.join('\n') + '\n{"i":50';
    const lines = await collect(ndjsonLines(Readable.from(bytes(first, '00}\n'))));
    expect(lines).toEqual([...values, '{"i":5000}']);
  });

  it('drops a fragment the stream was cut in', async () => {
    expect(await collect(ndjsonLines(Readable.from(bytes('{"a":1}\n{"b":'))))).toEqual(['{"a":1}']);
  });

  it('reads a web stream (a fetch body) into JSON values', async () => {
    const body = new Response('{"Action":"start"}\n\n{"Action":"die"}\n').body!;
    expect(await collect(ndjsonValues<{ Action: string }>(body))).toEqual([
      { Action: 'start' },
      { Action: 'die' },
    ]);
  });

  it('fails on a line that is not JSON', async () => {
    await expect(collect(ndjsonValues(Readable.from(bytes('{"a":1}\nnope\n'))))).rejects.toThrow(SyntaxError);
  });
});
