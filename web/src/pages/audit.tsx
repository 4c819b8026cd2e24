import { useState } from 'react';
import { ApiError, request, useQuery } from '../api';
import type { AuditLogQuery as AuditLogData } from '../gql/graphql';
import { AuditLogQuery } from '../operations';
import { BusyButton, ErrorMessage, Spinner, formatTime } from '../ui';

const PAGE = 100;

type Entry = AuditLogData['auditLog'][number];

/** The audit log, newest first, with older pages fetched on demand. */
function useAuditLog() {
  const { data, error, loading, refetch } = useQuery(AuditLogQuery, { first: PAGE });
  // Older pages, fetched with `before` the last entry shown; a refresh starts again from the newest.
  const [older, setOlder] = useState<AuditLogData['auditLog']>([]);
  const [lastPageFull, setLastPageFull] = useState(true);
  const [more, setMore] = useState<{ busy: boolean; error?: ApiError | undefined }>({ busy: false });
  const entries = [...(data?.auditLog ?? []), ...older];
  const canShowMore = older.length > 0 ? lastPageFull : (data?.auditLog.length ?? 0) >= PAGE;
  const showMore = async () => {
    setMore({ busy: true });
    try {
      const page = await request(AuditLogQuery, {
        first: PAGE,
        before: entries[entries.length - 1]?.id ?? null,
      });
      setOlder((list) => [...list, ...page.auditLog]);
      setLastPageFull(page.auditLog.length >= PAGE);
      setMore({ busy: false });
    } catch (err) {
      setMore({ busy: false, error: err instanceof ApiError ? err : new ApiError('NETWORK', String(err)) });
    }
  };
  const refresh = () => {
    setOlder([]);
    setLastPageFull(true);
    refetch();
  };
  return { data, error, loading, entries, canShowMore, more, showMore, refresh };
}

export function AuditPage() {
  const log = useAuditLog();
  return (
    <section>
      <div className="page-head">
        <h1>Audit log</h1>
        <BusyButton busy={log.loading} busyText="Loading…" onClick={log.refresh}>
          Refresh
        </BusyButton>
      </div>
      {log.error?.unavailable ? (
        <p className="notice">The audit log is not available on this gateway.</p>
      ) : (
        <ErrorMessage error={log.error} />
      )}
      {log.loading && !log.data ? <Spinner label="Loading…" /> : null}
      {log.data ? (
        <>
          <AuditTable entries={log.entries} />
          <ErrorMessage error={log.more.error} />
          {log.canShowMore ? (
            <BusyButton
              busy={log.more.busy}
              busyText="Loading older entries…"
              onClick={() => void log.showMore()}
            >
              Show older entries
            </BusyButton>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function AuditTable({ entries }: { entries: Entry[] }) {
  return (
    <div className="table-wrap">
      <table className="list" aria-label="Audit log">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">User</th>
            <th scope="col">Operation</th>
            <th scope="col">Outcome</th>
            <th scope="col">Arguments</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>{formatTime(e.at)}</td>
              <td>{e.userId ?? <span className="muted">anonymous</span>}</td>
              <th scope="row">{e.operation}</th>
              <td>
                <span className={`badge ${e.outcome === 'OK' ? 'ok' : 'bad'}`}>
                  {e.outcome.toLowerCase()}
                </span>
                {e.error ? <span className="muted"> {e.error}</span> : null}
              </td>
              <td>
                <code className="args">{JSON.stringify(e.args)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
