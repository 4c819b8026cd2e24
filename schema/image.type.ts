import { Field, Float, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A Docker image on a node.' })
export class Image {
  @Field(() => ID, { description: 'The image id (sha256:...).' })
  id!: string;

  @Field(() => [String], { description: 'Its repository tags.' })
  tags!: string[];

  @Field(() => Float, { description: 'Its size in bytes.' })
  sizeBytes!: number;
}
