import { useState } from 'react';
import { useQuery } from '../api';
import { WebhookDeliveriesQuery } from '../operations';
import { BusyButton, ErrorMessage, formatTime } from '../ui';

/** The button that shows or hides the service's webhook deliveries, and the list. */
export function WebhookDeliveries({ metaId }: { metaId: string }) {
  const [show, setShow] = useState(false);
  return (
    <>
      <button type="button" aria-expanded={show} onClick={() => setShow((s) => !s)}>
        {show ? 'Hide webhook deliveries' : 'Show webhook deliveries'}
      </button>
      {show ? <Deliveries metaId={metaId} /> : null}
    </>
  );
}

/** Delivered, not tried yet, or failed with the gateway's reason ("refused: … is a loopback address"). */
function DeliveryResult({
  delivery: d,
}: {
  delivery: { delivered: boolean; attempts: number; statusCode?: number | null; error?: string | null };
}) {
  if (d.delivered) {
    return <span className="badge ok">delivered{d.statusCode ? ` (HTTP ${d.statusCode})` : ''}</span>;
  }
  if (d.attempts === 0) return <span className="badge warn">pending</span>;
  return (
    <>
      <span className="badge warn">failed</span> <span className="muted">{d.error ?? ''}</span>
    </>
  );
}

function Deliveries({ metaId }: { metaId: string }) {
  const { data, error, loading, refetch } = useQuery(WebhookDeliveriesQuery, { metaId, first: 50 });
  return (
    <div>
      <BusyButton className="small" busy={loading} busyText="Loading…" onClick={refetch}>
        Refresh deliveries
      </BusyButton>
      <ErrorMessage error={error} />
      {data?.webhookDeliveries.length === 0 ? <p className="muted">No webhook deliveries.</p> : null}
      {data && data.webhookDeliveries.length > 0 ? (
        <div className="table-wrap">
          <table className="list" aria-label="Webhook deliveries">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">URL</th>
                <th scope="col">Result</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last attempt</th>
              </tr>
            </thead>
            <tbody>
              {data.webhookDeliveries.map((d) => (
                <tr key={d.id}>
                  <td>{d.event}</td>
                  <td>
                    <code>{d.url}</code>
                  </td>
                  <td>
                    <DeliveryResult delivery={d} />
                  </td>
                  <td>{d.attempts}</td>
                  <td>{formatTime(d.lastAttemptAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
