import {
  Arg,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import type { ContainerStats as ContainerStatsRecord, LogLine as LogLineRecord } from '../core/services.js';
import { ContainerStats } from '../schema/container-stats.type.js';
import { ExecSession, LogLine, LogStream, Mount, PortBinding } from '../schema/container-live.type.js';
import { Container } from '../schema/container.type.js';
import { DateTimeScalar } from '../schema/scalars.js';
import type { GatewayContext } from './context.js';
import { found } from './found.js';
import { toContainer } from './map.js';

type Data = SubscribeResolverData<unknown, Record<string, unknown>, GatewayContext>;

// The operations' rules (resolvers/operation-rules.ts) checked access before these run.

async function subscribeLogs({ args, context }: Data) {
  const container = await found(
    context.services.containers.get(String(args['id'])),
    'container',
    String(args['id']),
  );
  return context.services.streams.logs(container.id, {
    tail: (args['tail'] as number | null | undefined) ?? undefined,
    since: (args['since'] as string | null | undefined) ?? undefined,
  });
}

async function subscribeStats({ args, context }: Data) {
  const container = await found(
    context.services.containers.get(String(args['id'])),
    'container',
    String(args['id']),
  );
  return context.services.streams.stats(container.id);
}

/** Live logs and stats, the console, and the container's details from its engine. */
@Resolver(() => Container)
export class ContainerLiveResolver {
  @Subscription(() => LogLine, {
    description:
      "A container's output: the lines asked for (the last `tail`, default 100, or those since " +
      '`since`), then every new line as it is printed, until the subscriber leaves or the container stops.',
    subscribe: (data) => subscribeLogs(data as Data),
  })
  containerLogs(
    @Root() line: LogLineRecord,
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) _id: string,
    @Arg('tail', () => Int, { nullable: true, description: 'How many earlier lines first (at most 10000).' })
    _tail: number | undefined,
    @Arg('since', () => DateTimeScalar, { nullable: true, description: 'Only lines printed since then.' })
    _since: string | undefined,
  ): LogLine {
    return { at: line.at, stream: line.stream as LogStream, line: line.line };
  }

  @Subscription(() => ContainerStats, {
    description:
      "A running container's CPU, memory and network use, one event per engine sample (about 1 s).",
    subscribe: (data) => subscribeStats(data as Data),
  })
  containerStats(
    @Root() s: ContainerStatsRecord,
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) _id: string,
  ): ContainerStats {
    return { ...s, at: new Date(s.at) };
  }

  @Mutation(() => ExecSession, {
    description:
      'Starts a process in a running container (default `/bin/sh`) and answers the one-time URL of ' +
      'its console WebSocket, valid 30 s for the caller only.',
  })
  async startExec(
    @Arg('containerId', () => ID, { description: 'Full id or a unique prefix.' }) containerId: string,
    @Arg('command', () => [String], { nullable: true, description: 'The command and its arguments.' })
    command: string[] | undefined,
    @Arg('tty', () => Boolean, { nullable: true, description: 'Give it a terminal (default true).' })
    tty: boolean | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<ExecSession> {
    const viewer = ctx.access.requireViewer();
    const container = await found(ctx.services.containers.get(containerId), 'container', containerId);
    return ctx.services.exec.start(viewer, container.id, {
      command: command ?? [],
      tty: tty ?? true,
      baseUrl: ctx.baseUrl ?? 'http://localhost',
    });
  }

  @Mutation(() => Container, { description: 'Single mode: renames a container.' })
  async renameContainer(
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) id: string,
    @Arg('name', () => String, { description: 'The new name.' }) name: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Container> {
    const container = await found(ctx.services.containers.get(id), 'container', id);
    return toContainer(await ctx.services.containers.rename(container.id, name));
  }

  @Mutation(() => Container, {
    description:
      'Single mode: replaces a container by one of the same name and config on another tag of its ' +
      'image (the old one is restored if the new one does not start). The answer has the new id.',
  })
  async upgradeContainer(
    @Arg('id', () => ID, { description: 'Full id or a unique prefix.' }) id: string,
    @Arg('imageTag', () => String, { description: 'The tag to run, e.g. `v2`.' }) imageTag: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Container> {
    const container = await found(ctx.services.containers.get(id), 'container', id);
    return toContainer(await ctx.services.containers.upgrade(container.id, imageTag));
  }

  // ---- details from the engine's inspect (one inspect per container and moment, however many fields)

  @FieldResolver(() => [String], { description: 'The process it runs: entrypoint and command.' })
  async command(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<string[]> {
    return (await ctx.services.containers.details(c.id)).command;
  }

  @FieldResolver(() => [String], { description: 'Its environment, `NAME=value`.' })
  async env(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<string[]> {
    return (await ctx.services.containers.details(c.id)).env;
  }

  @FieldResolver(() => [PortBinding], {
    description: 'The port bindings Docker made (those asked for while the container is not running).',
  })
  async ports(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<PortBinding[]> {
    return (await ctx.services.containers.details(c.id)).ports;
  }

  @FieldResolver(() => [Mount], { description: 'Its binds, volumes and tmpfs mounts.' })
  async mounts(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<Mount[]> {
    return (await ctx.services.containers.details(c.id)).mounts;
  }

  @FieldResolver(() => Int, { description: 'How often Docker restarted it (its restart policy).' })
  async restartCount(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<number> {
    return (await ctx.services.containers.details(c.id)).restartCount;
  }

  @FieldResolver(() => DateTimeScalar, { nullable: true, description: 'When it last started.' })
  async startedAt(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return (await ctx.services.containers.details(c.id)).startedAt;
  }

  @FieldResolver(() => DateTimeScalar, { nullable: true, description: 'When it last stopped.' })
  async finishedAt(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return (await ctx.services.containers.details(c.id)).finishedAt;
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description: 'The exit code of its last run (null before one).',
  })
  async exitCode(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<number | null> {
    return (await ctx.services.containers.details(c.id)).exitCode;
  }

  @FieldResolver(() => String, { nullable: true, description: 'Its host name.' })
  async hostname(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return (await ctx.services.containers.details(c.id)).hostname;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'host, none, bridge, a network or container:<id>.',
  })
  async networkMode(@Root() c: Container, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return (await ctx.services.containers.details(c.id)).networkMode;
  }
}
