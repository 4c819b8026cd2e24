import { useState } from 'react';
import { useQuery } from '../api';
import type { UsagePointFieldsFragment, UsageRange } from '../gql/graphql';
import { ContainerUsageHistoryQuery, MetaUsageHistoryQuery, NodeUsageHistoryQuery } from '../operations';
import { formatBytes } from '../ui';

const RANGES: Array<{ range: UsageRange; label: string; spanMs: number }> = [
  { range: 'HOUR', label: 'Hour', spanMs: 3_600_000 },
  { range: 'DAY', label: 'Day', spanMs: 86_400_000 },
  { range: 'WEEK', label: 'Week', spanMs: 7 * 86_400_000 },
];

type Subject = { kind: 'node' | 'container' | 'meta'; id: string };

/** The subject's history of one range, refreshed every 10 s (the gateway keeps it; nothing is sampled here). */
function useHistory(subject: Subject, range: UsageRange) {
  const vars = { id: subject.id, range };
  const opts = { pollMs: 10_000 };
  const node = useQuery(NodeUsageHistoryQuery, vars, { ...opts, skip: subject.kind !== 'node' });
  const container = useQuery(ContainerUsageHistoryQuery, vars, {
    ...opts,
    skip: subject.kind !== 'container',
  });
  const meta = useQuery(MetaUsageHistoryQuery, vars, { ...opts, skip: subject.kind !== 'meta' });
  const q = subject.kind === 'node' ? node : subject.kind === 'container' ? container : meta;
  const data = node.data?.node ?? container.data?.container ?? meta.data?.meta;
  return { error: q.error, points: (data?.usageHistory ?? []) as UsagePointFieldsFragment[] };
}

/** CPU and memory over the last hour, day or week, as the gateway recorded them, with time axes. */
export function UsageHistory({ subject, title }: { subject: Subject; title: string }) {
  const [range, setRange] = useState<UsageRange>('HOUR');
  const { error, points } = useHistory(subject, range);
  const span = RANGES.find((r) => r.range === range)!.spanMs;
  return (
    <figure className="chart history" data-range={range}>
      <figcaption>
        {title}: <span className="cpu">CPU %</span> · <span className="mem">memory</span>{' '}
        <span className="range-buttons" role="group" aria-label="Range">
          {RANGES.map((r) => (
            <button
              key={r.range}
              type="button"
              className="link"
              aria-pressed={range === r.range}
              onClick={() => setRange(r.range)}
            >
              {r.label}
            </button>
          ))}
        </span>
      </figcaption>
      {error ? <p className="muted">History is not available: {error.message}</p> : null}
      <HistorySvg points={points} spanMs={span} range={range} />
      {points.length === 0 && !error ? <p className="muted">No samples in this range yet.</p> : null}
    </figure>
  );
}

const W = 600;
const H = 180;
const M = { left: 44, right: 64, top: 8, bottom: 22 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((f) => f * p).find((n) => n >= v) ?? 10 * p;
}

function timeLabel(t: number, range: UsageRange): string {
  const d = new Date(t);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return range === 'WEEK' ? `${d.toLocaleDateString([], { weekday: 'short' })} ${hm}` : hm;
}

function HistorySvg({
  points,
  spanMs,
  range,
}: {
  points: UsagePointFieldsFragment[];
  spanMs: number;
  range: UsageRange;
}) {
  const times = points.map((p) => Date.parse(p.at as string));
  const end = Math.max(Date.now(), ...times);
  const start = end - spanMs;
  const cpuMax = niceMax(Math.max(0, ...points.map((p) => p.cpuPercent)));
  // At least 1 MiB, so an empty or idle chart's axis does not read "1 B, 1 B, 0 B".
  const memMax = niceMax(Math.max(1024 * 1024, ...points.map((p) => p.memoryUsedBytes)));
  const x = (t: number) => M.left + ((t - start) / spanMs) * (W - M.left - M.right);
  const y = (v: number, max: number) => H - M.bottom - (v / max) * (H - M.top - M.bottom);
  const line = (pick: (p: UsagePointFieldsFragment) => number, max: number) =>
    points
      .map((p, i) => `${i ? 'L' : 'M'}${x(times[i]!).toFixed(1)},${y(pick(p), max).toFixed(1)}`)
      .join(' ');
  const xTicks = [0, 1, 2, 3, 4].map((i) => start + (i * spanMs) / 4);
  const yTicks = [0, 0.5, 1];
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`CPU and memory over the last ${range.toLowerCase()}`}
    >
      {yTicks.map((f) => (
        <g key={f}>
          <line x1={M.left} x2={W - M.right} y1={y(f, 1)} y2={y(f, 1)} className="gridline" />
          <text
            x={M.left - 4}
            y={y(f, 1) + 4}
            textAnchor="end"
            className="axis cpu"
          >{`${+(f * cpuMax).toFixed(1)}%`}</text>
          <text x={W - M.right + 4} y={y(f, 1) + 4} className="axis mem">
            {formatBytes(f * memMax)}
          </text>
        </g>
      ))}
      {xTicks.map((t) => (
        <text key={t} x={x(t)} y={H - 6} textAnchor="middle" className="axis time">
          {timeLabel(t, range)}
        </text>
      ))}
      <path d={line((p) => p.cpuPercent, cpuMax)} className="line-cpu" />
      <path d={line((p) => p.memoryUsedBytes, memMax)} className="line-mem" />
    </svg>
  );
}
