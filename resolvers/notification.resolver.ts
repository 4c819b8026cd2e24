import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { NotificationChannelRecord } from '../core/store/store.js';
import { NotificationChannel, NotificationEvent } from '../schema/notification-channel.type.js';
import type { GatewayContext } from './context.js';

function toChannel(c: NotificationChannelRecord): NotificationChannel {
  return { id: c.id, kind: c.kind, target: c.target, events: [...c.events], signed: !!c.secretToken };
}

@Resolver(() => NotificationChannel)
export class NotificationResolver {
  @Query(() => [NotificationChannel], { description: 'Notification channels (admins only).' })
  async notificationChannels(@Ctx() ctx: GatewayContext): Promise<NotificationChannel[]> {
    return (await ctx.services.notifications.list()).map(toChannel);
  }

  @Mutation(() => NotificationChannel, {
    description:
      'Adds a channel (admins only): `webhook` (target a URL; requests signed like meta webhooks when ' +
      'secretToken is given) or `email` (target an address; sent through HUMPBACK_SMTP_URL).',
  })
  async addNotificationChannel(
    @Arg('kind', () => String, { description: '`webhook` or `email`.' }) kind: string,
    @Arg('target', () => String, { description: 'A URL or an email address.' }) target: string,
    @Arg('events', () => [NotificationEvent], { description: 'What to send it.' })
    events: NotificationEvent[],
    @Arg('secretToken', () => String, {
      nullable: true,
      description: 'Webhooks: sent as X-Humpback-Token and the key of X-Humpback-Signature.',
    })
    secretToken: string | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<NotificationChannel> {
    return toChannel(
      await ctx.services.notifications.add({ kind, target, events, secretToken: secretToken ?? undefined }),
    );
  }

  @Mutation(() => Boolean, { description: 'Removes a channel (admins only); false when there was none.' })
  removeNotificationChannel(
    @Arg('id', () => ID, { description: 'The channel.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    return ctx.services.notifications.remove(id);
  }
}
