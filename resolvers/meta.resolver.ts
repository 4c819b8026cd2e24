import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { badInput } from '../core/errors.js';
import type { GatewayContext } from './context.js';
import { toContainerConfig } from '../schema/container-config.input.js';
import { Container } from '../schema/container.type.js';
import { CreateMetaInput } from '../schema/create-meta.input.js';
import { ContainerAction } from '../schema/enums.js';
import { Group } from '../schema/group.type.js';
import { Meta } from '../schema/meta.type.js';
import { UpdateMetaInput } from '../schema/update-meta.input.js';
import { WebhookDelivery } from '../schema/webhook-delivery.type.js';
import type { WebhookInput } from '../schema/webhook.input.js';
import { toContainer, toGroup, toMeta, toWebhookDelivery } from './map.js';

const MAX_DELIVERIES = 500;

const toWebhooks = (hooks: WebhookInput[]) =>
  hooks.map((h) => ({ url: h.url, ...(h.secretToken ? { secretToken: h.secretToken } : {}) }));

@Resolver(() => Meta)
export class MetaResolver {
  @Query(() => [Meta], {
    description: "A group's metas.",
    complexity: ({ childComplexity }) => 1 + childComplexity * 20,
  })
  async metas(
    @Arg('groupId', () => ID, { description: 'The group id.' }) groupId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Meta[]> {
    return (await ctx.services.metas.list(groupId)).map(toMeta);
  }

  @Query(() => Meta, { nullable: true, description: 'One meta; null when it does not exist.' })
  async meta(
    @Arg('id', () => ID, { description: 'The meta id.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Meta | null> {
    const meta = await ctx.services.metas.get(id);
    return meta ? toMeta(meta) : null;
  }

  @Query(() => [WebhookDelivery], {
    description: "A meta's webhook deliveries, newest first.",
    complexity: ({ args, childComplexity }) =>
      1 + childComplexity * Math.min(Number(args['first'] ?? 20), MAX_DELIVERIES),
  })
  async webhookDeliveries(
    @Arg('metaId', () => ID, { description: 'The meta id.' }) metaId: string,
    @Arg('first', () => Int, { nullable: true, description: 'How many (default 20, at most 500).' })
    first: number | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<WebhookDelivery[]> {
    const n = first ?? 20;
    if (n < 0 || n > MAX_DELIVERIES) throw badInput(`first must be between 0 and ${MAX_DELIVERIES}`, 'first');
    return (await ctx.services.metas.deliveries(metaId, n)).map(toWebhookDelivery);
  }

  @FieldResolver(() => [Container], {
    description: "The meta's containers (at most 1000).",
    complexity: ({ childComplexity }) => 1 + childComplexity * 20,
  })
  async containers(@Root() meta: Meta, @Ctx() ctx: GatewayContext): Promise<Container[]> {
    const page = await ctx.services.containers.list({ metaId: meta.id }, { first: 1000 });
    return page.nodes.map(toContainer);
  }

  @FieldResolver(() => Group, { nullable: true, description: 'The group the meta runs in.' })
  async group(@Root() meta: Meta, @Ctx() ctx: GatewayContext): Promise<Group | null> {
    const group = await ctx.services.groups.get(meta.groupId);
    return group ? toGroup(group) : null;
  }

  @Mutation(() => Meta, { description: 'Cluster mode: creates a meta; the scheduler places its instances.' })
  async createMeta(
    @Arg('input', () => CreateMetaInput, { description: 'The new meta.' }) input: CreateMetaInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Meta> {
    const meta = await ctx.services.metas.create({
      groupId: input.groupId,
      id: input.id ?? undefined,
      instances: input.instances,
      config: toContainerConfig(input.config),
      constraints: input.constraints ?? undefined,
      webhooks: input.webhooks ? toWebhooks(input.webhooks) : undefined,
      removeDelay: input.removeDelay ?? undefined,
      recovery: input.recovery ?? undefined,
    });
    return toMeta(meta);
  }

  @Mutation(() => Meta, {
    description: 'Changes instances, config, constraints, webhooks or options of a meta.',
  })
  async updateMeta(
    @Arg('id', () => ID, { description: 'The meta id.' }) id: string,
    @Arg('input', () => UpdateMetaInput, { description: 'What to change.' }) input: UpdateMetaInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Meta> {
    const meta = await ctx.services.metas.update(id, {
      instances: input.instances ?? undefined,
      config: input.config ? toContainerConfig(input.config) : undefined,
      constraints: input.constraints ?? undefined,
      webhooks: input.webhooks ? toWebhooks(input.webhooks) : undefined,
      removeDelay: input.removeDelay ?? undefined,
      recovery: input.recovery ?? undefined,
    });
    return toMeta(meta);
  }

  @Mutation(() => Meta, { description: 'Rolls every instance to another image tag (all or nothing).' })
  async upgradeMeta(
    @Arg('id', () => ID, { description: 'The meta id.' }) id: string,
    @Arg('imageTag', () => String, { description: 'The new tag (must differ from the current one).' })
    imageTag: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Meta> {
    return toMeta(await ctx.services.metas.upgrade(id, imageTag));
  }

  @Mutation(() => Meta, { description: 'Applies a container action to every instance of a meta.' })
  async operateMeta(
    @Arg('id', () => ID, { description: 'The meta id.' }) id: string,
    @Arg('action', () => ContainerAction, { description: 'What to do.' }) action: ContainerAction,
    @Ctx() ctx: GatewayContext,
  ): Promise<Meta> {
    return toMeta(await ctx.services.metas.operate(id, action));
  }

  @Mutation(() => Boolean, { description: 'Removes a meta and all its containers.' })
  async removeMeta(
    @Arg('id', () => ID, { description: 'The meta id.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    return ctx.services.metas.remove(id);
  }
}
