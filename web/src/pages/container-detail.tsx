import { useCallback, useEffect, useState } from 'react';
import { useQuery } from '../api';
import { ContainerDetailQuery, ContainerQuery } from '../operations';
import { ErrorMessage, StatusBadge } from '../ui';
import { ContainerActions } from './container-actions';
import { ContainerConsole } from './container-console';
import { ContainerFacts } from './container-facts';
import { ContainerLogs } from './container-logs';
import { ContainerManage } from './container-manage';
import { UsageHistory } from './usage-history';

/**
 * The container page's panel: its facts and the engine's details, its actions, rename and upgrade,
 * usage history, live logs and a console. `eventCount` changes (status events) refetch it.
 */
export function ContainerDetail({
  id,
  eventCount,
  onClose,
  onChanged,
  onReplaced,
}: {
  id: string;
  eventCount: number;
  onClose: () => void;
  onChanged: () => void;
  /** An upgrade made a new container in its place. */
  onReplaced: (newId: string) => void;
}) {
  const { summary, details, refetch } = useContainer(id, eventCount);
  const { data, error } = summary;
  const changed = () => {
    refetch();
    onChanged();
  };
  const c = data?.container;
  const d = details.data?.container ?? undefined;
  const running = c?.state === 'RUNNING';
  const starts = useStarts(c?.state);
  return (
    <article className="card detail" aria-labelledby="container-detail" data-detail={c?.name}>
      <div className="card-head">
        <h2 id="container-detail">{c ? c.name : 'Container'}</h2>
        {c ? <StatusBadge value={c.state} /> : null}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorMessage error={error} />
      {data && !c ? <p>This container no longer exists.</p> : null}
      {c ? (
        <>
          <ContainerFacts container={c} details={d} />
          <ErrorMessage error={details.error} />
          <div className="detail-actions">
            <ContainerActions
              id={c.id}
              name={c.name}
              state={c.state}
              onChanged={changed}
              onRemoved={onClose}
            />
            {c.metaId ? null : (
              <ContainerManage
                id={c.id}
                name={c.name}
                image={c.image}
                onRenamed={changed}
                onUpgraded={onReplaced}
              />
            )}
          </div>
          <UsageHistory subject={{ kind: 'container', id: c.id }} title="Usage" />
          {/* A start begins a new process and log stream: the logs follow it from its start. */}
          <ContainerLogs key={`${c.id}-${starts}`} id={c.id} name={c.name} running={running} />
          <ContainerConsole key={c.id} id={c.id} running={running} />
        </>
      ) : null}
    </article>
  );
}

/** How often the state turned RUNNING since the panel opened (each start is a new log stream). */
function useStarts(state: string | undefined): number {
  const [starts, setStarts] = useState(0);
  const [last, setLast] = useState(state);
  if (state !== last) {
    setLast(state);
    if (state === 'RUNNING' && last !== undefined) setStarts((n) => n + 1);
  }
  return starts;
}

/**
 * The container and, asked apart, the engine's details of it (a node that cannot be reached still
 * leaves the rest); both are refetched when `eventCount` changes.
 */
function useContainer(id: string, eventCount: number) {
  const summary = useQuery(ContainerQuery, { id });
  const details = useQuery(ContainerDetailQuery, { id });
  const { refetch: refetchSummary } = summary;
  const { refetch: refetchDetails } = details;
  const refetch = useCallback(() => {
    refetchSummary();
    refetchDetails();
  }, [refetchSummary, refetchDetails]);
  const [seenEvents, setSeenEvents] = useState(eventCount);
  useEffect(() => {
    if (eventCount !== seenEvents) {
      setSeenEvents(eventCount);
      refetch();
    }
  }, [eventCount, seenEvents, refetch]);
  return { summary, details, refetch };
}
