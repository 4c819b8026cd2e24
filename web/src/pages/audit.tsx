import { useState } from 'react';
import { useQuery } from '../api';
import { AuditLogQuery } from '../operations';
import { BusyButton, ErrorMessage, Spinner, formatTime } from '../ui';

export function AuditPage() {
  const [limit, setLimit] = useState(100);
  const { data, error, loading, refetch } = useQuery(AuditLogQuery, { first: limit });
  return (
    <section>
      <div className="page-head">
        <h1>Audit log</h1>
        <BusyButton busy={loading} busyText="Loading…" onClick={refetch}>
          Refresh
        </BusyButton>
      </div>
      {error?.unavailable ? (
        <p className="notice">The audit log is not available on this gateway.</p>
      ) : (
        <ErrorMessage error={error} />
      )}
      {loading && !data ? <Spinner label="Loading…" /> : null}
      {data ? (
        <>
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
                {data.auditLog.map((e) => (
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
          {data.auditLog.length >= limit ? (
            <button type="button" onClick={() => setLimit((l) => l + 100)}>
              Show more
            </button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
