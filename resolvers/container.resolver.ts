import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { badInput } from '../core/errors.js';
import type { GatewayContext } from './context.js';
import type { ContainerFilter } from '../core/services.js';
import { ContainerConfigInput, toContainerConfig } from '../schema/container-config.input.js';
import { ContainerConnection } from '../schema/container-connection.type.js';
import { ContainerStats } from '../schema/container-stats.type.js';
import { Container } from '../schema/container.type.js';
import { ContainerAction, ContainerState } from '../schema/enums.js';
import { Node } from '../schema/node.type.js';
import { found } from './found.js';
import { toContainer, toNode } from './map.js';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const MAX_TAIL = 10_000;
const MAX_SEARCH = 200;

@Resolver(() => Container)
export class ContainerResolver {
  @Query(() => ContainerConnection, {
    description: 'Containers the viewer may see, filtered and paged (from the cluster cache).',
    complexity: ({ args, childComplexity }) =>
      1 + childComplexity * Math.min(Math.max(Number(args['first'] ?? DEFAULT_PAGE), 1), MAX_PAGE),
  })
  async containers(
    @Arg('groupId', () => ID, { nullable: true, description: "Only containers on the group's nodes." })
    groupId: string | undefined,
    @Arg('nodeId', () => ID, { nullable: true, description: 'Only containers on this node.' })
    nodeId: string | undefined,
    @Arg('metaId', () => ID, { nullable: true, description: 'Only instances of this meta.' })
    metaId: string | undefined,
    @Arg('state', () => ContainerState, { nullable: true, description: 'Only containers in this state.' })
    state: ContainerState | undefined,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (default 50, at most 500).' })
    first: number | undefined,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page.' })
    after: string | undefined,
    @Arg('search', () => String, {
      nullable: true,
      description: 'Only containers whose name or image contains this text, ignoring case.',
    })
    search: string | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<ContainerConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (size < 0 || size > MAX_PAGE) throw badInput(`first must be between 0 and ${MAX_PAGE}`, 'first');
    if (search != null && search.length > MAX_SEARCH) {
      throw badInput(`search must be at most ${MAX_SEARCH} characters`, 'search');
    }
    const filter: ContainerFilter = {
      nodeId: nodeId ?? undefined,
      metaId: metaId ?? undefined,
      state: state ?? undefined,
      search: search ?? undefined,
    };
    // The rule checked groupId, nodeId and metaId; what else is listed is what the viewer may read.
    const visible = await ctx.access.groupIds('read');
    if (groupId != null) filter.groupIds = [groupId];
    else if (visible) filter.groupIds = [...visible];
    const page = await ctx.services.containers.list(filter, { first: size, after: after ?? undefined });
    return {
      nodes: page.nodes.map(toContainer),
      totalCount: page.totalCount,
      endCursor: page.endCursor,
      hasNextPage: page.hasNextPage,
    };
  }

  @Query(() => Container, { nullable: true, description: 'One container by full id or unique prefix.' })
  async container(
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Container | null> {
    const container = await ctx.services.containers.get(id);
    return container ? toContainer(container) : null;
  }

  @Query(() => [String], { description: "The last lines of a container's output." })
  async containerLogs(
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) id: string,
    @Arg('tail', () => Int, { nullable: true, description: 'How many lines (default 100, at most 10000).' })
    tail: number | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<string[]> {
    const container = await found(ctx.services.containers.get(id), 'container', id);
    const lines = tail ?? 100;
    if (lines < 0 || lines > MAX_TAIL) throw badInput(`tail must be between 0 and ${MAX_TAIL}`, 'tail');
    return ctx.services.containers.logs(container.id, lines);
  }

  @Query(() => ContainerStats, {
    description:
      "One sample of a running container's CPU, memory and network use, asked of its node's engine " +
      '(poll it for a live chart).',
  })
  async containerStats(
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ContainerStats> {
    const container = await found(ctx.services.containers.get(id), 'container', id);
    const s = await ctx.services.containers.stats(container.id);
    return { ...s, at: new Date(s.at) };
  }

  @FieldResolver(() => Node, {
    nullable: true,
    description: 'The node it runs on (null when it left the cache).',
  })
  async node(@Root() container: Container, @Ctx() ctx: GatewayContext): Promise<Node | null> {
    const node = await ctx.services.nodes.get(container.nodeId);
    return node ? toNode(node) : null;
  }

  @Mutation(() => Container, { description: 'Single mode: creates and starts a container on a chosen node.' })
  async createContainer(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('config', () => ContainerConfigInput, { description: 'The container spec.' })
    config: ContainerConfigInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Container> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return toContainer(await ctx.services.containers.create(node.id, toContainerConfig(config)));
  }

  @Mutation(() => Container, {
    description: 'Starts, stops, restarts, kills, pauses or unpauses a container.',
  })
  async operateContainer(
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) id: string,
    @Arg('action', () => ContainerAction, { description: 'What to do.' }) action: ContainerAction,
    @Ctx() ctx: GatewayContext,
  ): Promise<Container> {
    const container = await found(ctx.services.containers.get(id), 'container', id);
    return toContainer(await ctx.services.containers.operate(container.id, action));
  }

  @Mutation(() => Boolean, { description: 'Removes a container (force: even when running).' })
  async removeContainer(
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) id: string,
    @Arg('force', () => Boolean, { nullable: true, description: 'Kill it first if it runs.' })
    force: boolean | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    const container = await found(ctx.services.containers.get(id), 'container', id);
    return ctx.services.containers.remove(container.id, force ?? false);
  }
}
