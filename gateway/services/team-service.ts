import { randomUUID } from 'node:crypto';
import { badInput, conflict, notFound } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { GroupGrantRecord, GroupRecord, Store, TeamRecord } from '../../core/store/store.js';
import type { TeamService } from '../../core/services.js';

export interface TeamServiceOptions {
  store: Store;
  /** Called after teams or grants changed (the auth service forgets cached memberships). */
  onChange: () => Promise<void>;
  /** @default () => new Date() */
  now?: (() => Date) | undefined;
}

const MAX_NAME = 100;

/** Teams in the store; a group's grants live on the group record (`grants`). */
export class StoreTeamService implements TeamService {
  private readonly now: () => Date;

  constructor(private readonly o: TeamServiceOptions) {
    this.now = o.now ?? (() => new Date());
  }

  async list(): Promise<TeamRecord[]> {
    const teams = await this.o.store.list('teams');
    return teams.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  get(id: string): Promise<TeamRecord | undefined> {
    return this.o.store.get('teams', id);
  }

  async create(name: string): Promise<TeamRecord> {
    const trimmed = name.trim();
    if (!trimmed) throw badInput('a team needs a name', 'name');
    if (trimmed.length > MAX_NAME) throw badInput(`name: at most ${MAX_NAME} characters`, 'name');
    const lower = trimmed.toLowerCase();
    const clash = (await this.o.store.list('teams')).find((t) => t.name.toLowerCase() === lower);
    if (clash) throw conflict(`a team named ${JSON.stringify(clash.name)} exists already`);
    const team: TeamRecord = {
      id: randomUUID(),
      name: trimmed,
      members: [],
      createdAt: this.now().toISOString(),
    };
    await this.o.store.create('teams', team.id, team);
    return team;
  }

  /** Deletes the team and its grants in every group. */
  async delete(id: string): Promise<boolean> {
    if (!(await this.o.store.get('teams', id))) return false;
    for (const group of await this.o.store.list('groups')) {
      if (group.grants?.some((g) => g.teamId === id)) await this.writeGrants(group.id, id, undefined);
    }
    const deleted = await this.o.store.delete('teams', id);
    await this.o.onChange();
    return deleted;
  }

  async addMember(teamId: string, userId: string): Promise<TeamRecord> {
    const user = await this.o.store.get('users', userId.toLowerCase());
    if (!user) throw badInput(`no user ${JSON.stringify(userId)}`, 'userId');
    return this.writeMembers(teamId, (m) => (m.includes(user.id) ? m : [...m, user.id]));
  }

  removeMember(teamId: string, userId: string): Promise<TeamRecord> {
    const id = userId.toLowerCase();
    return this.writeMembers(teamId, (m) => m.filter((u) => u !== id));
  }

  private async writeMembers(teamId: string, fn: (members: string[]) => string[]): Promise<TeamRecord> {
    const team = await this.o.store.update('teams', teamId, (t) =>
      t ? { ...t, members: fn(t.members) } : undefined,
    );
    if (!team) throw notFound('team', teamId);
    await this.o.onChange();
    return team;
  }

  async grant(groupId: string, teamId: string, role: GroupGrantRecord['role']): Promise<GroupRecord> {
    if (!(await this.o.store.get('teams', teamId)))
      throw badInput(`no team ${JSON.stringify(teamId)}`, 'teamId');
    return this.writeGrants(groupId, teamId, role);
  }

  revoke(groupId: string, teamId: string): Promise<GroupRecord> {
    return this.writeGrants(groupId, teamId, undefined);
  }

  /** Sets (or with no role removes) the team's grant; a team has at most one grant per group. */
  private async writeGrants(
    groupId: string,
    teamId: string,
    role: GroupGrantRecord['role'] | undefined,
  ): Promise<GroupRecord> {
    const updatedAt = this.now().toISOString();
    const group = await this.o.store.update('groups', groupId, (g) => {
      if (!g) return undefined;
      const others = (g.grants ?? []).filter((x) => x.teamId !== teamId);
      return { ...g, grants: role ? [...others, { teamId, role }] : others, updatedAt };
    });
    if (!group) throw notFound('group', groupId);
    await this.o.onChange();
    return group;
  }
}

/** The id of the team a group's former `owners` list became. */
export const ownersTeamId = (groupId: string): string => `owners-${groupId}`;

/** The setting that says the store's group owners were moved into teams. */
export const OWNERS_MIGRATED_SETTING = 'groupOwnersMigrated';

/**
 * Once per store (a store from before teams): turns the `owners` of every group into a team
 * "<group> owners" holding them, granted OWNER on the group, and empties `owners`; then writes the
 * `groupOwnersMigrated` setting, so owners named later through `updateGroup` stay direct owners.
 * Every gateway runs it at start: idempotent (the team has a fixed id, a second pass over a group
 * only adds members) and safe for several gateways starting at once (each step is one atomic write).
 * Returns how many groups it moved.
 */
export async function migrateGroupOwners(
  store: Store,
  options: { now?: () => Date; logger?: Logger | undefined } = {},
): Promise<number> {
  const now = options.now ?? (() => new Date());
  if (await store.get('settings', OWNERS_MIGRATED_SETTING)) return 0;
  let migrated = 0;
  for (const group of await store.list('groups')) {
    if (group.owners.length === 0) continue;
    const teamId = ownersTeamId(group.id);
    const owners = group.owners;
    await store.update('teams', teamId, (t) =>
      t
        ? { ...t, members: [...new Set([...t.members, ...owners])] }
        : { id: teamId, name: `${group.name} owners`, members: [...owners], createdAt: now().toISOString() },
    );
    await store.update('groups', group.id, (g) =>
      g
        ? {
            ...g,
            owners: g.owners.filter((o) => !owners.includes(o)),
            grants: [
              ...(g.grants ?? []).filter((x) => x.teamId !== teamId),
              { teamId, role: 'OWNER' as const },
            ],
          }
        : undefined,
    );
    migrated++;
  }
  await store.put('settings', OWNERS_MIGRATED_SETTING, {
    id: OWNERS_MIGRATED_SETTING,
    value: now().toISOString(),
  });
  if (migrated > 0)
    options.logger?.info({ groups: migrated }, 'moved group owners into OWNER grants of teams');
  return migrated;
}
