import { useState } from 'react';
import { request, useMutation, useQuery } from '../api';
import type { GroupRole } from '../gql/graphql';
import {
  GrantGroupMutation,
  GroupAccessQuery,
  RevokeGroupMutation,
  SetGroupPublicMutation,
} from '../operations';
import { BusyButton, ErrorMessage } from '../ui';
import type { Viewer } from '../viewer';

const ROLES = ['VIEWER', 'OPERATOR', 'OWNER'] as GroupRole[];

/** Who may use the group: its public flag and the roles of teams; OWNERs and admins change them. */
export function GroupAccess({ groupId, viewer }: { groupId: string; viewer: Viewer }) {
  const { data, error, refetch } = useQuery(GroupAccessQuery, { id: groupId });
  const [teamId, setTeamId] = useState('');
  const [role, setRole] = useState<GroupRole>('VIEWER' as GroupRole);
  const grant = useMutation(() => request(GrantGroupMutation, { groupId, teamId, role }));
  const revoke = useMutation((t: string) => request(RevokeGroupMutation, { groupId, teamId: t }));
  const setPublic = useMutation((on: boolean) =>
    request(SetGroupPublicMutation, { id: groupId, public: on }),
  );
  const group = data?.group;
  if (!group) return <ErrorMessage error={error} />;
  const owner =
    viewer.admin ||
    group.owners.includes(viewer.id) ||
    group.grants.some((g) => g.role === 'OWNER' && g.team.members.some((m) => m.id === viewer.id));
  const after = (ok: unknown) => ok !== undefined && refetch();
  return (
    <>
      <h3>Access</h3>
      <label className="check">
        <input
          type="checkbox"
          checked={group.public}
          disabled={!owner || setPublic.busy}
          onChange={async (e) => after(await setPublic.run(e.target.checked))}
        />{' '}
        Public: every user may read this group
      </label>
      <ul className="inline-list" aria-label="Grants">
        {group.grants.length === 0 ? <li className="muted">No team grants.</li> : null}
        {group.grants.map((g) => (
          <li key={g.team.id}>
            {g.team.name}: {g.role}{' '}
            {owner ? (
              <button
                type="button"
                className="small"
                onClick={async () => after(await revoke.run(g.team.id))}
              >
                Revoke
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {owner ? (
        <form
          className="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            after(await grant.run());
          }}
        >
          <label>
            Team
            <select required value={teamId} onChange={(e) => setTeamId(e.target.value)}>
              <option value="">choose a team</option>
              {data.teams.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.target.value as GroupRole)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <BusyButton type="submit" busy={grant.busy} busyText="Granting…">
            Grant
          </BusyButton>
        </form>
      ) : null}
      <ErrorMessage error={error ?? grant.error ?? revoke.error ?? setPublic.error} />
    </>
  );
}
