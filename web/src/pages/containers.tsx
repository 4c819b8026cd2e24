import { useEffect, useState } from 'react';
import { request, useDebounced, useMutation, useQuery, useSubscription } from '../api';
import type { ContainerAction, ContainerState, ContainersQuery as ContainersData } from '../gql/graphql';
import {
  ContainerLogsQuery,
  ContainerQuery,
  ContainerStatusSubscription,
  ContainersQuery,
  OperateContainerMutation,
  RemoveContainerMutation,
} from '../operations';
import { setParams } from '../nav';
import {
  BusyButton,
  ConfirmDialog,
  ErrorMessage,
  LiveIndicator,
  Spinner,
  StatusBadge,
  formatTime,
} from '../ui';
import { CreateContainerForm } from './container-form';
import { UsageChart } from './usage-chart';
import { GroupSelect } from './group-select';
import { NodeSelect } from './node-select';

type Container = ContainersData['containers']['nodes'][number];

export const STATES: ContainerState[] = [
  'CREATED',
  'RUNNING',
  'PAUSED',
  'RESTARTING',
  'EXITED',
  'DEAD',
  'REMOVING',
];
export const ACTIONS: ContainerAction[] = ['START', 'STOP', 'RESTART', 'KILL', 'PAUSE', 'UNPAUSE'];

/** Which actions make sense in a state (the others are hidden, not just disabled). */
export function actionsFor(state: ContainerState): ContainerAction[] {
  switch (state) {
    case 'RUNNING':
      return ['STOP', 'RESTART', 'KILL', 'PAUSE'];
    case 'PAUSED':
      return ['UNPAUSE', 'KILL'];
    case 'RESTARTING':
      return ['STOP', 'KILL'];
    case 'CREATED':
    case 'EXITED':
    case 'DEAD':
      return ['START'];
    case 'REMOVING':
      return [];
  }
}

const ACTION_BUSY: Record<ContainerAction, string> = {
  START: 'Starting…',
  STOP: 'Stopping…',
  RESTART: 'Restarting…',
  KILL: 'Killing…',
  PAUSE: 'Pausing…',
  UNPAUSE: 'Resuming…',
};

/** The most containers one page shows (the API's page limit). */
const PAGE = 500;

export function ContainersPage({ params }: { params: URLSearchParams }) {
  const groupId = params.get('groupId') ?? '';
  const nodeId = params.get('nodeId') ?? '';
  const state = (params.get('state') ?? '') as ContainerState | '';
  const text = params.get('q') ?? '';
  const selected = params.get('id');
  const filters = { groupId, nodeId, state, q: text, id: selected ?? '' };
  const [creating, setCreating] = useState(false);

  // Every filter, the text search included, is answered by the gateway: nothing is missed beyond the
  // first page.
  const variables = {
    groupId: groupId || null,
    nodeId: nodeId || null,
    state: state || null,
    search: text.trim() || null,
    first: PAGE,
  };
  const { data, error, loading, refetch } = useQuery(ContainersQuery, variables);
  const [patches, setPatches] = useState(new Map<string, { state: ContainerState; status: string }>());
  // Bumped on every status event: the open detail panel refetches on it.
  const [eventCount, setEventCount] = useState(0);
  const refresh = useDebounced(() => {
    refetch();
    setEventCount((n) => n + 1);
  }, 400);
  const live = useSubscription(
    ContainerStatusSubscription,
    { groupId: groupId || null, nodeId: nodeId || null },
    ({ containerStatusChanged: { container } }) => {
      setPatches((p) => new Map(p).set(container.id, { state: container.state, status: container.status }));
      refresh();
    },
  );

  // A fresh query result supersedes the patches applied from events.
  const [seen, setSeen] = useState(data);
  if (seen !== data) {
    setSeen(data);
    setPatches(new Map());
  }

  const rows = (data?.containers.nodes ?? [])
    .map((c) => ({ ...c, ...patches.get(c.id) }))
    .filter((c) => !state || c.state === state);

  return (
    <section>
      <div className="page-head">
        <h1>Containers</h1>
        <LiveIndicator error={live} />
        <button
          type="button"
          className="primary"
          aria-expanded={creating}
          onClick={() => setCreating((c) => !c)}
        >
          {creating ? 'Close the form' : 'Create container'}
        </button>
      </div>
      {creating ? (
        <CreateContainerForm
          defaultNodeId={nodeId}
          groupId={groupId}
          onCreated={(id) => {
            setCreating(false);
            refetch();
            setParams({ ...filters, id });
          }}
        />
      ) : null}
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <GroupSelect
          allowAll
          value={groupId}
          onChange={(id) => setParams({ ...filters, groupId: id, nodeId: '' })}
        />
        <NodeSelect
          allowAll
          groupId={groupId}
          value={nodeId}
          onChange={(id) => setParams({ ...filters, nodeId: id })}
        />
        <label>
          State
          <select value={state} onChange={(e) => setParams({ ...filters, state: e.target.value })}>
            <option value="">Any state</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name or image
          <input type="search" value={text} onChange={(e) => setParams({ ...filters, q: e.target.value })} />
        </label>
      </form>
      <ErrorMessage error={error} />
      {selected ? (
        <ContainerDetail
          id={selected}
          eventCount={eventCount}
          onClose={() => setParams({ ...filters, id: '' })}
          onChanged={refresh}
        />
      ) : null}
      {loading && !data ? <Spinner label="Loading containers…" /> : null}
      {data ? (
        <p className="muted">
          Showing {rows.length} of {data.containers.totalCount} containers
          {data.containers.hasNextPage ? '; narrow the filters or search to see the others' : ''}.
        </p>
      ) : null}
      <div className="table-wrap">
        <table className="list" aria-label="Containers">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Image</th>
              <th scope="col">Node</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <ContainerRow
                key={c.id}
                container={c}
                onOpen={() => setParams({ ...filters, id: c.id })}
                onChanged={refresh}
              />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ContainerRow({
  container: c,
  onOpen,
  onChanged,
}: {
  container: Container;
  onOpen: () => void;
  onChanged: () => void;
}) {
  return (
    <tr data-container={c.name} data-state={c.state}>
      <th scope="row">
        <button type="button" className="link" onClick={onOpen}>
          {c.name}
        </button>
        {c.metaId ? <span className="muted"> · service #{c.index}</span> : null}
      </th>
      <td>
        <StatusBadge value={c.state} />
      </td>
      <td>
        <code>{c.image}</code>
      </td>
      <td>{c.node ? `${c.node.name} (${c.node.ip})` : c.nodeId.slice(0, 12)}</td>
      <td className="muted">{c.status}</td>
      <td>
        <ContainerActions id={c.id} name={c.name} state={c.state} onChanged={onChanged} />
      </td>
    </tr>
  );
}

export function ContainerActions({
  id,
  name,
  state,
  onChanged,
  onRemoved,
}: {
  id: string;
  name: string;
  state: ContainerState;
  onChanged: () => void;
  onRemoved?: () => void;
}) {
  const [running, setRunning] = useState<ContainerAction | 'REMOVE' | null>(null);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const operate = useMutation((action: ContainerAction) => request(OperateContainerMutation, { id, action }));
  const remove = useMutation(() => request(RemoveContainerMutation, { id, force: true }));
  return (
    <div className="row-actions">
      {actionsFor(state).map((action) => (
        <BusyButton
          key={action}
          className="small"
          busy={operate.busy && running === action}
          disabled={operate.busy || remove.busy}
          busyText={ACTION_BUSY[action]}
          aria-label={`${action.toLowerCase()} ${name}`}
          onClick={async () => {
            setRunning(action);
            if (await operate.run(action)) onChanged();
            setRunning(null);
          }}
        >
          {action.charAt(0) + action.slice(1).toLowerCase()}
        </BusyButton>
      ))}
      <button
        type="button"
        className="small danger"
        disabled={operate.busy || remove.busy}
        aria-label={`remove ${name}`}
        onClick={() => setConfirmRemove(true)}
      >
        Remove
      </button>
      <ErrorMessage error={operate.error ?? remove.error} />
      <ConfirmDialog
        open={confirmRemove}
        title={`Remove container ${name}?`}
        confirmText="Remove"
        danger
        busy={remove.busy}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={async () => {
          const ok = await remove.run();
          setConfirmRemove(false);
          if (ok) {
            onChanged();
            onRemoved?.();
          }
        }}
      >
        <p>
          The container is stopped if it runs and then deleted with its writable layer. Volumes on the host
          stay.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function ContainerDetail({
  id,
  eventCount,
  onClose,
  onChanged,
}: {
  id: string;
  eventCount: number;
  onClose: () => void;
  onChanged: () => void;
}) {
  const { data, error, refetch } = useQuery(ContainerQuery, { id });
  const [seenEvents, setSeenEvents] = useState(eventCount);
  useEffect(() => {
    if (eventCount !== seenEvents) {
      setSeenEvents(eventCount);
      refetch();
    }
  }, [eventCount, seenEvents, refetch]);
  const [tail, setTail] = useState(200);
  const logs = useQuery(ContainerLogsQuery, { id, tail });
  const c = data?.container;
  return (
    <article className="card detail" aria-labelledby="container-detail">
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
          <dl className="facts">
            <dt>Id</dt>
            <dd>
              <code>{c.id.slice(0, 12)}</code>
            </dd>
            <dt>Image</dt>
            <dd>
              <code>{c.image}</code>
            </dd>
            <dt>Node</dt>
            <dd>{c.node ? `${c.node.name} (${c.node.ip})` : c.nodeId}</dd>
            <dt>Status</dt>
            <dd>{c.status}</dd>
            <dt>Created</dt>
            <dd>{formatTime(c.createdAt)}</dd>
            {c.metaId ? (
              <>
                <dt>Service</dt>
                <dd>
                  <a href={`#/metas?metaId=${encodeURIComponent(c.metaId)}`}>instance #{c.index}</a>
                </dd>
              </>
            ) : null}
          </dl>
          <ContainerActions
            id={c.id}
            name={c.name}
            state={c.state}
            onChanged={() => {
              refetch();
              onChanged();
              logs.refetch();
            }}
            onRemoved={onClose}
          />
          {c.state === 'RUNNING' ? <UsageChart containerId={c.id} /> : null}
          <div className="card-head">
            <h3>Logs</h3>
            <label className="inline-label">
              Lines
              <select value={tail} onChange={(e) => setTail(Number(e.target.value))}>
                {[50, 200, 1000].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <BusyButton busy={logs.loading} busyText="Loading…" onClick={logs.refetch}>
              Refresh logs
            </BusyButton>
          </div>
          <ErrorMessage error={logs.error} />
          <pre className="logs" tabIndex={0} aria-label="Container logs">
            {logs.data ? logs.data.containerLogs.join('\n') || '(no output)' : ''}
          </pre>
        </>
      ) : null}
    </article>
  );
}
