import { useEffect, useState } from 'react';
import { useQuery } from '../api';
import { ContainerStatsQuery } from '../operations';
import { formatBytes } from '../ui';

const POINTS = 60;
const POLL_MS = 3000;

interface Sample {
  cpu: number | null;
  mem: number | null;
}

/**
 * A live CPU and memory line chart of one running container in plain SVG, sampled by its engine every
 * 3 s (containerStats). Memory is drawn in percent of the container's limit (the node's memory when
 * it has none); CPU in percent of one CPU, capped at 100 on the chart.
 */
export function UsageChart({ containerId }: { containerId: string }) {
  const { data, error } = useQuery(ContainerStatsQuery, { id: containerId }, { pollMs: POLL_MS });
  const [samples, setSamples] = useState<Sample[]>([]);
  const stats = data?.containerStats;
  useEffect(() => {
    if (!stats) return;
    const mem = stats.memoryLimitBytes > 0 ? (stats.memoryUsageBytes / stats.memoryLimitBytes) * 100 : null;
    setSamples((s) => [...s, { cpu: stats.cpuPercent, mem }].slice(-POINTS));
  }, [stats]);
  if (error) return <p className="muted">Usage is not available: {error.message}</p>;
  const last = samples[samples.length - 1];
  const path = (pick: (s: Sample) => number | null) => {
    let d = '';
    let pen = false;
    samples.forEach((s, i) => {
      const v = pick(s);
      if (v === null) {
        pen = false;
        return;
      }
      const x = (i / (POINTS - 1)) * 300;
      const y = 100 - Math.max(0, Math.min(100, v));
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)} `;
      pen = true;
    });
    return d.trim();
  };
  return (
    <figure className="chart">
      <figcaption>
        Usage, live: <span className="cpu">CPU {last?.cpu != null ? `${last.cpu.toFixed(1)} %` : '–'}</span>
        {' · '}
        <span className="mem">
          memory {stats ? formatBytes(stats.memoryUsageBytes) : '–'}
          {last?.mem != null ? ` (${last.mem.toFixed(0)} %)` : ''}
        </span>
      </figcaption>
      <svg
        viewBox="0 0 300 100"
        preserveAspectRatio="none"
        role="img"
        aria-label="CPU and memory usage over the last 3 minutes"
      >
        {[25, 50, 75].map((y) => (
          <line key={y} x1="0" x2="300" y1={y} y2={y} className="gridline" />
        ))}
        <path d={path((s) => s.cpu)} className="line-cpu" />
        <path d={path((s) => s.mem)} className="line-mem" />
      </svg>
    </figure>
  );
}
