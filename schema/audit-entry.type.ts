import { Field, ID, ObjectType } from 'type-graphql';
import { AuditOutcome } from './enums.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

@ObjectType({ description: 'One audited mutation.' })
export class AuditEntry {
  @Field(() => ID, { description: 'The entry id; pass it as `before` to page back.' })
  id!: string;

  @Field(() => DateTimeScalar, { description: 'When it happened.' })
  at!: string;

  @Field(() => ID, { nullable: true, description: 'Who did it (null: not logged in, e.g. a failed login).' })
  userId!: string | null;

  @Field(() => String, { description: 'The mutation name.' })
  operation!: string;

  @Field(() => JSONScalar, { description: 'Its arguments, with passwords and tokens removed.' })
  args!: Record<string, unknown>;

  @Field(() => AuditOutcome, { description: 'How it ended.' })
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true, description: 'The error message when it failed.' })
  error?: string | undefined;
}
