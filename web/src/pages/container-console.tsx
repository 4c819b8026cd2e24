import { lazy, Suspense, useState, type FormEvent } from 'react';
import { request, useMutation } from '../api';
import { StartExecMutation } from '../operations';
import { BusyButton, ErrorMessage, Spinner } from '../ui';
import { splitCommand } from './container-form';

// xterm.js is loaded with the first console, not with the page.
const ExecTerminal = lazy(() => import('./container-terminal').then((m) => ({ default: m.ExecTerminal })));

/** A session of the console: its one-time URL, and why it ended once it has. */
interface Session {
  url: string;
  ended?: string;
}

/**
 * A console in the container: `startExec` with a terminal, then an xterm.js terminal on its
 * WebSocket. Each "Open console" starts a new process (the URL is good once, for 30 s).
 */
export function ContainerConsole({ id, running }: { id: string; running: boolean }) {
  const [command, setCommand] = useState('/bin/sh');
  const [session, setSession] = useState<Session | null>(null);
  const start = useMutation((cmd: string[]) =>
    request(StartExecMutation, { containerId: id, command: cmd, tty: true }),
  );
  const open = async (e: FormEvent) => {
    e.preventDefault();
    const result = await start.run(splitCommand(command.trim() || '/bin/sh'));
    if (result) setSession({ url: result.startExec.url });
  };
  const live = session !== null && session.ended === undefined;
  return (
    <section aria-labelledby="container-console">
      <form className="card-head" aria-label="Open a console" onSubmit={open}>
        <h3 id="container-console">Console</h3>
        <label className="inline-label">
          Program
          <input value={command} onChange={(e) => setCommand(e.target.value)} disabled={live} />
        </label>
        {live ? (
          <button type="button" onClick={() => setSession(null)}>
            Close console
          </button>
        ) : (
          <BusyButton type="submit" busy={start.busy} busyText="Starting…" disabled={!running}>
            Open console
          </BusyButton>
        )}
      </form>
      {!running ? <p className="muted">A console needs the container running.</p> : null}
      <ErrorMessage error={start.error} />
      {session ? (
        <Suspense fallback={<Spinner label="Loading the terminal…" />}>
          <ExecTerminal
            key={session.url}
            url={session.url}
            onEnd={(why) => setSession((s) => (s && s.url === session.url ? { ...s, ended: why } : s))}
          />
        </Suspense>
      ) : null}
      {session?.ended ? (
        <p className="muted" role="status">
          The console {session.ended}.
        </p>
      ) : null}
    </section>
  );
}
