import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar, JSONScalar } from './scalars.js';
import { Webhook } from './webhook.type.js';

@ObjectType({ description: 'Why the scheduler could not run all instances of a meta.' })
export class MetaFailure {
  @Field(() => String, { description: 'What failed, in the words of the engine or the placement.' })
  message!: string;

  @Field(() => DateTimeScalar, { description: 'When the scheduler last tried and failed.' })
  at!: string;
}

@ObjectType({
  description: 'A cluster-mode service: N instances of one container spec placed by the scheduler.',
})
export class Meta {
  @Field(() => ID, { description: 'The meta id.' })
  id!: string;

  @Field(() => ID, { description: 'The group it runs in.' })
  groupId!: string;

  @Field(() => String, {
    description: "The config's name; containers are named CLUSTER-<groupId[:8]>-<name>-<index>.",
  })
  name!: string;

  @Field(() => String, { description: 'The image without its tag.' })
  image!: string;

  @Field(() => String, { description: 'The image tag (upgradeMeta changes it).' })
  imageTag!: string;

  @Field(() => Int, { description: 'How many instances should run.' })
  instances!: number;

  @Field(() => [String], { description: 'Placement constraints such as `node.labels.zone==a`.' })
  constraints!: string[];

  @Field(() => JSONScalar, { description: 'The container spec, shaped like ContainerConfigInput.' })
  config!: unknown;

  @Field(() => [Webhook], { description: 'Webhooks called on every meta event (urls only).' })
  webhooks!: Webhook[];

  @Field(() => Boolean, { description: 'Delay the removal of surplus containers (CENTER_REMOVE_DELAY).' })
  removeDelay!: boolean;

  @Field(() => Boolean, {
    description: 'Whether recovery passes recreate missing and remove surplus instances.',
  })
  recovery!: boolean;

  @Field(() => DateTimeScalar, { description: 'When the meta was created.' })
  createdAt!: string;

  @Field(() => DateTimeScalar, { description: 'When the meta was last changed.' })
  updatedAt!: string;

  @Field(() => MetaFailure, {
    nullable: true,
    description:
      'Why the scheduler could not create every instance the last time it tried (for example an image ' +
      'its registry does not have); null once a pass brings the meta to its instance count.',
  })
  lastFailure!: MetaFailure | null;
}
