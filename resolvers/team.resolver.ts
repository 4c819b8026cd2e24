import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { notFound } from '../core/errors.js';
import type { UserRecord } from '../core/store/store.js';
import type { GatewayContext } from './context.js';
import { GroupRole } from '../schema/accounts.enums.js';
import { Group } from '../schema/group.type.js';
import { GroupGrant, Team } from '../schema/team.type.js';
import { toGroup, toTeam } from './map.js';

async function usersById(ctx: GatewayContext): Promise<Map<string, UserRecord>> {
  return new Map((await ctx.services.auth.listUsers()).map((u) => [u.id, u]));
}

/** Teams (admins manage them) and the grants of groups (their OWNERs do). */
@Resolver(() => Group)
export class TeamResolver {
  @Query(() => [Team], { description: 'Every team (to choose from when granting).', complexity: 10 })
  async teams(@Ctx() ctx: GatewayContext): Promise<Team[]> {
    const users = await usersById(ctx);
    return (await ctx.services.teams.list()).map((t) => toTeam(t, users));
  }

  @FieldResolver(() => [GroupGrant], { description: 'The roles teams have in this group.', complexity: 10 })
  async grants(@Root() group: Group, @Ctx() ctx: GatewayContext): Promise<GroupGrant[]> {
    const record = await ctx.services.groups.get(group.id);
    const teams = new Map((await ctx.services.teams.list()).map((t) => [t.id, t]));
    const users = await usersById(ctx);
    return (record?.grants ?? []).flatMap((g) => {
      const team = teams.get(g.teamId);
      return team ? [{ team: toTeam(team, users), role: g.role as GroupRole }] : [];
    });
  }

  @Mutation(() => Team, { description: 'Creates a team (admins only). CONFLICT when the name is taken.' })
  async createTeam(
    @Arg('name', () => String, { description: 'The team name.' }) name: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Team> {
    return toTeam(await ctx.services.teams.create(name), new Map());
  }

  @Mutation(() => Boolean, { description: 'Deletes a team and its grants (admins only).' })
  async deleteTeam(
    @Arg('id', () => ID, { description: 'The team id.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    if (!(await ctx.services.teams.delete(id))) throw notFound('team', id);
    return true;
  }

  @Mutation(() => Team, { description: 'Adds a user to a team (admins only).' })
  async addTeamMember(
    @Arg('teamId', () => ID, { description: 'The team id.' }) teamId: string,
    @Arg('userId', () => ID, { description: 'The user id.' }) userId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Team> {
    const team = await ctx.services.teams.addMember(teamId, userId);
    return toTeam(team, await usersById(ctx));
  }

  @Mutation(() => Team, { description: 'Removes a user from a team (admins only).' })
  async removeTeamMember(
    @Arg('teamId', () => ID, { description: 'The team id.' }) teamId: string,
    @Arg('userId', () => ID, { description: 'The user id.' }) userId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Team> {
    const team = await ctx.services.teams.removeMember(teamId, userId);
    return toTeam(team, await usersById(ctx));
  }

  @Mutation(() => Group, {
    description:
      "Gives a team a role in the group (its OWNERs and admins); replaces the team's earlier role.",
  })
  async grantGroup(
    @Arg('groupId', () => ID, { description: 'The group id.' }) groupId: string,
    @Arg('teamId', () => ID, { description: 'The team id.' }) teamId: string,
    @Arg('role', () => GroupRole, { description: 'The role.' }) role: GroupRole,
    @Ctx() ctx: GatewayContext,
  ): Promise<Group> {
    return toGroup(await ctx.services.teams.grant(groupId, teamId, role));
  }

  @Mutation(() => Group, { description: "Takes a team's role in the group away (its OWNERs and admins)." })
  async revokeGroup(
    @Arg('groupId', () => ID, { description: 'The group id.' }) groupId: string,
    @Arg('teamId', () => ID, { description: 'The team id.' }) teamId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Group> {
    return toGroup(await ctx.services.teams.revoke(groupId, teamId));
  }
}
