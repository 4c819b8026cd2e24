import { useState, type FormEvent } from 'react';
import { request, useDebounced, useMutation, useQuery, useSubscription } from '../api';
import type { ContainerAction, CreateMetaInput, MetasQuery as MetasData } from '../gql/graphql';
import {
  ContainerStatusSubscription,
  CreateMetaMutation,
  MetaEventsSubscription,
  MetasQuery,
  OperateMetaMutation,
  RemoveMetaMutation,
  UpdateMetaMutation,
  UpgradeMetaMutation,
  WebhookDeliveriesQuery,
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
  lines,
} from '../ui';
import { ACTIONS } from './containers';
import { ConfigFields, emptyDraft, toConfigInput, type ConfigDraft } from './container-form';
import { GroupSelect } from './group-select';

type Meta = MetasData['metas'][number];

export function MetasPage({ params }: { params: URLSearchParams }) {
  const groupId = params.get('groupId') ?? '';
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

function CreateMetaForm({ groupId, onCreated }: { groupId: string; onCreated: () => void }) {
  const [instances, setInstances] = useState('1');
  const [draft, setDraft] = useState<ConfigDraft>(emptyDraft);
  const [constraints, setConstraints] = useState('');
  const [webhooks, setWebhooks] = useState('');
  const [removeDelay, setRemoveDelay] = useState(false);
  const [recovery, setRecovery] = useState(true);
  const [inputError, setInputError] = useState<string | undefined>();
  const create = useMutation((input: CreateMetaInput) => request(CreateMetaMutation, { input }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let input: CreateMetaInput;
    try {
      const n = Number(instances);
      if (!Number.isInteger(n) || n < 0) throw new Error('Instances must be a whole number');
      input = {
        groupId,
        instances: n,
        config: toConfigInput(draft),
        constraints: lines(constraints),
        webhooks: lines(webhooks).map((line) => {
          const [url = '', secretToken] = line.split(/\s+/);
          return { url, secretToken: secretToken ?? null };
        }),
        removeDelay,
        recovery,
      };
      setInputError(undefined);
    } catch (err) {
      setInputError((err as Error).message);
      return;
    }
    if (await create.run(input)) onCreated();
  };

  return (
    <form className="card form config-form" aria-label="Create a service" onSubmit={submit}>
      <h2>Create a service</h2>
      <label>
        Instances
        <input
          name="instances"
          type="number"
          min={0}
          required
          value={instances}
          onChange={(e) => setInstances(e.target.value)}
        />
      </label>
      <ConfigFields draft={draft} onChange={setDraft} />
      <fieldset>
        <legend>Scheduling and webhooks</legend>
        <label>
          Constraints{' '}
          <span className="hint">(one a line, e.g. node.labels.zone==a or node.ip!=10.0.0.0/24)</span>
          <textarea
            name="constraints"
            rows={2}
            value={constraints}
            onChange={(e) => setConstraints(e.target.value)}
          />
        </label>
        <label>
          Webhooks{' '}
          <span className="hint">
            (URL and optional secret token, one a line; public addresses unless the admin allows others)
          </span>
          <textarea name="webhooks" rows={2} value={webhooks} onChange={(e) => setWebhooks(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={recovery} onChange={(e) => setRecovery(e.target.checked)} /> Recover
          missing instances
        </label>
        <label className="check">
          <input type="checkbox" checked={removeDelay} onChange={(e) => setRemoveDelay(e.target.checked)} />{' '}
          Delay removal of surplus instances
        </label>
      </fieldset>
      {inputError ? (
        <p className="error" role="alert">
          {inputError}
        </p>
      ) : null}
      <ErrorMessage error={create.error} />
      <BusyButton
        type="submit"
        className="primary"
        busy={create.busy}
        busyText="Creating and placing instances…"
      >
        Create service
      </BusyButton>
    </form>
  );
}

function MetaCard({ meta, onChanged }: { meta: Meta; onChanged: () => void }) {
  const [instances, setInstances] = useState(String(meta.instances));
  const [tag, setTag] = useState('');
  const [action, setAction] = useState<ContainerAction>('RESTART');
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [showDeliveries, setShowDeliveries] = useState(false);
  const scale = useMutation((n: number) =>
    request(UpdateMetaMutation, { id: meta.id, input: { instances: n } }),
  );
  const upgrade = useMutation((imageTag: string) => request(UpgradeMetaMutation, { id: meta.id, imageTag }));
  const operate = useMutation((a: ContainerAction) =>
    request(OperateMetaMutation, { id: meta.id, action: a }),
  );
  const remove = useMutation(() => request(RemoveMetaMutation, { id: meta.id }));

  const running = meta.containers.filter((c) => c.state === 'RUNNING').length;
  // Not "working" once the scheduler has said why it cannot go on.
  const settling =
    !meta.lastFailure && (running !== meta.instances || meta.containers.length !== meta.instances);
  const containers = [...meta.containers].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));

  return (
    <article className="card" aria-labelledby={`meta-${meta.id}`} data-meta={meta.name}>
      <div className="card-head">
        <h2 id={`meta-${meta.id}`}>{meta.name}</h2>
        <code>
          {meta.image}:{meta.imageTag}
        </code>
      </div>
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
      {meta.constraints.length > 0 ? (
        <p>
          Constraints:{' '}
          {meta.constraints.map((c) => (
            <code key={c} className="chip">
              {c}
            </code>
          ))}
        </p>
      ) : null}

      <div className="meta-controls">
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
            <input
              required
              placeholder={meta.imageTag}
              value={tag}
              onChange={(e) => setTag(e.target.value)}
            />
          </label>
          <BusyButton type="submit" busy={upgrade.busy} busyText={`Upgrading to ${tag}…`}>
            Upgrade
          </BusyButton>
        </form>
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
        <button type="button" className="danger" onClick={() => setConfirmRemove(true)}>
          Remove service
        </button>
      </div>
      <ErrorMessage error={scale.error ?? upgrade.error ?? operate.error ?? remove.error} />

      <h3>Instances</h3>
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
              <tr key={c.id} data-state={c.state}>
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
            ))}
          </tbody>
        </table>
      </div>

      <button type="button" aria-expanded={showDeliveries} onClick={() => setShowDeliveries((s) => !s)}>
        {showDeliveries ? 'Hide webhook deliveries' : 'Show webhook deliveries'}
      </button>
      {showDeliveries ? <Deliveries metaId={meta.id} /> : null}
      <p className="muted">Updated {formatTime(meta.updatedAt)}</p>

      <ConfirmDialog
        open={confirmRemove}
        title={`Remove service ${meta.name}?`}
        confirmText="Remove service"
        danger
        busy={remove.busy}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={async () => {
          const ok = await remove.run();
          setConfirmRemove(false);
          if (ok) onChanged();
        }}
      >
        <p>
          All {meta.containers.length} container{meta.containers.length === 1 ? '' : 's'} of this service are
          removed from their nodes, and its webhooks get a RemoveMetaEvent.
        </p>
      </ConfirmDialog>
    </article>
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
