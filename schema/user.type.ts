import { Field, ID, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A person who can log in.' })
export class User {
  @Field(() => ID, { description: 'The username in lower case.' })
  id!: string;

  @Field(() => String, { description: 'The username as it was created.' })
  username!: string;

  @Field(() => Boolean, { description: 'Admins see and change everything; others only the groups they own.' })
  admin!: boolean;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the user was created.' })
  createdAt?: string | undefined;
}
