import { Field, ID, ObjectType } from 'type-graphql';
import { TokenScope } from './accounts.enums.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({
  description: 'A long-lived token for scripts and CI; send it as `Authorization: Bearer <token>`.',
})
export class ApiToken {
  @Field(() => ID, { description: 'The token id (not the token).' })
  id!: string;

  @Field(() => String, { description: 'What the token is for.' })
  name!: string;

  @Field(() => [TokenScope], { description: 'What the token may do.' })
  scopes!: TokenScope[];

  @Field(() => DateTimeScalar, { description: 'When the token was created.' })
  createdAt!: string;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When the token was last used (to the minute).',
  })
  lastUsedAt?: string | undefined;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the token stops working; null: never.' })
  expiresAt?: string | undefined;
}

@ObjectType({ description: 'A new API token: the token is shown this once and never again.' })
export class CreatedApiToken {
  @Field(() => String, { description: 'The token itself; only its hash is kept.' })
  token!: string;

  @Field(() => ApiToken, { description: 'The token as `apiTokens` lists it.' })
  apiToken!: ApiToken;
}
