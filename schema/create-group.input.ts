import { MaxLength, MinLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'A new group.' })
export class CreateGroupInput {
  @Field(() => String, { description: 'A display name.' })
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'Bringing a Humpback v1 group: its GroupId (as in the HUMPBACK_CLUSTER_GROUPID env of its cluster containers), so the v1 containers and metas adopted into it belong to it. Admins only; refused when a group has that id. Default: a new id.',
  })
  id?: string | undefined;

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
