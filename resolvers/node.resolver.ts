import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { NodeRecord } from '../core/store/store.js';
import type { GatewayContext } from './context.js';
import { Container } from '../schema/container.type.js';
import { NodeStatus } from '../schema/enums.js';
import { LabelInput, labelRecord } from '../schema/label.input.js';
import { Label, toLabels } from '../schema/label.type.js';
import { Node } from '../schema/node.type.js';
import { found } from './found.js';
import { toContainer, toNode } from './map.js';

/** Containers listed under a node or a meta. */
const NESTED_CONTAINERS = 1000;

@Resolver(() => Node)
export class NodeResolver {
  @Query(() => [Node], {
    description: 'Nodes the viewer may see, optionally of one group and/or one status.',
    complexity: ({ childComplexity }) => 1 + childComplexity * 20,
  })
  async nodes(
    @Arg('groupId', () => ID, { nullable: true, description: 'Only nodes of this group.' })
    groupId: string | undefined,
    @Arg('status', () => NodeStatus, { nullable: true, description: 'Only nodes with this status.' })
    status: NodeStatus | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<Node[]> {
    if (groupId != null) {
      return (await ctx.services.nodes.list({ groupId, status: status ?? undefined })).map(toNode);
    }
    const visible = await ctx.access.groupIds('read');
    if (!visible) return (await ctx.services.nodes.list({ status: status ?? undefined })).map(toNode);
    const byId = new Map<string, NodeRecord>();
    for (const id of visible) {
      for (const node of await ctx.services.nodes.list({ groupId: id, status: status ?? undefined })) {
        byId.set(node.id, node);
      }
    }
    return [...byId.values()].map(toNode);
  }

  @Query(() => Node, { nullable: true, description: 'One node by id, ip or hostname; null when unknown.' })
  async node(
    @Arg('id', () => ID, { description: 'Node id, ip or hostname (any case).' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Node | null> {
    const node = await ctx.services.nodes.get(id);
    return node ? toNode(node) : null;
  }

  @FieldResolver(() => [Label], { description: 'Labels set by operators (constraints `node.labels.X`).' })
  async labels(@Root() node: Node, @Ctx() ctx: GatewayContext): Promise<Label[]> {
    return toLabels(await ctx.services.nodes.labels(node.id));
  }

  @FieldResolver(() => [Container], {
    description:
      'Containers on the node that the viewer may see (at most 1000; use containers(nodeId) to page).',
    complexity: ({ childComplexity }) => 1 + childComplexity * 20,
  })
  async containers(@Root() node: Node, @Ctx() ctx: GatewayContext): Promise<Container[]> {
    const visible = await ctx.access.groupIds('read');
    const page = await ctx.services.containers.list(
      { nodeId: node.id, groupIds: visible && [...visible] },
      { first: NESTED_CONTAINERS },
    );
    return page.nodes.map(toContainer);
  }

  @Mutation(() => Node, { description: "Replaces a node's operator labels (admins only)." })
  async setNodeLabels(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('labels', () => [LabelInput], { description: 'The full new set of labels.' }) labels: LabelInput[],
    @Ctx() ctx: GatewayContext,
  ): Promise<Node> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return toNode(await ctx.services.nodes.setLabels(node.id, labelRecord(labels)));
  }
}
