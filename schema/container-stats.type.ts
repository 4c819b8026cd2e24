import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType({ description: "One sample of a running container's resource use, taken by its engine." })
export class ContainerStats {
  @Field(() => Date, { description: 'When the engine took the sample.' })
  at!: Date;

  @Field(() => Float, { description: 'CPU use in percent of one CPU (200 means two CPUs busy).' })
  cpuPercent!: number;

  @Field(() => Float, { description: 'Memory in use in bytes, page cache excluded.' })
  memoryUsageBytes!: number;

  @Field(() => Float, {
    description: "The container's memory limit in bytes (the node's memory when it has none).",
  })
  memoryLimitBytes!: number;

  @Field(() => Float, { description: 'Bytes received over the network since the container started.' })
  networkRxBytes!: number;

  @Field(() => Float, { description: 'Bytes sent over the network since the container started.' })
  networkTxBytes!: number;
}
