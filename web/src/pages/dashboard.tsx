import { useState } from 'react';
import { useDebounced, useQuery, useSubscription } from '../api';
import type {
  DashboardQuery as DashboardData,
  MetaEventsSubscription as MetaEventsData,
} from '../gql/graphql';
import {
  ContainerStatusSubscription,
  DashboardQuery,
  MetaEventsSubscription,
  MetasQuery,
  NodeStatusSubscription,
} from '../operations';
import { ErrorMessage, LiveIndicator, Spinner, StatusBadge } from '../ui';
import { RelativeTime, toMs } from './relative-time';

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
          <NodeCounts nodes={data.nodes} />
          <ContainerCounts data={data} />
          <GroupLinks groups={data.groups} />
          <RecentEvents events={events} groups={data.groups} />
        </div>
      ) : null}
    </section>
  );
}

function NodeCounts({ nodes }: { nodes: DashboardData['nodes'] }) {
  const counts = countBy<string>(nodes, 'status');
  return (
    <article className="card" aria-labelledby="dash-nodes">
      <h2 id="dash-nodes">Nodes ({nodes.length})</h2>
      <ul className="counts" data-testid="node-counts">
        {NODE_STATUSES.map((s) => (
          <li key={s}>
            <StatusBadge value={s} /> <strong data-status={s}>{counts.get(s) ?? 0}</strong>
          </li>
        ))}
      </ul>
      <p>
        <a href="#/nodes">All nodes</a>
      </p>
    </article>
  );
}

function ContainerCounts({ data }: { data: DashboardData }) {
  return (
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
  );
}

function GroupLinks({ groups }: { groups: DashboardData['groups'] }) {
  return (
    <article className="card" aria-labelledby="dash-groups">
      <h2 id="dash-groups">Groups ({groups.length})</h2>
      <ul>
        {groups.map((g) => (
          <li key={g.id}>
            <a href={`#/${g.clusterMode ? 'metas' : 'containers'}?groupId=${encodeURIComponent(g.id)}`}>
              {g.name}
            </a>
            {g.clusterMode ? ' · cluster' : ''}
          </li>
        ))}
      </ul>
    </article>
  );
}

/** The service events seen since the page opened, newest first. */
function RecentEvents({ events, groups }: { events: MetaEvent[]; groups: DashboardData['groups'] }) {
  const groupNames = new Map(groups.map((g) => [g.id, g.name]));
  return (
    <article className="card wide" aria-labelledby="dash-events">
      <h2 id="dash-events">Recent service events</h2>
      {events.length === 0 ? (
        <p className="muted">No events since this page opened. They appear here as they happen.</p>
      ) : (
        <ol className="events" aria-live="polite">
          {events.map((e, i) => (
            <li key={`${e.timestamp}-${i}`}>
              <RelativeTime at={toMs(e.timestamp)} /> <strong>{e.event}</strong>{' '}
              <a
                href={`#/metas?groupId=${encodeURIComponent(e.groupId)}&metaId=${encodeURIComponent(e.metaId)}`}
              >
                <MetaName groupId={e.groupId} metaId={e.metaId} />
              </a>{' '}
              in {groupNames.get(e.groupId) ?? e.groupId}
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

/** A service's name, from its group's services (the id until they have loaded, or if it is gone). */
function MetaName({ groupId, metaId }: { groupId: string; metaId: string }) {
  const { data } = useQuery(MetasQuery, { groupId });
  return <>{data?.metas.find((m) => m.id === metaId)?.name ?? metaId.slice(0, 12)}</>;
}
