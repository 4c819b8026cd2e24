import { Field, ID, Int, ObjectType } from 'type-graphql';
import { MetaEventType } from './enums.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'One webhook request from the outbox, with its delivery state.' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'The delivery id.' })
  id!: string;

  @Field(() => MetaEventType, { description: 'The event it carries.' })
  event!: MetaEventType;

  @Field(() => String, { description: 'Where it is sent.' })
  url!: string;

  @Field(() => Int, { description: 'How many times it was tried.' })
  attempts!: number;

  @Field(() => Int, {
    nullable: true,
    description:
      'The HTTP status of the last attempt; null when it got no answer or its destination was refused.',
  })
  statusCode?: number | undefined;

  @Field(() => Boolean, { description: 'Whether a 2xx answer was received.' })
  delivered!: boolean;

  @Field(() => String, {
    nullable: true,
    description:
      'Why the last attempt failed, in Humpback\'s own words: "refused: 127.0.0.1 is a loopback address" (the URL\'s destination is not allowed, so it was not contacted), "could not resolve <host>", "connection refused", "no answer within 5 s", "answered 503". Null once delivered.',
  })
  error?: string | undefined;

  @Field(() => String, {
    nullable: true,
    deprecationReason: 'Use error.',
    description: 'The same as error.',
  })
  lastError?: string | undefined;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was last tried.' })
  lastAttemptAt?: string | undefined;

  @Field(() => DateTimeScalar, { description: 'When the event happened.' })
  createdAt!: string;
}
