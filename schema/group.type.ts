import { Field, ID, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A set of servers managed together, in single mode or in cluster mode.' })
export class Group {
  @Field(() => ID, { description: 'The group id.' })
  id!: string;

  @Field(() => String, { description: 'A display name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What the group is for.' })
  description?: string | undefined;

  @Field(() => Boolean, {
    description:
      'Cluster mode: the scheduler places metas on the nodes. Single mode: containers go on chosen nodes.',
  })
  clusterMode!: boolean;

  @Field(() => [String], {
    description: "The group's servers: ip or hostname, optionally :port, in lower case.",
  })
  servers!: string[];

  @Field(() => [String], {
    description:
      "User ids that are this group's OWNERs directly (admins always are); teams get roles by `grants`.",
  })
  owners!: string[];

  @Field(() => Boolean, { description: 'Readable by every logged-in user (as VIEWER).' })
  public!: boolean;

  @Field(() => [String], {
    description:
      "Host directories that users' containers in this group may bind (themselves or below them); set by admins. Empty: none. Admins may bind any path.",
  })
  allowedHostPaths!: string[];

  @Field(() => DateTimeScalar, { description: 'When the group was created.' })
  createdAt!: string;

  @Field(() => DateTimeScalar, { description: 'When the group was last changed.' })
  updatedAt!: string;
}
