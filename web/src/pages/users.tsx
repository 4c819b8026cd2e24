import { useState, type FormEvent } from 'react';
import { request, useMutation, useQuery, type Mutation } from '../api';
import type { UserFieldsFragment as User } from '../gql/graphql';
import { BusyButton, ConfirmDialog, ErrorMessage, Spinner } from '../ui';
import { CreateUserMutation, DeleteUserMutation, UsersQuery } from '../operations';
import type { Viewer } from '../viewer';
import { UserAccountActions } from './user-actions';

export function UsersPage({ viewer }: { viewer: Viewer }) {
  const { data, error, loading, refetch } = useQuery(UsersQuery, {});
  const [toDelete, setToDelete] = useState<User | null>(null);
  const remove = useMutation((id: string) => request(DeleteUserMutation, { id }));

  if (!viewer.admin) return <p className="notice">Only administrators manage users.</p>;
  if (error?.unavailable) {
    return (
      <section>
        <h1>Users</h1>
        <p className="notice">User management is not available on this gateway.</p>
      </section>
    );
  }

  return (
    <section>
      <div className="page-head">
        <h1>Users</h1>
      </div>
      <CreateUserForm onCreated={refetch} />
      <ErrorMessage error={error ?? remove.error} />
      {loading && !data ? <Spinner label="Loading users…" /> : null}
      {data ? (
        <UsersTable users={data.users} viewer={viewer} onDelete={setToDelete} onChanged={refetch} />
      ) : null}
      <DeleteUserDialog
        user={toDelete}
        mutation={remove}
        onClose={() => setToDelete(null)}
        onDeleted={refetch}
      />
    </section>
  );
}

function CreateUserForm({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const create = useMutation(() =>
    request(CreateUserMutation, {
      input: { username: username.trim(), password, admin },
    }),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await create.run()) {
      setUsername('');
      setPassword('');
      setAdmin(false);
      onCreated();
    }
  };
  return (
    <form className="card form" aria-label="Create a user" onSubmit={submit}>
      <h2>Create a user</h2>
      <label>
        Username
        <input required autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input
          required
          type="password"
          autoComplete="new-password"
          minLength={8}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <label className="check">
        <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> Administrator
      </label>
      <ErrorMessage error={create.error} />
      <BusyButton type="submit" className="primary" busy={create.busy} busyText="Creating…">
        Create user
      </BusyButton>
    </form>
  );
}

function UsersTable({
  users,
  viewer,
  onDelete,
  onChanged,
}: {
  users: User[];
  viewer: Viewer;
  onDelete: (user: User) => void;
  onChanged: () => void;
}) {
  return (
    <div className="table-wrap">
      <table className="list" aria-label="Users">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <th scope="row">{u.username}</th>
              <td>{u.admin ? 'administrator' : 'user'}</td>
              <td>
                {u.id === viewer.id ? (
                  <span className="muted">you</span>
                ) : (
                  <>
                    <UserAccountActions user={u} onChanged={onChanged} />{' '}
                    <button
                      type="button"
                      className="small danger"
                      onClick={() => onDelete(u)}
                      aria-label={`delete user ${u.username}`}
                    >
                      Delete
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeleteUserDialog({
  user,
  mutation: remove,
  onClose,
  onDeleted,
}: {
  user: User | null;
  mutation: Mutation<[string], unknown>;
  onClose: () => void;
  onDeleted: () => void;
}) {
  return (
    <ConfirmDialog
      open={user !== null}
      title={`Delete user ${user?.username ?? ''}?`}
      confirmText="Delete user"
      danger
      busy={remove.busy}
      onCancel={onClose}
      onConfirm={async () => {
        const ok = user ? await remove.run(user.id) : false;
        onClose();
        if (ok) onDeleted();
      }}
    >
      <p>They can no longer sign in. Groups they own keep their other owners.</p>
    </ConfirmDialog>
  );
}
