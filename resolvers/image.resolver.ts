import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import { Image } from '../schema/image.type.js';
import { found } from './found.js';

@Resolver(() => Image)
export class ImageResolver {
  @Query(() => [Image], {
    description: 'Images on a node.',
    complexity: ({ childComplexity }) => 1 + childComplexity * 20,
  })
  async images(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Image[]> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return ctx.services.images.list(node.id);
  }

  @Mutation(() => Image, { description: 'Pulls an image on a node.' })
  async pullImage(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('image', () => String, { description: 'The image reference, e.g. registry:5000/app:1.2.' })
    image: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Image> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return ctx.services.images.pull(node.id, image);
  }

  @Mutation(() => Boolean, { description: 'Removes an image from a node.' })
  async removeImage(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('image', () => String, { description: 'The image id or reference.' }) image: string,
    @Arg('force', () => Boolean, { nullable: true, description: 'Remove even when containers use it.' })
    force: boolean | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return ctx.services.images.remove(node.id, image, force ?? false);
  }
}
