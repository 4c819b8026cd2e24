import { useCallback, useEffect, useRef, useState } from 'react';
import { useSubscription, type ApiError } from '../api';
import type { ContainerLogLinesSubscription } from '../gql/graphql';
import { ContainerLogsSubscription } from '../operations';

export type LogLine = ContainerLogLinesSubscription['containerLogs'];

/** The most lines kept in the page (the oldest go first). */
export const MAX_LOG_LINES = 5000;
/** Lines before the live ones. */
const TAIL = 500;
/** New lines are shown in batches at most this often. */
const FLUSH_MS = 100;

export interface LogFollow {
  /** The lines shown: all received unless paused, then those received until the pause. */
  lines: LogLine[];
  /** Every line kept, also those that came in while paused. */
  all: () => LogLine[];
  paused: boolean;
  setPaused: (paused: boolean) => void;
  /** Lines that came in while paused. */
  waiting: number;
  error: ApiError | undefined;
}

/**
 * Follows a container's output over the `containerLogs` subscription: its last lines, then each new
 * one. While paused the lines are still received (nothing is lost) but not shown.
 */
export function useLogFollow(id: string): LogFollow {
  const buffer = useRef<LogLine[]>([]);
  const received = useRef(0);
  const shownAt = useRef(0);
  const pausedRef = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [paused, setPausedState] = useState(false);
  const [waiting, setWaiting] = useState(0);

  const flush = useCallback(() => {
    timer.current = undefined;
    if (pausedRef.current) {
      setWaiting(received.current - shownAt.current);
      return;
    }
    shownAt.current = received.current;
    setLines(buffer.current.slice());
    setWaiting(0);
  }, []);

  const error = useSubscription(ContainerLogsSubscription, { id, tail: TAIL }, ({ containerLogs }) => {
    buffer.current.push(containerLogs);
    if (buffer.current.length > MAX_LOG_LINES)
      buffer.current.splice(0, buffer.current.length - MAX_LOG_LINES);
    received.current++;
    timer.current ??= setTimeout(flush, FLUSH_MS);
  });
  useEffect(() => () => clearTimeout(timer.current), []);

  const setPaused = useCallback(
    (p: boolean) => {
      pausedRef.current = p;
      setPausedState(p);
      if (!p) flush();
    },
    [flush],
  );
  return { lines, all: () => buffer.current, paused, setPaused, waiting, error };
}

/** The lines as text, each after its time (like `docker logs -t`). */
export function logText(lines: LogLine[]): string {
  return lines.map((l) => `${String(l.at)} ${l.line}\n`).join('');
}

/** Offers the text as a file download. */
export function downloadText(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
