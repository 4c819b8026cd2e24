/**
 * Memory after a full garbage collection, read from another Node process through its inspector
 * (started with `--inspect=127.0.0.1:<port>`): the Chrome DevTools protocol's
 * HeapProfiler.collectGarbage, then process.memoryUsage() evaluated there. A leak shows as a slope
 * in these figures; plain RSS samples swing by tens of MB with every collection.
 */
import WebSocket from 'ws';

export interface MemoryAfterGc {
  heapUsedMb: number;
  /** Memory of C++ objects bound to JS ones, Buffers among them. */
  externalMb: number;
  rssMb: number;
}

export interface InspectedProcess {
  memoryAfterGc(): Promise<MemoryAfterGc>;
  close(): void;
}

/** `--inspect=127.0.0.1:<port>` for NODE_OPTIONS, appended to what this process already has. */
export function inspectOption(port: number): string {
  return `${process.env['NODE_OPTIONS'] ?? ''} --inspect=127.0.0.1:${port}`.trim();
}

export async function connectInspector(port: number): Promise<InspectedProcess> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let seq = 0;
  const waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const w = msg.id === undefined ? undefined : waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id!);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  });
  const call = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async memoryAfterGc() {
      await call('HeapProfiler.collectGarbage');
      const r = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      const m = JSON.parse(r.result.value) as { heapUsed: number; external: number; rss: number };
      return { heapUsedMb: m.heapUsed / 2 ** 20, externalMb: m.external / 2 ** 20, rssMb: m.rss / 2 ** 20 };
    },
    close: () => ws.close(),
  };
}
