import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from './context.js';
import { CreateGroupInput } from '../schema/create-group.input.js';
import { Group } from '../schema/group.type.js';
import { Meta } from '../schema/meta.type.js';
import { Node } from '../schema/node.type.js';
import { UpdateGroupInput } from '../schema/update-group.input.js';
import { toGroup, toMeta, toNode } from './map.js';

@Resolver(() => Group)
export class GroupResolver {
  @Query(() => [Group], {
    description: 'Groups the viewer may see (admins: all).',
    complexity: ({ childComplexity }) => 1 + childComplexity * 10,
  })
  async groups(@Ctx() ctx: GatewayContext): Promise<Group[]> {
    const visible = await ctx.access.groupIds('read');
    const groups = await ctx.services.groups.list();
    return groups.filter((g) => !visible || visible.has(g.id)).map(toGroup);
  }

  @Query(() => Group, { nullable: true, description: 'One group; null when it does not exist.' })
  async group(
    @Arg('id', () => ID, { description: 'The group id.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Group | null> {
    const group = await ctx.services.groups.get(id);
    return group ? toGroup(group) : null;
  }

  @FieldResolver(() => [Node], {
    description: "The group's nodes.",
    complexity: ({ childComplexity }) => 1 + childComplexity * 10,
  })
  async nodes(@Root() group: Group, @Ctx() ctx: GatewayContext): Promise<Node[]> {
    return (await ctx.services.nodes.list({ groupId: group.id })).map(toNode);
  }

  @FieldResolver(() => [Meta], {
    description: "The group's metas (cluster mode).",
    complexity: ({ childComplexity }) => 1 + childComplexity * 10,
  })
  async metas(@Root() group: Group, @Ctx() ctx: GatewayContext): Promise<Meta[]> {
    return (await ctx.services.metas.list(group.id)).map(toMeta);
  }

  @Mutation(() => Group, {
    description: 'Creates a group owned by the viewer. Only admins may give it servers or allowedHostPaths.',
  })
  async createGroup(
    @Arg('input', () => CreateGroupInput, { description: 'The new group.' }) input: CreateGroupInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Group> {
    const group = await ctx.services.groups.create(
      {
        name: input.name,
        id: input.id ?? undefined,
        description: input.description ?? undefined,
        clusterMode: input.clusterMode,
        servers: input.servers ?? [],
        allowedHostPaths: input.allowedHostPaths ?? [],
        public: input.public,
      },
      ctx.access.requireViewer(),
    );
    return toGroup(group);
  }

  @Mutation(() => Group, {
    description:
      'Changes a group. Turning cluster mode off needs confirmRemoveClusterContainers: true (it removes the metas and their containers).',
  })
  async updateGroup(
    @Arg('id', () => ID, { description: 'The group id.' }) id: string,
    @Arg('input', () => UpdateGroupInput, { description: 'What to change.' }) input: UpdateGroupInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Group> {
    const updated = await ctx.services.groups.update(id, {
      name: input.name ?? undefined,
      description: input.description ?? undefined,
      clusterMode: input.clusterMode ?? undefined,
      servers: input.servers ?? undefined,
      allowedHostPaths: input.allowedHostPaths ?? undefined,
      owners: input.owners ?? undefined,
      public: input.public ?? undefined,
      confirmRemoveClusterContainers: input.confirmRemoveClusterContainers ?? undefined,
    });
    return toGroup(updated);
  }

  @Mutation(() => Boolean, { description: 'Deletes a group (its containers stay on the nodes).' })
  async deleteGroup(
    @Arg('id', () => ID, { description: 'The group id.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    return ctx.services.groups.delete(id);
  }

  @Mutation(() => Group, {
    description: 'Adds a server (ip or hostname, optionally :port) to a group (admins only).',
  })
  async addServer(
    @Arg('groupId', () => ID, { description: 'The group id.' }) groupId: string,
    @Arg('address', () => String, { description: 'ip or hostname, optionally :port.' }) address: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Group> {
    return toGroup(await ctx.services.groups.addServer(groupId, address));
  }

  @Mutation(() => Group, { description: 'Removes a server from a group (admins only).' })
  async removeServer(
    @Arg('groupId', () => ID, { description: 'The group id.' }) groupId: string,
    @Arg('address', () => String, { description: 'ip or hostname, as listed in servers.' }) address: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Group> {
    return toGroup(await ctx.services.groups.removeServer(groupId, address));
  }
}
