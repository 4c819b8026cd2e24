import { useState, type FormEvent } from 'react';
import { request, useMutation, useQuery } from '../api';
import type { TeamFieldsFragment as Team } from '../gql/graphql';
import {
  AddTeamMemberMutation,
  CreateTeamMutation,
  DeleteTeamMutation,
  RemoveTeamMemberMutation,
  TeamsQuery,
} from '../operations';
import { BusyButton, ErrorMessage, Spinner } from '../ui';
import type { Viewer } from '../viewer';

/** Teams of users (admins); groups give teams roles on their cards. */
export function TeamsPage({ viewer }: { viewer: Viewer }) {
  const { data, error, loading, refetch } = useQuery(TeamsQuery, {});
  if (!viewer.admin) return <p className="notice">Only administrators manage teams.</p>;
  return (
    <section>
      <div className="page-head">
        <h1>Teams</h1>
      </div>
      <CreateTeamForm onCreated={refetch} />
      <ErrorMessage error={error} />
      {loading && !data ? <Spinner label="Loading teams…" /> : null}
      {data?.teams.length === 0 ? <p className="muted">No teams yet.</p> : null}
      {data?.teams.map((t) => (
        <TeamCard key={t.id} team={t} onChanged={refetch} />
      ))}
    </section>
  );
}

function CreateTeamForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const create = useMutation(() => request(CreateTeamMutation, { name: name.trim() }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await create.run()) {
      setName('');
      onCreated();
    }
  };
  return (
    <form className="card form" aria-label="Create a team" onSubmit={submit}>
      <label>
        Team name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <ErrorMessage error={create.error} />
      <BusyButton type="submit" className="primary" busy={create.busy} busyText="Creating…">
        Create team
      </BusyButton>
    </form>
  );
}

function TeamCard({ team, onChanged }: { team: Team; onChanged: () => void }) {
  const [user, setUser] = useState('');
  const add = useMutation(() => request(AddTeamMemberMutation, { teamId: team.id, userId: user.trim() }));
  const remove = useMutation((userId: string) =>
    request(RemoveTeamMemberMutation, { teamId: team.id, userId }),
  );
  const del = useMutation(() => request(DeleteTeamMutation, { id: team.id }));
  const after = (ok: unknown) => ok !== undefined && onChanged();
  return (
    <article className="card" aria-label={`team ${team.name}`}>
      <div className="card-head">
        <h2>{team.name}</h2>
        <button type="button" className="small danger" onClick={async () => after(await del.run())}>
          Delete team
        </button>
      </div>
      <ul className="inline-list">
        {team.members.map((m) => (
          <li key={m.id}>
            {m.username}{' '}
            <button
              type="button"
              className="small"
              aria-label={`remove ${m.username} from ${team.name}`}
              onClick={async () => after(await remove.run(m.id))}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form
        className="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await add.run()) {
            setUser('');
            onChanged();
          }
        }}
      >
        <label>
          Add member (user name)
          <input required value={user} onChange={(e) => setUser(e.target.value)} />
        </label>
        <BusyButton type="submit" busy={add.busy} busyText="Adding…">
          Add member
        </BusyButton>
      </form>
      <ErrorMessage error={add.error ?? remove.error ?? del.error} />
    </article>
  );
}
