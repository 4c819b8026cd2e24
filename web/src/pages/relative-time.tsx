import { useEffect, useState } from 'react';
import { formatTime } from '../ui';

/** "just now", "3 min ago", "2 h ago", "4 days ago": a time relative to `now` (ms). */
export function relativeTime(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** Humpback's webhook Timestamp is in nanoseconds; older senders used seconds or milliseconds. */
export function toMs(timestamp: number): number {
  if (timestamp > 1e15) return timestamp / 1e6;
  return timestamp < 1e12 ? timestamp * 1000 : timestamp;
}

const listeners = new Set<(now: number) => void>();
let timer: ReturnType<typeof setInterval> | undefined;

/** The current time, re-rendered every 10 s by one shared timer. */
function useNow(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    listeners.add(setNow);
    timer ??= setInterval(() => listeners.forEach((l) => l(Date.now())), 10_000);
    return () => {
      listeners.delete(setNow);
      if (listeners.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  }, []);
  return now;
}

/** A time shown as "3 min ago" that stays current; the full time is its tooltip. */
export function RelativeTime({ at }: { at: string | number }) {
  const now = useNow();
  const ms = typeof at === 'number' ? at : Date.parse(at);
  return (
    <time dateTime={new Date(ms).toISOString()} title={formatTime(ms)}>
      {relativeTime(ms, now)}
    </time>
  );
}
