import { useLayoutEffect, useRef, useState } from 'react';
import { ErrorMessage } from '../ui';
import { downloadText, logText, useLogFollow, type LogFollow, type LogLine } from './log-follow';

/**
 * A container's output, followed live: pause and resume, a search that shows the matching lines,
 * the times on or off, and a download of every line kept. Mount it anew (a `key`) when the container
 * starts again: the subscription ends with the process.
 */
export function ContainerLogs({ id, name, running }: { id: string; name: string; running: boolean }) {
  const follow = useLogFollow(id);
  const [search, setSearch] = useState('');
  const [times, setTimes] = useState(false);
  const needle = search.trim().toLowerCase();
  const shown = needle ? follow.lines.filter((l) => l.line.toLowerCase().includes(needle)) : follow.lines;
  return (
    <section aria-labelledby="container-logs">
      <div className="card-head log-tools">
        <h3 id="container-logs">Logs</h3>
        <FollowState follow={follow} running={running} />
        <label className="inline-label">
          Search the logs
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={times} onChange={(e) => setTimes(e.target.checked)} /> Times
        </label>
        <button type="button" aria-pressed={follow.paused} onClick={() => follow.setPaused(!follow.paused)}>
          {follow.paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={() => downloadText(`${name}.log`, logText(follow.all()))}>
          Download
        </button>
      </div>
      <ErrorMessage error={follow.error} />
      {needle ? (
        <p className="muted" data-testid="log-matches">
          {shown.length} of {follow.lines.length} lines match.
        </p>
      ) : null}
      <LogLines lines={shown} times={times} />
    </section>
  );
}

function FollowState({ follow, running }: { follow: LogFollow; running: boolean }) {
  let text = 'Following';
  if (follow.paused) text = `Paused; ${follow.waiting} new ${follow.waiting === 1 ? 'line' : 'lines'}`;
  else if (!running) text = 'Not running: its last lines';
  return (
    <span className={`live ${follow.paused || !running ? 'off' : 'on'}`} data-testid="log-state">
      {text}
    </span>
  );
}

/** The lines, kept scrolled to the newest unless the reader scrolled up. */
function LogLines({ lines, times }: { lines: LogLine[]; times: boolean }) {
  const ref = useRef<HTMLPreElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <pre
      ref={ref}
      className="logs"
      tabIndex={0}
      aria-label="Container logs"
      aria-live="off"
      onScroll={(e) => {
        const el = e.currentTarget;
        atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
      }}
    >
      {lines.length === 0 ? <span className="muted">(no output)</span> : null}
      {lines.map((l, i) => (
        <span key={i} className={l.stream === 'STDERR' ? 'log-line stderr' : 'log-line'}>
          {times ? <span className="log-time">{String(l.at)} </span> : null}
          {l.line}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}
