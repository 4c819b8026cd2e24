import { Field, ID, ObjectType } from 'type-graphql';
import { GroupRole } from './accounts.enums.js';
import { User } from './user.type.js';

@ObjectType({ description: 'A set of users, given roles in groups by grants.' })
export class Team {
  @Field(() => ID, { description: 'The team id.' })
  id!: string;

  @Field(() => String, { description: 'A display name, unique (any case).' })
  name!: string;

  @Field(() => [User], { description: "The team's members." })
  members!: User[];
}

@ObjectType({ description: "A team's role in a group." })
export class GroupGrant {
  @Field(() => Team, { description: 'The team.' })
  team!: Team;

  @Field(() => GroupRole, { description: 'What its members may do in the group.' })
  role!: GroupRole;
}
