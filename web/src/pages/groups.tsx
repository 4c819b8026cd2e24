import { useState, type FormEvent } from 'react';
import { request, useDebounced, useMutation, useQuery, useSubscription, type Mutation } from '../api';
import type { GroupCardFieldsFragment as Group } from '../gql/graphql';
import {
  CreateGroupMutation,
  DeleteGroupMutation,
  GroupsQuery,
  NodeStatusSubscription,
  UpdateGroupMutation,
} from '../operations';
import { BusyButton, ConfirmDialog, ErrorMessage, SaveCancel, Spinner, lines } from '../ui';
import type { Viewer } from '../viewer';
import { GroupAccess } from './group-access';
import { GroupOwners, GroupServers, HostPaths, type CardProps } from './group-sections';

export function GroupsPage({ viewer }: { viewer: Viewer }) {
  const { data, error, loading, refetch } = useQuery(GroupsQuery, {});
  // Servers turn into nodes, and nodes change status, while the page is open.
  const refresh = useDebounced(refetch, 300);
  useSubscription(NodeStatusSubscription, { groupId: null }, refresh);

  return (
    <section>
      <div className="page-head">
        <h1>Groups</h1>
      </div>
      <CreateGroupForm viewer={viewer} onCreated={refetch} />
      <ErrorMessage error={error} />
      {loading && !data ? <Spinner label="Loading groups…" /> : null}
      {data?.groups.length === 0 ? <p className="muted">No groups yet. Create one above.</p> : null}
      <div className="stack">
        {data?.groups.map((g) => (
          <GroupCard key={g.id} group={g} viewer={viewer} onChanged={refetch} />
        ))}
      </div>
    </section>
  );
}

function CreateGroupForm({ viewer, onCreated }: { viewer: Viewer; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [clusterMode, setClusterMode] = useState(false);
  const [servers, setServers] = useState('');
  const [v1Id, setV1Id] = useState('');
  const create = useMutation(() =>
    request(CreateGroupMutation, {
      input: {
        name: name.trim(),
        description: description.trim() || null,
        clusterMode,
        // Servers are the cluster's: only admins put them in groups.
        ...(viewer.admin ? { servers: lines(servers) } : {}),
        ...(v1Id.trim() ? { id: v1Id.trim() } : {}),
      },
    }),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await create.run()) {
      setName('');
      setDescription('');
      setServers('');
      setV1Id('');
      setClusterMode(false);
      onCreated();
    }
  };
  return (
    <details className="card">
      <summary>Create a group</summary>
      <form onSubmit={submit} className="form" aria-label="Create a group">
        <label>
          Name
          <input name="name" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Description
          <input name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        {viewer.admin ? (
          <>
            <label>
              Servers (ip or hostname, one a line)
              <textarea
                name="servers"
                rows={3}
                value={servers}
                onChange={(e) => setServers(e.target.value)}
              />
            </label>
            <label>
              Humpback v1 GroupId (optional: importing a v1 group keeps its id, so its containers belong here)
              <input name="v1GroupId" value={v1Id} onChange={(e) => setV1Id(e.target.value)} />
            </label>
          </>
        ) : (
          <p className="muted">An administrator adds the group’s servers.</p>
        )}
        <label className="check">
          <input type="checkbox" checked={clusterMode} onChange={(e) => setClusterMode(e.target.checked)} />{' '}
          Cluster mode (the scheduler places services on these servers)
        </label>
        <ErrorMessage error={create.error} />
        <BusyButton type="submit" className="primary" busy={create.busy} busyText="Creating…">
          Create group
        </BusyButton>
      </form>
    </details>
  );
}

function GroupCard({ group, viewer, onChanged }: CardProps) {
  const [dialog, setDialog] = useState<'cluster-mode' | 'delete' | null>(null);
  const toggleMode = useMutation(() =>
    request(UpdateGroupMutation, {
      id: group.id,
      input: group.clusterMode
        ? { clusterMode: false, confirmRemoveClusterContainers: true }
        : { clusterMode: true },
    }),
  );
  const remove = useMutation(() => request(DeleteGroupMutation, { id: group.id }));
  const close = () => setDialog(null);

  return (
    <article className="card" aria-labelledby={`group-${group.id}`} data-group={group.name}>
      <div className="card-head">
        <h2 id={`group-${group.id}`}>{group.name}</h2>
        <span className={`badge ${group.clusterMode ? 'ok' : 'info'}`}>
          {group.clusterMode ? 'Cluster mode' : 'Single mode'}
        </span>
      </div>
      {group.description ? <p>{group.description}</p> : null}

      <GroupEditor
        group={group}
        onChanged={onChanged}
        onToggleMode={() => setDialog('cluster-mode')}
        onDelete={() => setDialog('delete')}
      />
      <ErrorMessage error={toggleMode.error ?? remove.error} />

      <GroupServers group={group} viewer={viewer} onChanged={onChanged} />
      <HostPaths group={group} viewer={viewer} onChanged={onChanged} />
      <GroupOwners group={group} viewer={viewer} onChanged={onChanged} />
      <GroupAccess groupId={group.id} viewer={viewer} />

      <ClusterModeDialog
        group={group}
        open={dialog === 'cluster-mode'}
        mutation={toggleMode}
        onClose={close}
        onChanged={onChanged}
      />
      <DeleteGroupDialog
        group={group}
        open={dialog === 'delete'}
        mutation={remove}
        onClose={close}
        onChanged={onChanged}
      />
    </article>
  );
}

/** The card's buttons that open its confirmations. */
type Openers = { onToggleMode: () => void; onDelete: () => void };

/** The group's name and description, edited in place; the card's buttons while not editing. */
function GroupEditor({ group, onChanged, ...openers }: { group: Group; onChanged: () => void } & Openers) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(group.name);
  const [description, setDescription] = useState(group.description ?? '');
  const save = useMutation(() =>
    request(UpdateGroupMutation, {
      id: group.id,
      input: { name: name.trim(), description: description.trim() || null },
    }),
  );
  if (!editing) {
    return <GroupActions group={group} onEdit={() => setEditing(true)} {...openers} />;
  }
  return (
    <form
      className="form"
      aria-label={`Edit ${group.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (await save.run()) {
          setEditing(false);
          onChanged();
        }
      }}
    >
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <ErrorMessage error={save.error} />
      <SaveCancel busy={save.busy} onCancel={() => setEditing(false)} />
    </form>
  );
}

function GroupActions({
  group,
  onEdit,
  onToggleMode,
  onDelete,
}: { group: Group; onEdit: () => void } & Openers) {
  return (
    <div className="actions">
      <button type="button" onClick={onEdit}>
        Edit
      </button>
      <button type="button" onClick={onToggleMode}>
        {group.clusterMode ? 'Turn cluster mode off' : 'Turn cluster mode on'}
      </button>
      <a
        className="button"
        href={`#/${group.clusterMode ? 'metas' : 'containers'}?groupId=${encodeURIComponent(group.id)}`}
      >
        {group.clusterMode ? 'Services' : 'Containers'}
      </a>
      <button type="button" className="danger" onClick={onDelete}>
        Delete
      </button>
    </div>
  );
}

/** A confirmation of the card, run through the card's mutation (whose error the card shows). */
interface DialogProps {
  group: Group;
  open: boolean;
  mutation: Mutation<[], unknown>;
  onClose: () => void;
  onChanged: () => void;
}

function ClusterModeDialog({ group, open, mutation, onClose, onChanged }: DialogProps) {
  const turningOff = group.clusterMode;
  return (
    <ConfirmDialog
      open={open}
      title={
        turningOff ? `Turn cluster mode off for ${group.name}?` : `Turn cluster mode on for ${group.name}?`
      }
      confirmText={turningOff ? (group.metas.length > 0 ? 'Turn off and remove' : 'Turn off') : 'Turn on'}
      danger={turningOff}
      busy={mutation.busy}
      onCancel={onClose}
      onConfirm={async () => {
        const ok = await mutation.run();
        onClose();
        if (ok) onChanged();
      }}
    >
      {turningOff ? (
        <ClusterOffConsequences metas={group.metas} />
      ) : (
        <p>
          The scheduler will place services on this group’s servers. Existing containers stay as they are.
        </p>
      )}
    </ConfirmDialog>
  );
}

/** What turning cluster mode off removes: every service and its containers, nothing else. */
function ClusterOffConsequences({ metas }: { metas: Group['metas'] }) {
  if (metas.length === 0) return <p>The group has no services, so no containers are removed.</p>;
  const containers = metas.reduce((n, m) => n + m.instances, 0);
  return (
    <>
      <p>
        This removes {metas.length} service{metas.length === 1 ? '' : 's'} and their {containers} cluster
        container{containers === 1 ? '' : 's'} from the group’s servers:
      </p>
      <ul>
        {metas.map((m) => (
          <li key={m.id}>
            {m.name} ({m.instances} instance{m.instances === 1 ? '' : 's'})
          </li>
        ))}
      </ul>
      <p>Containers created in single mode stay.</p>
    </>
  );
}

function DeleteGroupDialog({ group, open, mutation, onClose, onChanged }: DialogProps) {
  return (
    <ConfirmDialog
      open={open}
      title={`Delete group ${group.name}?`}
      confirmText="Delete group"
      danger
      busy={mutation.busy}
      onCancel={onClose}
      onConfirm={async () => {
        const ok = await mutation.run();
        onClose();
        if (ok) onChanged();
      }}
    >
      <p>The group and its server list are deleted. Running containers are not touched by this.</p>
    </ConfirmDialog>
  );
}
