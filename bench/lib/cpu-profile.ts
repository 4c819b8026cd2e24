/**
 * A CPU profile of this process over a stretch of a bench (node:inspector), summarised as the
 * functions with the most self time; optionally saved as a .cpuprofile for Chrome DevTools.
 */
import { Session, type Profiler } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

export interface ProfileEntry {
  /** Share of the samples, in percent. */
  percent: number;
  where: string;
}

export class CpuProfile {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 500 });
    await this.session.post('Profiler.start');
  }

  /** Stops; the `top` functions by self time (idle included, so the shares are of wall time). */
  async stop(top = 15, saveTo?: string): Promise<ProfileEntry[]> {
    const { profile } = await this.session.post('Profiler.stop');
    this.session.disconnect();
    if (saveTo) writeFileSync(saveTo, JSON.stringify(profile));
    return summarise(profile, top);
  }
}

function summarise(profile: Profiler.Profile, top: number): ProfileEntry[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const frame = nodes.get(samples[i]!)?.callFrame;
    if (!frame) continue;
    const file = frame.url.split('/').slice(-2).join('/');
    const where = `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
    const dt = deltas[i] ?? 0;
    self.set(where, (self.get(where) ?? 0) + dt);
    total += dt;
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, t]) => ({ percent: (t / Math.max(1, total)) * 100, where }));
}
