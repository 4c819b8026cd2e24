import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ContainerState } from './enums.js';
import { Label } from './label.type.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A Docker container on a node.' })
export class Container {
  @Field(() => ID, { description: 'The full Docker container id.' })
  id!: string;

  @Field(() => String, { description: 'The container name without a leading slash.' })
  name!: string;

  @Field(() => ID, { description: 'The node it runs on.' })
  nodeId!: string;

  @Field(() => String, { description: 'The image reference.' })
  image!: string;

  @Field(() => ContainerState, { description: 'The Docker state.' })
  state!: ContainerState;

  @Field(() => String, { description: "Docker's status text, e.g. `Up 3 minutes`." })
  status!: string;

  @Field(() => ID, { nullable: true, description: 'The group of a managed container.' })
  groupId?: string | undefined;

  @Field(() => ID, { nullable: true, description: 'The meta of a cluster container.' })
  metaId?: string | undefined;

  @Field(() => Int, { nullable: true, description: "A cluster container's instance index." })
  index?: number | undefined;

  @Field(() => [Label], { description: 'Docker labels.' })
  labels!: Label[];

  @Field(() => DateTimeScalar, { description: 'When the container was created.' })
  createdAt!: string;
}
