import { Field, Int, ObjectType } from 'type-graphql';
import { Container } from './container.type.js';

@ObjectType({ description: 'A page of containers.' })
export class ContainerConnection {
  @Field(() => [Container], { description: 'The containers of this page.' })
  nodes!: Container[];

  @Field(() => Int, { description: 'How many containers match the filters (all pages).' })
  totalCount!: number;

  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page.' })
  endCursor!: string | null;

  @Field(() => Boolean, { description: 'Whether there is a next page.' })
  hasNextPage!: boolean;
}
