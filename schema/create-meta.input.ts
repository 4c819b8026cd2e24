import { Min, ValidateNested } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { ContainerConfigInput } from './container-config.input.js';
import { WebhookInput } from './webhook.input.js';

@InputType({ description: 'A new meta: N instances of a container spec in a cluster-mode group.' })
export class CreateMetaInput {
  @Field(() => ID, { description: 'A cluster-mode group.' })
  groupId!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'Bringing a Humpback v1 meta: its MetaId (a UUID, as in the HUMPBACK_CLUSTER_METAID env of its containers), so the v1 containers already running are adopted, not recreated. Admins only; refused when a meta has that id. Default: a new id.',
  })
  id?: string | undefined;

  @Field(() => Int, { description: 'How many instances to run.' })
  @Min(0)
  instances!: number;

  @Field(() => ContainerConfigInput, { description: 'The container spec.' })
  @ValidateNested()
  config!: ContainerConfigInput;

  @Field(() => [String], {
    nullable: true,
    description: 'Placement constraints, e.g. `node.labels.zone==a`.',
  })
  constraints?: string[] | undefined;

  @Field(() => [WebhookInput], { nullable: true, description: 'Webhooks called on every meta event.' })
  @ValidateNested()
  webhooks?: WebhookInput[] | undefined;

  @Field(() => Boolean, { nullable: true, description: 'Delay the removal of surplus containers.' })
  removeDelay?: boolean | undefined;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Let recovery passes keep the instance count (default true).',
  })
  recovery?: boolean | undefined;
}
