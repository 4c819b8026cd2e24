import {
  Arg,
  Ctx,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { notFound } from '../core/errors.js';
import type { ImageJobEvent as JobEvent } from '../core/services.js';
import type { ImageJobRecord } from '../core/store/store.js';
import type { GatewayContext } from './context.js';
import { ImageJob, ImageJobEvent, ImageJobKind, ImageJobStatus } from '../schema/image-job.type.js';
import { LabelInput, labelRecord } from '../schema/label.input.js';

export const toImageJob = (j: ImageJobRecord): ImageJob => ({
  id: j.id,
  kind: j.kind as ImageJobKind,
  status: j.status as ImageJobStatus,
  nodeId: j.nodeId,
  image: j.image ?? null,
  log: j.log,
  error: j.error ?? null,
  createdAt: j.createdAt,
  finishedAt: j.finishedAt ?? null,
});

/** The job, if the viewer may read its node (a job of another group's node is as none). */
async function visibleJob(ctx: GatewayContext, id: string): Promise<ImageJobRecord | undefined> {
  const job = await ctx.services.imageJobs.get(id);
  if (!job) return undefined;
  try {
    await ctx.access.node(job.nodeId, 'read');
    return job;
  } catch {
    return undefined;
  }
}

type Data = SubscribeResolverData<unknown, { jobId: string }, GatewayContext>;

async function subscribeJob({ args, context }: Data): Promise<AsyncIterable<JobEvent>> {
  if (!(await visibleJob(context, args.jobId))) throw notFound('image job', args.jobId);
  return context.services.imageJobs.watch(args.jobId);
}

@Resolver(() => ImageJob)
export class ImageJobResolver {
  @Query(() => [ImageJob], {
    description: 'Image jobs, newest first, of the nodes the viewer may read.',
    complexity: ({ childComplexity }) => 1 + childComplexity * 20,
  })
  async imageJobs(
    @Arg('nodeId', () => ID, { nullable: true, description: 'Only jobs on this node.' })
    nodeId: string | undefined,
    @Arg('first', () => Int, { nullable: true, description: 'At most this many (default 50).' })
    first: number | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<ImageJob[]> {
    const node = nodeId ? await ctx.services.nodes.get(nodeId) : undefined;
    const scope = await ctx.access.groupIds('read');
    let nodeIds: Set<string> | undefined;
    if (scope) {
      const nodes = await ctx.services.nodes.list({});
      nodeIds = new Set();
      for (const n of nodes)
        if ((await ctx.services.nodes.groupsOf(n.id)).some((g) => scope.has(g))) nodeIds.add(n.id);
    }
    const jobs = await ctx.services.imageJobs.list({
      nodeId: node?.id ?? nodeId,
      nodeIds,
      first: Math.min(first ?? 50, 500),
    });
    return jobs.map(toImageJob);
  }

  @Query(() => ImageJob, { nullable: true, description: 'One image job, with its log.' })
  async imageJob(
    @Arg('id', () => ID, { description: 'The job.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ImageJob | null> {
    const job = await visibleJob(ctx, id);
    return job ? toImageJob(job) : null;
  }

  @Mutation(() => ImageJob, {
    description: 'Builds an uploaded Dockerfile tarball (POST /uploads) on a node.',
  })
  async buildImage(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('uploadId', () => ID, { description: 'The tarball, from POST /uploads.' }) uploadId: string,
    @Arg('tag', () => String, { description: 'The image name to give it, e.g. registry:5000/app:1.' })
    tag: string,
    @Arg('dockerfile', () => String, {
      nullable: true,
      description: 'The Dockerfile path in the tarball (default Dockerfile).',
    })
    dockerfile: string | undefined,
    @Arg('buildArgs', () => [LabelInput], { nullable: true, description: 'Build arguments (ARG).' })
    buildArgs: LabelInput[] | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<ImageJob> {
    const viewer = ctx.access.requireViewer();
    const node = (await ctx.services.nodes.get(nodeId))!;
    const args = buildArgs ? labelRecord(buildArgs, 'buildArgs') : undefined;
    return toImageJob(
      await ctx.services.imageJobs.build(node.id, { uploadId, tag, dockerfile, buildArgs: args }, viewer),
    );
  }

  @Mutation(() => ImageJob, { description: 'Loads an uploaded `docker save` tar (POST /uploads) on a node.' })
  async loadImage(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('uploadId', () => ID, { description: 'The tar, from POST /uploads.' }) uploadId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ImageJob> {
    const viewer = ctx.access.requireViewer();
    const node = (await ctx.services.nodes.get(nodeId))!;
    return toImageJob(await ctx.services.imageJobs.load(node.id, uploadId, viewer));
  }

  @Mutation(() => ImageJob, { description: "Snapshots a container's filesystem as an image on its node." })
  async commitContainer(
    @Arg('containerId', () => ID, { description: 'The container.' }) containerId: string,
    @Arg('tag', () => String, { description: 'The image name to give it.' }) tag: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ImageJob> {
    const viewer = ctx.access.requireViewer();
    return toImageJob(await ctx.services.imageJobs.commit(containerId, tag, viewer));
  }

  @Mutation(() => ImageJob, { description: 'Pushes an image of a node to the registry its name points at.' })
  async pushImage(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('image', () => String, { description: 'The image, e.g. registry:5000/app:1.' }) image: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ImageJob> {
    const viewer = ctx.access.requireViewer();
    const node = (await ctx.services.nodes.get(nodeId))!;
    return toImageJob(await ctx.services.imageJobs.push(node.id, image, viewer));
  }

  @Mutation(() => ImageJob, {
    description:
      'Pulls an image on a node as a PULL image job (its progress over imageJobProgress); `pullImage` is the same pull answered once it is done.',
  })
  async startPull(
    @Arg('nodeId', () => ID, { description: 'Node id, ip or hostname.' }) nodeId: string,
    @Arg('image', () => String, { description: 'The image reference, e.g. registry:5000/app:1.2.' })
    image: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ImageJob> {
    const viewer = ctx.access.requireViewer();
    const node = (await ctx.services.nodes.get(nodeId))!;
    return toImageJob(await ctx.services.imageJobs.pull(node.id, image, viewer));
  }

  @Subscription(() => ImageJobEvent, {
    description:
      "An image job's log and progress: first the job as it stands, then each event, the last one SUCCEEDED or FAILED.",
    subscribe: (data) => subscribeJob(data as unknown as Data),
  })
  imageJobProgress(
    @Root() event: JobEvent,
    @Arg('jobId', () => ID, { description: 'The job.' }) _jobId: string,
  ): ImageJobEvent {
    return { job: toImageJob(event.job), line: event.line ?? null, progress: event.progress ?? null };
  }
}
