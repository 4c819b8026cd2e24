import { useState } from 'react';
import { request, useDebounced, useMutation, useQuery, useSubscription } from '../api';
import type { LabelFieldsFragment as Label, NodeCardFieldsFragment as Node } from '../gql/graphql';
import { NodeStatusSubscription, NodesQuery, SetNodeLabelsMutation } from '../operations';
import { setParams } from '../nav';
import {
  ErrorMessage,
  LiveIndicator,
  SaveCancel,
  Spinner,
  StatusBadge,
  UsageBar,
  formatBytes,
  parseLabels,
} from '../ui';
import { GroupSelect } from './group-select';
import type { Viewer } from '../viewer';
import { UsageHistory } from './usage-history';

export function NodesPage({ params, viewer }: { params: URLSearchParams; viewer: Viewer }) {
  const groupId = params.get('groupId') ?? '';
  const { data, error, loading, refetch } = useQuery(
    NodesQuery,
    { groupId: groupId || null },
    { pollMs: 10_000 },
  );
  const refresh = useDebounced(refetch, 300);
  const live = useSubscription(NodeStatusSubscription, { groupId: groupId || null }, refresh);

  return (
    <section>
      <div className="page-head">
        <h1>Nodes</h1>
        <LiveIndicator error={live} />
      </div>
      <div className="filters">
        <GroupSelect allowAll value={groupId} onChange={(id) => setParams({ groupId: id })} />
      </div>
      <ErrorMessage error={error} />
      {loading && !data ? <Spinner label="Loading nodes…" /> : null}
      {data?.nodes.length === 0 ? (
        <p className="muted">No nodes. Agents appear here when they register.</p>
      ) : null}
      <div className="grid">
        {data?.nodes.map((n) => (
          <NodeCard key={n.id} node={n} viewer={viewer} onChanged={refetch} />
        ))}
      </div>
    </section>
  );
}

function NodeCard({ node, viewer, onChanged }: { node: Node; viewer: Viewer; onChanged: () => void }) {
  return (
    <article className="card" aria-labelledby={`node-${node.id}`} data-node={node.name}>
      <div className="card-head">
        <h2 id={`node-${node.id}`}>{node.name}</h2>
        <StatusBadge value={node.status} />
      </div>
      {node.statusReason ? (
        <p className="error" data-testid="status-reason">
          {node.statusReason}
        </p>
      ) : null}
      <p className="muted">
        {node.ip} · {node.cpus} CPU · {formatBytes(node.memoryBytes)}
        {node.dockerVersion ? ` · Docker ${node.dockerVersion}` : ''}
      </p>
      <NodeUsage node={node} />
      <UsageHistory subject={{ kind: 'node', id: node.id }} title="Usage" />
      <h3>Labels</h3>
      <NodeLabels node={node} viewer={viewer} onChanged={onChanged} />
      {node.engineLabels.length > 0 ? (
        <details>
          <summary>Engine labels ({node.engineLabels.length})</summary>
          <LabelList labels={node.engineLabels} />
        </details>
      ) : null}
      <p className="links">
        <a href={`#/containers?nodeId=${encodeURIComponent(node.id)}`}>Containers</a> ·{' '}
        <a href={`#/images?nodeId=${encodeURIComponent(node.id)}`}>Images</a>
      </p>
    </article>
  );
}

/** CPU and memory in use, as the node's agent last reported them. */
function NodeUsage({ node }: { node: Node }) {
  const cpu = node.cpuPercent ?? undefined;
  const mem = node.memoryUsedBytes ?? undefined;
  return (
    <>
      <UsageBar
        label="CPU"
        fraction={cpu === undefined ? undefined : cpu / 100}
        text={cpu === undefined ? 'unknown' : `${cpu.toFixed(1)} %`}
      />
      <UsageBar
        label="Memory"
        fraction={mem === undefined || !node.memoryBytes ? undefined : mem / node.memoryBytes}
        text={mem === undefined ? 'unknown' : `${formatBytes(mem)} of ${formatBytes(node.memoryBytes)}`}
      />
    </>
  );
}

/** The node's labels (what constraints match); admins edit them. */
function NodeLabels({ node, viewer, onChanged }: { node: Node; viewer: Viewer; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const save = useMutation((labels: { key: string; value: string }[]) =>
    request(SetNodeLabelsMutation, { nodeId: node.id, labels }),
  );
  if (!editing) {
    return (
      <>
        <LabelList labels={node.labels} />
        {/* Nodes are the cluster's: only admins label them. */}
        {viewer.admin ? (
          <button
            type="button"
            onClick={() => {
              setText(node.labels.map((l) => `${l.key}=${l.value}`).join('\n'));
              setEditing(true);
            }}
          >
            Edit labels
          </button>
        ) : null}
      </>
    );
  }
  return (
    <form
      className="form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await save.run(parseLabels(text))) {
          setEditing(false);
          onChanged();
        }
      }}
    >
      <label>
        Labels (key=value, one a line)
        <textarea rows={4} value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <ErrorMessage error={save.error} />
      <SaveCancel busy={save.busy} saveText="Save labels" onCancel={() => setEditing(false)} />
    </form>
  );
}

function LabelList({ labels }: { labels: Label[] }) {
  return (
    <ul className="labels">
      {labels.length === 0 ? <li className="muted">none</li> : null}
      {labels.map((l) => (
        <li key={l.key}>
          <code>
            {l.key}={l.value}
          </code>
        </li>
      ))}
    </ul>
  );
}
