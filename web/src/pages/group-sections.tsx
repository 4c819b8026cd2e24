import { useState } from 'react';
import { request, useMutation } from '../api';
import type { GroupCardFieldsFragment as Group } from '../gql/graphql';
import { AddServerMutation, RemoveServerMutation, UpdateGroupMutation } from '../operations';
import { BusyButton, ErrorMessage, SaveCancel, StatusBadge, lines } from '../ui';
import type { Viewer } from '../viewer';

/*
 * The sections of a group's card (groups.tsx): its servers, the host paths its containers may bind,
 * its owners.
 */

/** What every part of a group's card is given. */
export type CardProps = { group: Group; viewer: Viewer; onChanged: () => void };

/** The group's servers with their nodes' status; admins add and remove them. */
export function GroupServers({ group, viewer, onChanged }: CardProps) {
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
export function HostPaths({ group, viewer, onChanged }: CardProps) {
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
          <SaveCancel busy={save.busy} saveText="Save host paths" onCancel={() => setEditing(false)} />
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

/** The group's owners; admins and owners replace the list. */
export function GroupOwners({ group, viewer, onChanged }: CardProps) {
  const [ownersText, setOwnersText] = useState('');
  const setOwners = useMutation((list: string[]) =>
    request(UpdateGroupMutation, { id: group.id, input: { owners: list } }),
  );
  return (
    <>
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
    </>
  );
}
