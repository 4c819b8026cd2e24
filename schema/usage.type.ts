import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';
import { UsageRange } from '../core/domain.js';

export { UsageRange };

registerEnumType(UsageRange, {
  name: 'UsageRange',
  description: 'The span of a usage history and its step.',
  valuesConfig: {
    HOUR: { description: 'The last hour, a point every 10 s.' },
    DAY: { description: 'The last day, a point every 5 min (the mean of its 10 s samples).' },
    WEEK: { description: 'The last week, a point every hour (the mean of its 5 min points).' },
  },
});

@ObjectType({ description: 'One point of a usage history.' })
export class UsagePoint {
  @Field(() => Date, { description: 'The start of the step the point covers.' })
  at!: Date;

  @Field(() => Float, {
    description: 'CPU use in percent (of one CPU for a container, of the host for a node).',
  })
  cpuPercent!: number;

  @Field(() => Float, { description: 'Memory in use in bytes.' })
  memoryUsedBytes!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Bytes received since start (a node: the sum of its containers); null when unknown.',
  })
  networkRxBytes!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Bytes sent since start (a node: the sum of its containers); null when unknown.',
  })
  networkTxBytes!: number | null;
}
