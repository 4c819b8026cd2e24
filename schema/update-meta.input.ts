import { Min, ValidateNested } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import { ContainerConfigInput } from './container-config.input.js';
import { WebhookInput } from './webhook.input.js';

@InputType({ description: 'Changes to a meta; absent fields stay as they are.' })
export class UpdateMetaInput {
  @Field(() => Int, { nullable: true, description: 'A new instance count.' })
  @Min(0)
  instances?: number | undefined;

  @Field(() => ContainerConfigInput, {
    nullable: true,
    description: 'A new container spec (containers are recreated).',
  })
  @ValidateNested()
  config?: ContainerConfigInput | undefined;

  @Field(() => [String], { nullable: true, description: 'The full new list of constraints.' })
  constraints?: string[] | undefined;

  @Field(() => [WebhookInput], { nullable: true, description: 'The full new list of webhooks.' })
  @ValidateNested()
  webhooks?: WebhookInput[] | undefined;

  @Field(() => Boolean, { nullable: true, description: 'Delay the removal of surplus containers.' })
  removeDelay?: boolean | undefined;

  @Field(() => Boolean, { nullable: true, description: 'Let recovery passes keep the instance count.' })
  recovery?: boolean | undefined;
}
