import { useEffect, useState } from 'react';
import { useQuery } from '../api';
import { NodeUsageQuery } from '../operations';
import { formatBytes } from '../ui';

const POINTS = 60;
const POLL_MS = 3000;

interface Sample {
  cpu: number | null;
  mem: number | null;
}

/**
 * A live CPU and memory line chart in plain SVG. The API reports usage per node (Node.cpuPercent,
 * memoryUsedBytes), so the chart shows the container's node, sampled every 3 s.
 */
export function UsageChart({ nodeId }: { nodeId: string }) {
  const { data, error } = useQuery(NodeUsageQuery, { id: nodeId }, { pollMs: POLL_MS });
  const [samples, setSamples] = useState<Sample[]>([]);
  const node = data?.node;
  useEffect(() => {
    if (!node) return;
    const mem =
      node.memoryUsedBytes != null && node.memoryBytes
        ? (node.memoryUsedBytes / node.memoryBytes) * 100
        : null;
    setSamples((s) => [...s, { cpu: node.cpuPercent ?? null, mem }].slice(-POINTS));
  }, [node]);
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
        Node {node?.name ?? ''} usage, live:{' '}
        <span className="cpu">CPU {last?.cpu != null ? `${last.cpu.toFixed(1)} %` : '–'}</span>
        {' · '}
        <span className="mem">
          memory {node?.memoryUsedBytes != null ? formatBytes(node.memoryUsedBytes) : '–'}
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
