import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { NodeStatus } from './enums.js';
import { Label } from './label.type.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A Docker host running the Humpback agent.' })
export class Node {
  @Field(() => ID, { description: "The agent's node key (a UUID)." })
  id!: string;

  @Field(() => String, { description: 'The host name.' })
  name!: string;

  @Field(() => String, { description: 'The IP address the node registered with.' })
  ip!: string;

  @Field(() => String, { description: "host:port of the agent's REST API." })
  apiAddr!: string;

  @Field(() => NodeStatus, { description: 'Health as the gateway sees it.' })
  status!: NodeStatus;

  @Field(() => String, {
    nullable: true,
    description: "Why the node is UNHEALTHY (the gateway's last failed check of its agent); null otherwise.",
  })
  statusReason?: string | null;

  @Field(() => Int, { description: 'CPU count.' })
  cpus!: number;

  @Field(() => Float, { description: 'Total memory in bytes.' })
  memoryBytes!: number;

  @Field(() => Float, { nullable: true, description: 'CPU use in percent of all CPUs, when known.' })
  cpuPercent?: number | undefined;

  @Field(() => Float, { nullable: true, description: 'Memory in use in bytes, when known.' })
  memoryUsedBytes?: number | undefined;

  @Field(() => [Label], { description: "The Docker Engine's labels (constraints `engine.labels.X`)." })
  engineLabels!: Label[];

  @Field(() => String, { nullable: true, description: 'Docker Engine version.' })
  dockerVersion?: string | undefined;

  @Field(() => String, { nullable: true, description: 'Operating system (e.g. linux).' })
  os?: string | undefined;

  @Field(() => String, { nullable: true, description: 'CPU architecture (e.g. x86_64).' })
  arch?: string | undefined;

  @Field(() => DateTimeScalar, { description: 'When the cluster cache last heard from the node.' })
  updatedAt!: string;
}
