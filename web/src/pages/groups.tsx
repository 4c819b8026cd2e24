import { useState, type FormEvent } from 'react';
import { request, useDebounced, useMutation, useQuery, useSubscription } from '../api';
import type { GroupsQuery as GroupsData } from '../gql/graphql';
import {
  AddServerMutation,
  CreateGroupMutation,
  DeleteGroupMutation,
  GroupsQuery,
  NodeStatusSubscription,
  RemoveServerMutation,
  UpdateGroupMutation,
} from '../operations';
import { BusyButton, ConfirmDialog, ErrorMessage, Spinner, StatusBadge, lines } from '../ui';
import type { Viewer } from '../viewer';

type Group = GroupsData['groups'][number];

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
  const create = useMutation(() =>
    request(CreateGroupMutation, {
      input: {
        name: name.trim(),
        description: description.trim() || null,
        clusterMode,
        // Servers are the cluster's: only admins put them in groups.
        ...(viewer.admin ? { servers: lines(servers) } : {}),
      },
    }),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await create.run()) {
      setName('');
      setDescription('');
      setServers('');
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
          <label>
            Servers (ip or hostname, one a line)
            <textarea name="servers" rows={3} value={servers} onChange={(e) => setServers(e.target.value)} />
          </label>
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

function GroupCard({ group, viewer, onChanged }: { group: Group; viewer: Viewer; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(group.name);
  const [description, setDescription] = useState(group.description ?? '');
  const [ownersText, setOwnersText] = useState('');
  const [confirmMode, setConfirmMode] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const save = useMutation(() =>
    request(UpdateGroupMutation, {
      id: group.id,
      input: { name: name.trim(), description: description.trim() || null },
    }),
  );
  const toggleMode = useMutation(() =>
    request(UpdateGroupMutation, {
      id: group.id,
      input: group.clusterMode
        ? { clusterMode: false, confirmRemoveClusterContainers: true }
        : { clusterMode: true },
    }),
  );
  const setOwners = useMutation((list: string[]) =>
    request(UpdateGroupMutation, { id: group.id, input: { owners: list } }),
  );
  const remove = useMutation(() => request(DeleteGroupMutation, { id: group.id }));

  const clusterContainers = group.metas.reduce((n, m) => n + m.instances, 0);

  return (
    <article className="card" aria-labelledby={`group-${group.id}`} data-group={group.name}>
      <div className="card-head">
        <h2 id={`group-${group.id}`}>{group.name}</h2>
        <span className={`badge ${group.clusterMode ? 'ok' : 'info'}`}>
          {group.clusterMode ? 'Cluster mode' : 'Single mode'}
        </span>
      </div>
      {group.description ? <p>{group.description}</p> : null}

      {editing ? (
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
          <div className="actions">
            <BusyButton type="submit" className="primary" busy={save.busy} busyText="Saving…">
              Save
            </BusyButton>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="actions">
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
          <button type="button" onClick={() => setConfirmMode(true)}>
            {group.clusterMode ? 'Turn cluster mode off' : 'Turn cluster mode on'}
          </button>
          <a
            className="button"
            href={`#/${group.clusterMode ? 'metas' : 'containers'}?groupId=${encodeURIComponent(group.id)}`}
          >
            {group.clusterMode ? 'Services' : 'Containers'}
          </a>
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete
          </button>
        </div>
      )}
      <ErrorMessage error={toggleMode.error ?? remove.error} />

      <GroupServers group={group} viewer={viewer} onChanged={onChanged} />
      <HostPaths group={group} viewer={viewer} onChanged={onChanged} />

      <h3>Owners</h3>
      <p>
        {group.owners.length > 0 ? (
          group.owners.join(', ')
        ) : (
          <span className="muted">Only administrators.</span>
        )}
      </p>
      {viewer.admin || group.owners.includes(viewer.id) ? (
        <form
          className="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            const list = ownersText
              .split(/[\s,]+/)
              .map((o) => o.trim().toLowerCase())
              .filter(Boolean);
            if (await setOwners.run(list)) {
              setOwnersText('');
              onChanged();
            }
          }}
        >
          <label>
            New owners (user names, comma separated)
            <input
              value={ownersText}
              placeholder={group.owners.join(', ')}
              onChange={(e) => setOwnersText(e.target.value)}
            />
          </label>
          <BusyButton type="submit" busy={setOwners.busy} busyText="Saving…">
            Save owners
          </BusyButton>
        </form>
      ) : null}
      <ErrorMessage error={setOwners.error} />

      <ConfirmDialog
        open={confirmMode}
        title={
          group.clusterMode
            ? `Turn cluster mode off for ${group.name}?`
            : `Turn cluster mode on for ${group.name}?`
        }
        confirmText={
          group.clusterMode ? (group.metas.length > 0 ? 'Turn off and remove' : 'Turn off') : 'Turn on'
        }
        danger={group.clusterMode}
        busy={toggleMode.busy}
        onCancel={() => setConfirmMode(false)}
        onConfirm={async () => {
          if (await toggleMode.run()) {
            setConfirmMode(false);
            onChanged();
          } else setConfirmMode(false);
        }}
      >
        {group.clusterMode ? (
          group.metas.length > 0 ? (
            <>
              <p>
                This removes {group.metas.length} service{group.metas.length === 1 ? '' : 's'} and their{' '}
                {clusterContainers} cluster container{clusterContainers === 1 ? '' : 's'} from the group’s
                servers:
              </p>
              <ul>
                {group.metas.map((m) => (
                  <li key={m.id}>
                    {m.name} ({m.instances} instance{m.instances === 1 ? '' : 's'})
                  </li>
                ))}
              </ul>
              <p>Containers created in single mode stay.</p>
            </>
          ) : (
            <p>The group has no services, so no containers are removed.</p>
          )
        ) : (
          <p>
            The scheduler will place services on this group’s servers. Existing containers stay as they are.
          </p>
        )}
      </ConfirmDialog>
      <ConfirmDialog
        open={confirmDelete}
        title={`Delete group ${group.name}?`}
        confirmText="Delete group"
        danger
        busy={remove.busy}
        onCancel={() => setConfirmDelete(false)}
        onConfirm={async () => {
          const ok = await remove.run();
          setConfirmDelete(false);
          if (ok) onChanged();
        }}
      >
        <p>The group and its server list are deleted. Running containers are not touched by this.</p>
      </ConfirmDialog>
    </article>
  );
}

type CardProps = { group: Group; viewer: Viewer; onChanged: () => void };

/** The group's servers with their nodes' status; admins add and remove them. */
function GroupServers({ group, viewer, onChanged }: CardProps) {
  const [server, setServer] = useState('');
  const addServer = useMutation((address: string) =>
    request(AddServerMutation, { groupId: group.id, address }),
  );
  const removeServer = useMutation((address: string) =>
    request(RemoveServerMutation, { groupId: group.id, address }),
  );
  return (
    <>
      <h3>Servers</h3>
      {group.servers.length === 0 ? (
        <p className="muted">No servers{viewer.admin ? '.' : ' yet: an administrator adds them.'}</p>
      ) : null}
      <ul className="servers">
        {group.servers.map((address) => {
          // A server is "host[:port]" (port 8500 by default); the node answers at apiAddr.
          const host = address.split(':')[0];
          const node = group.nodes.find(
            (n) => n.apiAddr === address || n.ip === host || n.name.toLowerCase() === host,
          );
          return (
            <li key={address}>
              <span>{address}</span>{' '}
              {node ? <StatusBadge value={node.status} /> : <span className="muted">not seen</span>}
              {viewer.admin ? (
                <BusyButton
                  className="small"
                  busy={removeServer.busy}
                  busyText="Removing…"
                  aria-label={`Remove server ${address}`}
                  onClick={async () => (await removeServer.run(address)) && onChanged()}
                >
                  Remove
                </BusyButton>
              ) : null}
            </li>
          );
        })}
      </ul>
      {viewer.admin ? (
        <form
          className="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await addServer.run(server.trim())) {
              setServer('');
              onChanged();
            }
          }}
        >
          <label>
            Add server
            <input
              placeholder="10.0.0.5 or host-1"
              required
              value={server}
              onChange={(e) => setServer(e.target.value)}
            />
          </label>
          <BusyButton type="submit" busy={addServer.busy} busyText="Adding…">
            Add
          </BusyButton>
        </form>
      ) : null}
      <ErrorMessage error={addServer.error ?? removeServer.error} />
    </>
  );
}

/** The host directories the group's containers may bind; admins set them. */
function HostPaths({ group, viewer, onChanged }: CardProps) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const save = useMutation((paths: string[]) =>
    request(UpdateGroupMutation, { id: group.id, input: { allowedHostPaths: paths } }),
  );
  return (
    <>
      <h3>Host paths</h3>
      <p className="muted">
        {group.allowedHostPaths.length > 0
          ? 'Containers of this group may bind these host directories and what is below them:'
          : 'Containers of this group may not bind host directories (named volumes are fine).'}
      </p>
      {group.allowedHostPaths.length > 0 ? (
        <ul className="labels" aria-label={`Host paths of ${group.name}`}>
          {group.allowedHostPaths.map((p) => (
            <li key={p}>
              <code>{p}</code>
            </li>
          ))}
        </ul>
      ) : null}
      {viewer.admin && editing ? (
        <form
          className="form"
          aria-label={`Host paths of ${group.name}`}
          onSubmit={async (e) => {
            e.preventDefault();
            if (await save.run(lines(text))) {
              setEditing(false);
              onChanged();
            }
          }}
        >
          <label>
            Allowed host directories (absolute, one a line)
            <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} />
          </label>
          <ErrorMessage error={save.error} />
          <div className="actions">
            <BusyButton type="submit" className="primary" busy={save.busy} busyText="Saving…">
              Save host paths
            </BusyButton>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : viewer.admin ? (
        <button
          type="button"
          onClick={() => {
            setText(group.allowedHostPaths.join('\n'));
            setEditing(true);
          }}
        >
          Edit host paths
        </button>
      ) : null}
    </>
  );
}
