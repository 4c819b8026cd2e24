import { useState } from 'react';
import { useDebounced, useQuery, useSubscription } from '../api';
import type { ContainerFieldsFragment as Container, ContainerState } from '../gql/graphql';
import { ContainerStatusSubscription, ContainersQuery } from '../operations';
import { ContainerState as STATE_VALUES } from '../../../core/domain';
import { setParams } from '../nav';
import { ErrorMessage, LiveIndicator, Spinner, StatusBadge } from '../ui';
import { RelativeTime } from './relative-time';
import { ContainerActions } from './container-actions';
import { ContainerDetail } from './container-detail';
import { CreateContainerForm } from './container-form';
import { GroupSelect } from './group-select';
import { NodeSelect } from './node-select';

// The domain's vocabulary (core/domain.ts), the same values the schema's enum has.
export const STATES: ContainerState[] = Object.values(STATE_VALUES);
/** The most containers one page shows (the API's page limit). */
const PAGE = 500;

/** The page's filters and its open container, as the URL holds them. */
type Filters = { groupId: string; nodeId: string; state: ContainerState | ''; q: string; id: string };

function readFilters(params: URLSearchParams): Filters {
  return {
    groupId: params.get('groupId') ?? '',
    nodeId: params.get('nodeId') ?? '',
    state: (params.get('state') ?? '') as ContainerState | '',
    q: params.get('q') ?? '',
    id: params.get('id') ?? '',
  };
}

export function ContainersPage({ params }: { params: URLSearchParams }) {
  const filters = readFilters(params);
  const [creating, setCreating] = useState(false);
  const list = useContainerList(filters);
  const { data } = list;

  return (
    <section>
      <div className="page-head">
        <h1>Containers</h1>
        <LiveIndicator error={list.live} />
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
          defaultNodeId={filters.nodeId}
          groupId={filters.groupId}
          onCreated={(id) => {
            setCreating(false);
            list.refetch();
            setParams({ ...filters, id });
          }}
        />
      ) : null}
      <ContainerFilters filters={filters} />
      <ErrorMessage error={list.error} />
      {filters.id ? (
        <ContainerDetail
          id={filters.id}
          eventCount={list.eventCount}
          onClose={() => setParams({ ...filters, id: '' })}
          onChanged={list.refresh}
          onReplaced={(id) => {
            list.refresh();
            setParams({ ...filters, id });
          }}
        />
      ) : null}
      {list.loading && !data ? <Spinner label="Loading containers…" /> : null}
      {data ? (
        <p className="muted">
          Showing {list.rows.length} of {data.containers.totalCount} containers
          {data.containers.hasNextPage ? '; narrow the filters or search to see the others' : ''}.
        </p>
      ) : null}
      <ContainersTable
        rows={list.rows}
        onOpen={(id) => setParams({ ...filters, id })}
        onChanged={list.refresh}
      />
    </section>
  );
}

/**
 * The containers the filters select, with the state changes of status events applied until the next
 * query result; `eventCount` counts the events (the open detail refetches on it).
 */
function useContainerList({ groupId, nodeId, state, q }: Filters) {
  // Every filter, the text search included, is answered by the gateway: nothing is missed beyond the
  // first page.
  const variables = {
    groupId: groupId || null,
    nodeId: nodeId || null,
    state: state || null,
    search: q.trim() || null,
    first: PAGE,
  };
  const { data, error, loading, refetch } = useQuery(ContainersQuery, variables);
  const [patches, setPatches] = useState(new Map<string, { state: ContainerState; status: string }>());
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
  return { data, error, loading, refetch, refresh, live, eventCount, rows };
}

function ContainerFilters({ filters }: { filters: Filters }) {
  return (
    <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
      <GroupSelect
        allowAll
        value={filters.groupId}
        onChange={(id) => setParams({ ...filters, groupId: id, nodeId: '' })}
      />
      <NodeSelect
        allowAll
        groupId={filters.groupId}
        value={filters.nodeId}
        onChange={(id) => setParams({ ...filters, nodeId: id })}
      />
      <label>
        State
        <select value={filters.state} onChange={(e) => setParams({ ...filters, state: e.target.value })}>
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
        <input
          type="search"
          value={filters.q}
          onChange={(e) => setParams({ ...filters, q: e.target.value })}
        />
      </label>
    </form>
  );
}

function ContainersTable({
  rows,
  onOpen,
  onChanged,
}: {
  rows: Container[];
  onOpen: (id: string) => void;
  onChanged: () => void;
}) {
  return (
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
            <ContainerRow key={c.id} container={c} onOpen={() => onOpen(c.id)} onChanged={onChanged} />
          ))}
        </tbody>
      </table>
    </div>
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
        <code className="image-name">{c.image}</code>
      </td>
      <td>{c.node ? `${c.node.name} (${c.node.ip})` : c.nodeId.slice(0, 12)}</td>
      <td className="muted" title={c.status}>
        created <RelativeTime at={c.createdAt} />
      </td>
      <td>
        <ContainerActions id={c.id} name={c.name} state={c.state} onChanged={onChanged} />
      </td>
    </tr>
  );
}
