import { Field, ObjectType } from 'type-graphql';
import { User } from './user.type.js';

@ObjectType({ description: 'The result of a successful login.' })
export class AuthPayload {
  @Field(() => String, { description: 'A signed token: send it as `Authorization: Bearer <token>`.' })
  token!: string;

  @Field(() => User, { description: 'Who logged in.' })
  user!: User;
}
