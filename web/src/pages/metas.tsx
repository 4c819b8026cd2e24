import { useEffect, useState } from 'react';
import { request, useDebounced, useMutation, useQuery, useSubscription, type Mutation } from '../api';
import type {
  ContainerAction,
  MetaCardFieldsFragment as Meta,
  MetaInstanceFieldsFragment as Instance,
} from '../gql/graphql';
import {
  ContainerStatusSubscription,
  MetaEventsSubscription,
  MetasQuery,
  OperateMetaMutation,
  RemoveMetaMutation,
  UpdateMetaMutation,
  UpgradeMetaMutation,
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
import { ACTIONS } from './container-actions';
import { GroupSelect } from './group-select';
import { CreateMetaForm } from './meta-form';
import { ImportV1Meta } from './meta-import';
import { WebhookDeliveries } from './webhook-deliveries';
import { UsageHistory } from './usage-history';

const GROUP_KEY = 'humpback.services.groupId';

/** The services page comes back to the last chosen group: kept in localStorage, restored to the URL. */
function useRememberedGroup(groupId: string): void {
  useEffect(() => {
    if (groupId) localStorage.setItem(GROUP_KEY, groupId);
    else {
      const last = localStorage.getItem(GROUP_KEY);
      if (last) setParams({ groupId: last });
    }
  }, [groupId]);
}

export function MetasPage({ params }: { params: URLSearchParams }) {
  const groupId = params.get('groupId') ?? '';
  useRememberedGroup(groupId);
  const [creating, setCreating] = useState(false);
  const { data, error, loading, refetch } = useQuery(MetasQuery, { groupId }, { skip: !groupId });
  const refresh = useDebounced(refetch, 300);
  const metaLive = useSubscription(MetaEventsSubscription, { groupId }, refresh, { skip: !groupId });
  const containerLive = useSubscription(ContainerStatusSubscription, { groupId }, refresh, {
    skip: !groupId,
  });

  return (
    <section>
      <div className="page-head">
        <h1>Services</h1>
        {groupId ? <LiveIndicator error={metaLive ?? containerLive} /> : null}
        {groupId ? (
          <button
            type="button"
            className="primary"
            aria-expanded={creating}
            onClick={() => setCreating((c) => !c)}
          >
            {creating ? 'Close the form' : 'Create service'}
          </button>
        ) : null}
      </div>
      <p className="muted">
        A service (meta) is a container spec that the scheduler runs as N instances across a cluster-mode
        group.
      </p>
      <div className="filters">
        <GroupSelect
          clusterOnly
          value={groupId}
          onChange={(id) => setParams({ groupId: id })}
          label="Cluster group"
        />
      </div>
      {!groupId ? <p>Choose a cluster-mode group to see its services.</p> : null}
      {groupId ? <ImportV1Meta groupId={groupId} onImported={refetch} /> : null}
      {creating && groupId ? (
        <CreateMetaForm
          groupId={groupId}
          onCreated={() => {
            setCreating(false);
            refetch();
          }}
        />
      ) : null}
      <ErrorMessage error={error} />
      {loading && !data ? <Spinner label="Loading services…" /> : null}
      {data?.metas.length === 0 ? <p className="muted">No services in this group yet.</p> : null}
      <div className="stack">
        {data?.metas.map((m) => (
          <MetaCard key={m.id} meta={m} onChanged={refresh} />
        ))}
      </div>
    </section>
  );
}

/** What can be done to a whole service; the card shows their errors in one place. */
function useMetaOperations(id: string) {
  return {
    scale: useMutation((instances: number) => request(UpdateMetaMutation, { id, input: { instances } })),
    upgrade: useMutation((imageTag: string) => request(UpgradeMetaMutation, { id, imageTag })),
    operate: useMutation((action: ContainerAction) => request(OperateMetaMutation, { id, action })),
    remove: useMutation(() => request(RemoveMetaMutation, { id })),
  };
}

function MetaCard({ meta, onChanged }: { meta: Meta; onChanged: () => void }) {
  const ops = useMetaOperations(meta.id);
  const [confirmRemove, setConfirmRemove] = useState(false);
  return (
    <article className="card" aria-labelledby={`meta-${meta.id}`} data-meta={meta.name}>
      <div className="card-head">
        <h2 id={`meta-${meta.id}`}>{meta.name}</h2>
        <code className="image-name">
          {meta.image}:{meta.imageTag}
        </code>
      </div>
      <MetaProgress meta={meta} />
      <MetaConstraints constraints={meta.constraints} />

      <div className="meta-controls">
        <ScaleForm meta={meta} mutation={ops.scale} onChanged={onChanged} />
        <UpgradeForm meta={meta} mutation={ops.upgrade} onChanged={onChanged} />
        <OperateForm meta={meta} mutation={ops.operate} onChanged={onChanged} />
        <button type="button" className="danger" onClick={() => setConfirmRemove(true)}>
          Remove service
        </button>
      </div>
      <ErrorMessage error={ops.scale.error ?? ops.upgrade.error ?? ops.operate.error ?? ops.remove.error} />

      <h3>Instances</h3>
      <InstancesTable meta={meta} />
      <UsageHistory subject={{ kind: 'meta', id: meta.id }} title="Usage of all instances" />

      <WebhookDeliveries metaId={meta.id} />
      <p className="muted">Updated {formatTime(meta.updatedAt)}</p>

      <RemoveMetaDialog
        meta={meta}
        open={confirmRemove}
        mutation={ops.remove}
        onClose={() => setConfirmRemove(false)}
        onChanged={onChanged}
      />
    </article>
  );
}

/** How many instances run, whether the scheduler is still at it, and why it stopped if it did. */
function MetaProgress({ meta }: { meta: Meta }) {
  const running = meta.containers.filter((c) => c.state === 'RUNNING').length;
  // Not "working" once the scheduler has said why it cannot go on.
  const settling =
    !meta.lastFailure && (running !== meta.instances || meta.containers.length !== meta.instances);
  return (
    <>
      <div className="progress-line" aria-live="polite">
        <progress
          max={Math.max(meta.instances, 1)}
          value={Math.min(running, meta.instances)}
          aria-label={`${meta.name} instances running`}
        />
        <span data-testid="meta-running">
          {running} of {meta.instances} running
        </span>
        {settling ? <span className="spinner" aria-hidden="true" /> : null}
        {settling ? <span className="muted">the scheduler is working…</span> : null}
      </div>
      {meta.lastFailure ? (
        <p className="notice" data-testid="meta-failure">
          The scheduler could not create every instance ({formatTime(meta.lastFailure.at)}):{' '}
          {meta.lastFailure.message}
        </p>
      ) : null}
    </>
  );
}

function MetaConstraints({ constraints }: { constraints: string[] }) {
  if (constraints.length === 0) return null;
  return (
    <p>
      Constraints:{' '}
      {constraints.map((c) => (
        <code key={c} className="chip">
          {c}
        </code>
      ))}
    </p>
  );
}

/** A control of the card: its form, run through the card's mutation. */
interface ControlProps<A extends unknown[]> {
  meta: Meta;
  mutation: Mutation<A, unknown>;
  onChanged: () => void;
}

function ScaleForm({ meta, mutation: scale, onChanged }: ControlProps<[number]>) {
  const [instances, setInstances] = useState(String(meta.instances));
  return (
    <form
      className="inline"
      aria-label={`Scale ${meta.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (await scale.run(Number(instances))) onChanged();
      }}
    >
      <label>
        Instances
        <input
          type="number"
          min={0}
          required
          value={instances}
          onChange={(e) => setInstances(e.target.value)}
        />
      </label>
      <BusyButton type="submit" busy={scale.busy} busyText={`Scaling to ${instances}…`}>
        Scale
      </BusyButton>
    </form>
  );
}

function UpgradeForm({ meta, mutation: upgrade, onChanged }: ControlProps<[string]>) {
  const [tag, setTag] = useState('');
  return (
    <form
      className="inline"
      aria-label={`Upgrade ${meta.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (await upgrade.run(tag.trim())) {
          setTag('');
          onChanged();
        }
      }}
    >
      <label>
        New image tag
        <input required placeholder={meta.imageTag} value={tag} onChange={(e) => setTag(e.target.value)} />
      </label>
      <BusyButton type="submit" busy={upgrade.busy} busyText={`Upgrading to ${tag}…`}>
        Upgrade
      </BusyButton>
    </form>
  );
}

function OperateForm({ meta, mutation: operate, onChanged }: ControlProps<[ContainerAction]>) {
  const [action, setAction] = useState<ContainerAction>('RESTART');
  return (
    <form
      className="inline"
      aria-label={`Operate ${meta.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (await operate.run(action)) onChanged();
      }}
    >
      <label>
        All instances
        <select value={action} onChange={(e) => setAction(e.target.value as ContainerAction)}>
          {ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a.toLowerCase()}
            </option>
          ))}
        </select>
      </label>
      <BusyButton type="submit" busy={operate.busy} busyText="Working…">
        Apply
      </BusyButton>
    </form>
  );
}

function RemoveMetaDialog({
  meta,
  open,
  mutation: remove,
  onClose,
  onChanged,
}: ControlProps<[]> & { open: boolean; onClose: () => void }) {
  const count = meta.containers.length;
  return (
    <ConfirmDialog
      open={open}
      title={`Remove service ${meta.name}?`}
      confirmText="Remove service"
      danger
      busy={remove.busy}
      onCancel={onClose}
      onConfirm={async () => {
        const ok = await remove.run();
        onClose();
        if (ok) onChanged();
      }}
    >
      <p>
        All {count} container{count === 1 ? '' : 's'} of this service are removed from their nodes, and its
        webhooks get a RemoveMetaEvent.
      </p>
    </ConfirmDialog>
  );
}

/** The service's containers in instance order. */
function InstancesTable({ meta }: { meta: Meta }) {
  const containers = [...meta.containers].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  return (
    <div className="table-wrap">
      <table className="list" aria-label={`Instances of ${meta.name}`}>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Container</th>
            <th scope="col">State</th>
            <th scope="col">Runs on</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {containers.map((c) => (
            <InstanceRow key={c.id} instance={c} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function InstanceRow({ instance: c }: { instance: Instance }) {
  return (
    <tr data-state={c.state}>
      <td>{c.index ?? '–'}</td>
      <th scope="row">
        <a href={`#/containers?id=${encodeURIComponent(c.id)}`}>{c.name}</a>
      </th>
      <td>
        <StatusBadge value={c.state} />
      </td>
      <td>{c.node ? `${c.node.name} (${c.node.ip})` : c.nodeId.slice(0, 12)}</td>
      <td className="muted">{c.status}</td>
    </tr>
  );
}
