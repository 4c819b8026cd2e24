import { IsUrl } from 'class-validator';
import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A webhook to call on every meta event.' })
export class WebhookInput {
  @Field(() => String, { description: 'An http(s) URL.' })
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  url!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'Sent as X-Humpback-Token and used to sign the body (X-Humpback-Signature). Never shown again.',
  })
  secretToken?: string | undefined;
}
