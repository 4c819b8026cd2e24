import { MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A new group.' })
export class CreateGroupInput {
  @Field(() => String, { description: 'A display name.' })
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @Field(() => String, { nullable: true, description: 'What the group is for.' })
  @MaxLength(1000)
  description?: string | undefined;

  @Field(() => Boolean, { defaultValue: false, description: 'Cluster mode (scheduler) or single mode.' })
  clusterMode!: boolean;

  @Field(() => [String], {
    nullable: true,
    description: 'Servers: ip or hostname, optionally :port (admins only).',
  })
  servers?: string[] | undefined;

  @Field(() => [String], {
    nullable: true,
    description: "Host directories users' containers in the group may bind (admins only).",
  })
  allowedHostPaths?: string[] | undefined;

  @Field(() => Boolean, { defaultValue: false, description: 'Readable by every logged-in user (as VIEWER).' })
  public!: boolean;
}
