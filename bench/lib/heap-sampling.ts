/**
 * V8's sampling heap profiler on this process (node:inspector): over a stretch of a bench, the
 * memory still live at its end by the function that allocated it (self size), a cheap view of where
 * a heap grows that a full snapshot (heap-summary.ts) shows by constructor instead.
 */
import { Session, type HeapProfiler } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

export interface AllocationEntry {
  mb: number;
  where: string;
}

export class HeapSampling {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('HeapProfiler.enable');
    // One sample per 64 KB allocated on average: cheap enough to leave on over a cache load.
    await this.session.post('HeapProfiler.startSampling', { samplingInterval: 64 * 1024 });
  }

  /** Stops; the `top` functions by live bytes they allocated (`saveTo`: a .heapprofile for DevTools). */
  async stop(top = 15, saveTo?: string): Promise<AllocationEntry[]> {
    const { profile } = await this.session.post('HeapProfiler.stopSampling');
    this.session.disconnect();
    if (saveTo) writeFileSync(saveTo, JSON.stringify(profile));
    const self = new Map<string, number>();
    const walk = (n: HeapProfiler.SamplingHeapProfileNode): void => {
      const f = n.callFrame;
      const file = f.url.split('/').slice(-2).join('/');
      const where = `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
      self.set(where, (self.get(where) ?? 0) + n.selfSize);
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    return [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, bytes]) => ({ mb: bytes / 2 ** 20, where }));
  }
}
