import { Field, ObjectType } from 'type-graphql';
import { NodeStatus } from './enums.js';
import { Node } from './node.type.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A node changed status.' })
export class NodeStatusEvent {
  @Field(() => Node, { description: 'The node as it is now.' })
  node!: Node;

  @Field(() => NodeStatus, { nullable: true, description: 'Its status before; null for a new node.' })
  previousStatus!: NodeStatus | null;

  @Field(() => DateTimeScalar, { description: 'When the change happened.' })
  at!: string;
}
