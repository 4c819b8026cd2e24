import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { NotificationEvent } from '../core/domain.js';

export { NotificationEvent };

registerEnumType(NotificationEvent, {
  name: 'NotificationEvent',
  description: 'What a notification channel is told about.',
  valuesConfig: {
    NODE_DOWN: { description: 'A node is UNHEALTHY or DISCONNECTED for longer than HUMPBACK_NOTIFY_DELAY.' },
    NODE_UP: { description: 'A node told down is HEALTHY again.' },
    MIGRATION: { description: "A meta's instances were moved off a lost node." },
    RECOVERY_FAILED: { description: 'A recovery or migration pass could not bring a meta to its instances.' },
    META_FAILED: { description: 'A change to a meta could not be completed (see Meta.lastFailure).' },
  },
});

@ObjectType({ description: 'Where notifications go: a signed webhook or an email address.' })
export class NotificationChannel {
  @Field(() => ID, { description: 'The channel’s id, for removeNotificationChannel.' })
  id!: string;

  @Field(() => String, { description: '`webhook` or `email`.' })
  kind!: string;

  @Field(() => String, { description: 'The URL (webhook) or the email address.' })
  target!: string;

  @Field(() => [NotificationEvent], { description: 'The events sent to it.' })
  events!: NotificationEvent[];

  @Field(() => Boolean, {
    description: 'Whether its webhook requests are signed (the token is never shown).',
  })
  signed!: boolean;
}
