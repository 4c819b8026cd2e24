/**
 * Usage history: CPU, memory and network samples of nodes, containers and metas at three
 * resolutions. Pure definitions and helpers; the stores keep the points (Store.addUsage).
 */

import type { UsageRange } from '../domain.js';

export type { UsageRange };

export const USAGE_RANGES: readonly UsageRange[] = ['HOUR', 'DAY', 'WEEK'];

/** Each range's step between points and how many points it keeps (step × points = its span). */
export const USAGE_RESOLUTION: Record<UsageRange, { stepMs: number; points: number }> = {
  HOUR: { stepMs: 10_000, points: 360 },
  DAY: { stepMs: 300_000, points: 288 },
  WEEK: { stepMs: 3_600_000, points: 168 },
};

/** The span of a range in milliseconds: a series not written for that long expires. */
export function usageSpanMs(range: UsageRange): number {
  const r = USAGE_RESOLUTION[range];
  return r.stepMs * r.points;
}

/** One point of a history. `at` is the start of its step (ms since the epoch). */
export interface UsageSample {
  at: number;
  cpuPercent: number;
  memoryUsedBytes: number;
  networkRxBytes?: number | undefined;
  networkTxBytes?: number | undefined;
}

/** What a series is the history of; its key in the store is `kind:id`. */
export type UsageSubject = { kind: 'node' | 'container' | 'meta'; id: string };

export function usageSeries(subject: UsageSubject): string {
  return `${subject.kind}:${subject.id}`;
}

/** One point to write: a series, a range and the sample (replacing one with the same `at`). */
export interface UsageWrite {
  series: string;
  range: UsageRange;
  sample: UsageSample;
}

/** The start of the step of `range` that `at` falls in. */
export function usageBucket(range: UsageRange, at: number): number {
  const step = USAGE_RESOLUTION[range].stepMs;
  return Math.floor(at / step) * step;
}

/** The mean of samples (the point of a coarser step), at `at`; undefined for none. */
export function meanSample(samples: readonly UsageSample[], at: number): UsageSample | undefined {
  if (samples.length === 0) return undefined;
  const mean = (pick: (s: UsageSample) => number | undefined): number | undefined => {
    const values = samples.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
  };
  return {
    at,
    cpuPercent: mean((s) => s.cpuPercent) ?? 0,
    memoryUsedBytes: mean((s) => s.memoryUsedBytes) ?? 0,
    networkRxBytes: mean((s) => s.networkRxBytes),
    networkTxBytes: mean((s) => s.networkTxBytes),
  };
}

/** The sum of samples (a meta's point over its instances), at `at`. */
export function sumSamples(samples: readonly UsageSample[], at: number): UsageSample {
  const sum = (pick: (s: UsageSample) => number | undefined): number | undefined => {
    const values = samples.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
  };
  return {
    at,
    cpuPercent: sum((s) => s.cpuPercent) ?? 0,
    memoryUsedBytes: sum((s) => s.memoryUsedBytes) ?? 0,
    networkRxBytes: sum((s) => s.networkRxBytes),
    networkTxBytes: sum((s) => s.networkTxBytes),
  };
}

/**
 * A series' points after adding `sample` (oldest first): one point per `at` (the new one replaces),
 * none older than the range's span before the newest, at most the range's point count. The embedded
 * store keeps series with this; Redis does the same in its script.
 */
export function withSample(
  points: readonly UsageSample[],
  range: UsageRange,
  sample: UsageSample,
): UsageSample[] {
  const next = points.filter((p) => p.at !== sample.at);
  let i = next.length;
  while (i > 0 && next[i - 1]!.at > sample.at) i--;
  next.splice(i, 0, sample);
  const newest = next[next.length - 1]!.at;
  const oldest = newest - usageSpanMs(range);
  const kept = next.filter((p) => p.at > oldest);
  return kept.slice(Math.max(0, kept.length - USAGE_RESOLUTION[range].points));
}

/**
 * A point as text, as both stores keep it: `at|cpu|memory|rx|tx`, CPU to 2 decimals, bytes whole,
 * empty for a missing figure.
 */
export function encodeUsage(s: UsageSample): string {
  const n = (v: number | undefined, digits: number): string =>
    v === undefined ? '' : String(+v.toFixed(digits));
  return `${s.at}|${n(s.cpuPercent, 2)}|${n(s.memoryUsedBytes, 0)}|${n(s.networkRxBytes, 0)}|${n(s.networkTxBytes, 0)}`;
}

export function decodeUsage(member: string): UsageSample {
  const [at, cpu, mem, rx, tx] = member.split('|');
  const opt = (v: string | undefined): number | undefined =>
    v === undefined || v === '' ? undefined : Number(v);
  return {
    at: Number(at),
    cpuPercent: Number(cpu),
    memoryUsedBytes: Number(mem),
    networkRxBytes: opt(rx),
    networkTxBytes: opt(tx),
  };
}
