import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: "A meta's webhook. Its secret token is never shown." })
export class Webhook {
  @Field(() => String, { description: 'Where events are POSTed.' })
  url!: string;

  @Field(() => Boolean, { description: 'Whether requests carry X-Humpback-Token and an HMAC signature.' })
  hasSecretToken!: boolean;
}
