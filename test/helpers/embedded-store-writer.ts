// Writes to an EmbeddedStore as fast as it can and prints every acknowledged write on stdout, one line
// each, until it is killed. Used by the crash-safety tests: `node --import tsx <this> <dir> [compactBytes]`.
import { writeSync } from 'node:fs';
import { EmbeddedStore } from '../../core/store/embedded-store.js';

const [dir, compactBytes] = process.argv.slice(2);
if (!dir) throw new Error('usage: embedded-store-writer.ts <dir> [compactBytes]');

const store = await EmbeddedStore.open(dir, {
  compactBytes: Number(compactBytes ?? 4096),
  compactIntervalMs: 0,
});
// fd 1 is a pipe: writeSync returns once the line is in the pipe, so an ack printed is an ack seen.
// The pipe may be non-blocking: while it is full (a busy reader), wait a millisecond and go on.
const pause = new Int32Array(new SharedArrayBuffer(4));
const say = (line: string): void => {
  const bytes = Buffer.from(`${line}\n`);
  for (let done = 0; done < bytes.length;) {
    try {
      done += writeSync(1, bytes, done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
};
say(`ready ${process.pid}`);

let next = 0;
async function worker(): Promise<void> {
  for (;;) {
    const i = next++;
    switch (i % 4) {
      case 0:
      case 1:
        await store.put('settings', `k${i}`, { id: `k${i}`, value: `v${i}` });
        say(`put k${i}`);
        break;
      case 2: {
        const doc = await store.update('settings', 'counter', (cur) => ({
          id: 'counter',
          value: String(Number(cur?.value ?? 0) + 1),
        }));
        say(`counter ${doc?.value}`);
        break;
      }
      default:
        await store.appendAudit({
          id: `a${i}`,
          at: new Date().toISOString(),
          userId: null,
          operation: 'write',
          args: { i },
          outcome: 'ok',
        });
        say(`audit a${i}`);
    }
  }
}

await Promise.all(Array.from({ length: 8 }, () => worker()));
