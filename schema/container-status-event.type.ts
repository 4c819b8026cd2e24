import { Field, ObjectType } from 'type-graphql';
import { Container } from './container.type.js';
import { ContainerState } from './enums.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A container changed state.' })
export class ContainerStatusEvent {
  @Field(() => Container, { description: 'The container as it is now.' })
  container!: Container;

  @Field(() => ContainerState, { nullable: true, description: 'Its state before; null for a new container.' })
  previousState!: ContainerState | null;

  @Field(() => DateTimeScalar, { description: 'When the change happened.' })
  at!: string;
}
