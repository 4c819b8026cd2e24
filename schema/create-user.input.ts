import { Matches, MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A new user.' })
export class CreateUserInput {
  @Field(() => String, { description: 'Letters, digits, dot, dash and underscore; unique ignoring case.' })
  @Matches(/^[A-Za-z0-9._-]{1,64}$/)
  username!: string;

  @Field(() => String, { description: 'At least 8 characters.' })
  @MinLength(8)
  @MaxLength(200)
  password!: string;

  @Field(() => Boolean, { defaultValue: false, description: 'Whether the user is an admin.' })
  admin!: boolean;
}
