import { MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

@InputType({ description: 'Changes to a group; absent fields stay as they are.' })
export class UpdateGroupInput {
  @Field(() => String, { nullable: true, description: 'A new display name.' })
  @MinLength(1)
  @MaxLength(100)
  name?: string | undefined;

  @Field(() => String, { nullable: true, description: 'A new description.' })
  @MaxLength(1000)
  description?: string | undefined;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'Turn cluster mode on or off. Off removes the cluster containers: see confirmRemoveClusterContainers.',
  })
  clusterMode?: boolean | undefined;

  @Field(() => [String], { nullable: true, description: 'The full new list of servers (admins only).' })
  servers?: string[] | undefined;

  @Field(() => [String], {
    nullable: true,
    description: "The full new list of host directories users' containers may bind (admins only).",
  })
  allowedHostPaths?: string[] | undefined;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Readable by every logged-in user (OWNERs and admins).',
  })
  public?: boolean | undefined;

  @Field(() => [String], { nullable: true, description: 'The full new list of owner user ids.' })
  owners?: string[] | undefined;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "Must be true to turn cluster mode off, which removes the group's metas and their containers.",
  })
  confirmRemoveClusterContainers?: boolean | undefined;
}
