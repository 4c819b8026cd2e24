/**
 * Docker's progress messages (build, load, push, pull) turned into log lines and a 0..1 progress:
 * a build's `Step N/M`, a push's or pull's bytes over all layers. Pure; one tracker per job.
 */

/** One line of an agent's image job stream (agent/routes/image-jobs.ts). */
export interface JobMessage {
  stream?: string;
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { Tag?: string; Digest?: string; ID?: string };
  error?: string;
  errorDetail?: { message?: string };
  result?: { image: string; id?: string };
}

export class ProgressTracker {
  private readonly layers = new Map<string, { current: number; total: number }>();
  private last: number | undefined;

  /** The log lines of `m` and the progress when it changed by a percent or more. */
  next(m: JobMessage): { lines: string[]; progress: number | undefined } {
    const lines: string[] = [];
    if (m.stream)
      lines.push(
        ...m.stream
          .split(/\r?\n/)
          .map((l) => l.trimEnd())
          .filter(Boolean),
      );
    let progress: number | undefined;
    const step = /^Step (\d+)\/(\d+)/.exec(m.stream ?? '');
    if (step) progress = (Number(step[1]) - 1) / Number(step[2]);
    if (m.status) {
      const detail = m.progressDetail;
      if (m.id && detail?.total) {
        this.layers.set(m.id, { current: detail.current ?? 0, total: detail.total });
        progress = this.bytes();
      } else {
        if (m.id && this.layers.has(m.id) && /complete|pushed|already exists/i.test(m.status)) {
          const l = this.layers.get(m.id)!;
          l.current = l.total;
          progress = this.bytes();
        }
        lines.push(m.id ? `${m.id}: ${m.status}` : m.status);
      }
    }
    if (m.aux?.Digest) lines.push(`digest: ${m.aux.Digest}`);
    return { lines, progress: this.changed(progress) };
  }

  private bytes(): number {
    let current = 0;
    let total = 0;
    for (const l of this.layers.values()) {
      current += Math.min(l.current, l.total);
      total += l.total;
    }
    return total > 0 ? current / total : 0;
  }

  /** Progress only when it moved by at least a percent (a push sends hundreds of small steps). */
  changed(progress: number | undefined): number | undefined {
    if (progress === undefined) return undefined;
    if (this.last !== undefined && Math.abs(progress - this.last) < 0.01 && progress < 1) return undefined;
    this.last = progress;
    return progress;
  }
}
