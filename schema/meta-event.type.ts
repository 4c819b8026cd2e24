import { Field, Float, ID, ObjectType } from 'type-graphql';
import { MetaEventType } from './enums.js';
import { JSONScalar } from './scalars.js';

@ObjectType({ description: 'A Humpback meta event, as also sent to webhooks.' })
export class MetaEvent {
  @Field(() => MetaEventType, { description: 'Which event.' })
  event!: MetaEventType;

  @Field(() => Float, { description: "Humpback's Timestamp, as in the webhook body." })
  timestamp!: number;

  @Field(() => ID, { description: 'The group of the meta.' })
  groupId!: string;

  @Field(() => ID, { description: 'The meta.' })
  metaId!: string;

  @Field(() => JSONScalar, {
    description:
      "The webhook body, humpback-center's Hook: {Timestamp, Event, MetaBase{GroupId, MetaId, IsRemoveDelay, IsRecovery, Instances, WebHooks[{Url, SecretToken}], Placement, ImageTag, Config, CreateAt, LastUpdateAt, AvailableNodesChanged}, HookContainers[{IP, Name, Container}]}, with every SecretToken empty.",
  })
  payload!: unknown;
}
