import { useState } from 'react';
import { useDebounced, useQuery, useSubscription } from '../api';
import type { MetaEventsSubscription as MetaEventsData } from '../gql/graphql';
import {
  ContainerStatusSubscription,
  DashboardQuery,
  MetaEventsSubscription,
  NodeStatusSubscription,
} from '../operations';
import { ErrorMessage, LiveIndicator, Spinner, StatusBadge, formatTime } from '../ui';

const NODE_STATUSES = ['HEALTHY', 'UNHEALTHY', 'PENDING', 'DISCONNECTED'] as const;
const CONTAINER_STATES = [
  'RUNNING',
  'CREATED',
  'RESTARTING',
  'PAUSED',
  'EXITED',
  'DEAD',
  'REMOVING',
] as const;

type MetaEvent = MetaEventsData['metaEvents'];

function countBy<T extends string>(items: readonly { [k: string]: unknown }[], key: string): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) {
    const value = item[key] as T;
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

export function DashboardPage() {
  const { data, error, loading, refetch } = useQuery(DashboardQuery, {});
  const [events, setEvents] = useState<MetaEvent[]>([]);
  const refresh = useDebounced(refetch, 300);
  const containerLive = useSubscription(ContainerStatusSubscription, {}, refresh);
  const nodeLive = useSubscription(NodeStatusSubscription, {}, refresh);
  const metaLive = useSubscription(MetaEventsSubscription, {}, (d) => {
    setEvents((list) => [d.metaEvents, ...list].slice(0, 20));
    refresh();
  });

  const nodes = countBy<string>(data?.nodes ?? [], 'status');
  const groupNames = new Map((data?.groups ?? []).map((g) => [g.id, g.name]));

  return (
    <section>
      <div className="page-head">
        <h1>Dashboard</h1>
        <LiveIndicator error={containerLive ?? nodeLive ?? metaLive} />
      </div>
      <ErrorMessage error={error} />
      {loading && !data ? <Spinner label="Loading…" /> : null}
      {data ? (
        <div className="grid">
          <article className="card" aria-labelledby="dash-nodes">
            <h2 id="dash-nodes">Nodes ({data.nodes.length})</h2>
            <ul className="counts" data-testid="node-counts">
              {NODE_STATUSES.map((s) => (
                <li key={s}>
                  <StatusBadge value={s} /> <strong data-status={s}>{nodes.get(s) ?? 0}</strong>
                </li>
              ))}
            </ul>
            <p>
              <a href="#/nodes">All nodes</a>
            </p>
          </article>
          <article className="card" aria-labelledby="dash-containers">
            <h2 id="dash-containers">Containers ({data.all.totalCount})</h2>
            <ul className="counts" data-testid="container-counts">
              {CONTAINER_STATES.map((s) => (
                <li key={s}>
                  <StatusBadge value={s} /> <strong data-state={s}>{data[s].totalCount}</strong>
                </li>
              ))}
            </ul>
            <p>
              <a href="#/containers">All containers</a>
            </p>
          </article>
          <article className="card" aria-labelledby="dash-groups">
            <h2 id="dash-groups">Groups ({data.groups.length})</h2>
            <ul>
              {data.groups.map((g) => (
                <li key={g.id}>
                  <a href={`#/${g.clusterMode ? 'metas' : 'containers'}?groupId=${encodeURIComponent(g.id)}`}>
                    {g.name}
                  </a>
                  {g.clusterMode ? ' · cluster' : ''}
                </li>
              ))}
            </ul>
          </article>
          <article className="card wide" aria-labelledby="dash-events">
            <h2 id="dash-events">Recent service events</h2>
            {events.length === 0 ? (
              <p className="muted">No events since this page opened. They appear here as they happen.</p>
            ) : (
              <ol className="events" aria-live="polite">
                {events.map((e, i) => (
                  <li key={`${e.timestamp}-${i}`}>
                    <time>{formatTime(e.timestamp < 1e12 ? e.timestamp * 1000 : e.timestamp)}</time>{' '}
                    <strong>{e.event}</strong>{' '}
                    <a
                      href={`#/metas?groupId=${encodeURIComponent(e.groupId)}&metaId=${encodeURIComponent(e.metaId)}`}
                    >
                      {e.metaId.slice(0, 12)}
                    </a>{' '}
                    in {groupNames.get(e.groupId) ?? e.groupId}
                  </li>
                ))}
              </ol>
            )}
          </article>
        </div>
      ) : null}
    </section>
  );
}
