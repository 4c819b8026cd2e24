import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { VolumeInfo } from '../core/services.js';
import type { GatewayContext } from './context.js';
import { CreateVolumeInput } from '../schema/create-volume.input.js';
import { labelRecord } from '../schema/label.input.js';
import { Volume } from '../schema/volume.type.js';
import { found } from './found.js';
import { toVolume } from './map.js';

/** The volume as the viewer may see it: only the users of it that are in their groups. */
async function visible(ctx: GatewayContext, v: VolumeInfo): Promise<Volume> {
  const usedBy = [];
  for (const c of v.usedBy) {
    if (await ctx.access.mayInAny(await ctx.access.groupsOfContainer(c), 'read')) usedBy.push(c);
  }
  return toVolume({ ...v, usedBy });
}

const nodeArg = { description: 'Node id, ip or hostname.' };

@Resolver(() => Volume)
export class VolumeResolver {
  @Query(() => [Volume], {
    description: 'Every volume on a node, also those made outside Humpback.',
    complexity: ({ childComplexity }) => 1 + childComplexity * 20,
  })
  async volumes(
    @Arg('nodeId', () => ID, nodeArg) nodeId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Volume[]> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    const list = await ctx.services.volumes.list(node.id);
    return Promise.all(list.map((v) => visible(ctx, v)));
  }

  @Mutation(() => Volume, {
    description: 'Makes a volume on a node (nfs: Docker’s local driver with type=nfs; admins only).',
  })
  async createVolume(
    @Arg('nodeId', () => ID, nodeArg) nodeId: string,
    @Arg('input', () => CreateVolumeInput, {
      description: 'The volume: name, driver, options, labels or nfs.',
    })
    input: CreateVolumeInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Volume> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    const created = await ctx.services.volumes.create(node.id, {
      name: input.name,
      driver: input.driver ?? undefined,
      options: input.options ? labelRecord(input.options, 'input.options') : undefined,
      labels: input.labels ? labelRecord(input.labels, 'input.labels') : undefined,
      nfs: input.nfs
        ? { server: input.nfs.server, path: input.nfs.path, options: input.nfs.options ?? undefined }
        : undefined,
    });
    return visible(ctx, created);
  }

  @Mutation(() => Boolean, {
    description:
      'Removes a volume; CONFLICT while a container uses it, unless force (then as Docker allows).',
  })
  async removeVolume(
    @Arg('nodeId', () => ID, nodeArg) nodeId: string,
    @Arg('name', () => String, { description: 'The volume name.' }) name: string,
    @Arg('force', () => Boolean, { nullable: true, description: 'Remove even when containers use it.' })
    force: boolean | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return ctx.services.volumes.remove(node.id, name, force ?? false);
  }

  @Mutation(() => Boolean, {
    description: 'Deletes everything in a volume; CONFLICT while a container uses it.',
  })
  async clearVolume(
    @Arg('nodeId', () => ID, nodeArg) nodeId: string,
    @Arg('name', () => String, { description: 'The volume name.' }) name: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return ctx.services.volumes.clear(node.id, name);
  }

  @Mutation(() => Boolean, {
    description:
      'Unpacks an upload (a tar sent to POST /uploads) into a volume, or into `path` in it; the upload is deleted once it is in.',
  })
  async restoreVolume(
    @Arg('nodeId', () => ID, nodeArg) nodeId: string,
    @Arg('name', () => String, { description: 'The volume name.' }) name: string,
    @Arg('uploadId', () => ID, { description: 'The uploadId POST /uploads answered.' }) uploadId: string,
    @Arg('path', () => String, {
      nullable: true,
      description: 'A directory inside the volume. Default: its root.',
    })
    path: string | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    const viewer = ctx.access.requireViewer();
    const node = await found(ctx.services.nodes.get(nodeId), 'node', nodeId);
    return ctx.services.volumes.restore(
      node.id,
      name,
      { uploadId, userId: viewer.userId },
      path ?? undefined,
    );
  }
}
