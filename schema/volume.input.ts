import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A bind mount.' })
export class VolumeInput {
  @Field(() => String, { description: 'The path inside the container.' })
  containerPath!: string;

  @Field(() => String, { description: 'The path on the host.' })
  hostPath!: string;

  @Field(() => Boolean, { nullable: true, description: 'Mount read-only.' })
  readOnly?: boolean | undefined;
}
