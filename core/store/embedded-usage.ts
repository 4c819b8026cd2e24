import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import {
  USAGE_RANGES,
  USAGE_RESOLUTION,
  decodeUsage,
  encodeUsage,
  usageSpanMs,
  withSample,
  type UsageRange,
  type UsageSample,
  type UsageWrite,
} from './usage.js';

const USAGE_FILE = 'usage.json';

interface Series {
  /** When the series was last written (Date.now()): it expires a span after. */
  writtenAt: number;
  /** Encoded points (encodeUsage), oldest first. */
  points: string[];
}

interface UsageFileText {
  version: 1;
  series: Record<string, Series>;
}

/**
 * The embedded store's usage history: in memory, saved to `usage.json` (atomically) at most every
 * `saveIntervalMs` while it changes, and on close. A kill -9 loses at most that interval of samples,
 * never the desired state (which is journaled): history is a measurement, not a decision.
 */
export class EmbeddedUsage {
  private readonly series = new Map<string, Series>();
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
    saveIntervalMs: number,
  ) {
    this.timer = setInterval(() => void this.save(), saveIntervalMs);
    this.timer.unref();
  }

  static async load(dir: string, log: Logger, saveIntervalMs = 30_000): Promise<EmbeddedUsage> {
    const usage = new EmbeddedUsage(dir, log, saveIntervalMs);
    const text = await readFile(join(dir, USAGE_FILE), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        const parsed = JSON.parse(text) as UsageFileText;
        for (const [key, s] of Object.entries(parsed.series ?? {})) usage.series.set(key, s);
      } catch (err) {
        // Only history is lost; the store itself opens.
        log.warn({ err, file: USAGE_FILE }, 'usage history file unreadable: starting without history');
      }
    }
    return usage;
  }

  private key(series: string, range: UsageRange): string {
    return `${range}:${series}`;
  }

  private live(key: string, range: UsageRange): Series | undefined {
    const s = this.series.get(key);
    if (s && Date.now() - s.writtenAt > usageSpanMs(range)) {
      this.series.delete(key);
      this.dirty = true;
      return undefined;
    }
    return s;
  }

  add(points: readonly UsageWrite[]): void {
    for (const p of points) {
      const key = this.key(p.series, p.range);
      const current = this.live(key, p.range)?.points ?? [];
      this.series.set(key, { writtenAt: Date.now(), points: added(current, p) });
    }
    if (points.length > 0) this.dirty = true;
  }

  history(series: readonly string[], range: UsageRange, since: number): UsageSample[][] {
    return series.map((s) =>
      (this.live(this.key(s, range), range)?.points ?? []).map(decodeUsage).filter((p) => p.at >= since),
    );
  }

  delete(series: readonly string[]): void {
    for (const s of series)
      for (const r of USAGE_RANGES) this.dirty = this.series.delete(this.key(s, r)) || this.dirty;
  }

  /** Writes the file when something changed since the last save. */
  save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const text: UsageFileText = { version: 1, series: Object.fromEntries(this.series) };
      const tmp = join(this.dir, `${USAGE_FILE}.tmp-${process.pid}`);
      try {
        const fd = await open(tmp, 'w', 0o600);
        try {
          await fd.writeFile(JSON.stringify(text));
          await fd.sync();
        } finally {
          await fd.close();
        }
        await rename(tmp, join(this.dir, USAGE_FILE));
      } catch (err) {
        this.dirty = true;
        this.log.warn({ err }, 'could not save the usage history');
      }
    });
    return this.saving;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.save();
  }
}

const atOf = (encoded: string): number => Number(encoded.slice(0, encoded.indexOf('|')));

/** `points` with `p` added: the common case (a newer point) appends; anything else goes through withSample. */
function added(points: string[], p: UsageWrite): string[] {
  const encoded = encodeUsage(p.sample);
  const last = points[points.length - 1];
  if (last !== undefined && atOf(last) >= p.sample.at) {
    return withSample(points.map(decodeUsage), p.range, decodeUsage(encoded)).map(encodeUsage);
  }
  points.push(encoded);
  const oldest = p.sample.at - usageSpanMs(p.range);
  let drop = Math.max(0, points.length - USAGE_RESOLUTION[p.range].points);
  while (drop < points.length && atOf(points[drop]!) <= oldest) drop++;
  if (drop > 0) points.splice(0, drop);
  return points;
}
