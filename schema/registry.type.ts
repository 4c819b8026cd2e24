import { Field, Float, ID, InputType, ObjectType } from 'type-graphql';
import { MaxLength } from 'class-validator';
import { DateTimeScalar } from './scalars.js';

@ObjectType({
  description: 'A private image registry whose credentials Humpback keeps (the password is never returned).',
})
export class Registry {
  @Field(() => ID, { description: 'The registry id.' })
  id!: string;

  @Field(() => String, { description: 'A name for people.' })
  name!: string;

  @Field(() => String, {
    description: 'As given: `http(s)://host[:port]` or `host[:port]` (https unless insecure).',
  })
  url!: string;

  @Field(() => String, { nullable: true, description: 'The user Humpback logs in as; null: anonymous.' })
  username!: string | null;

  @Field(() => Boolean, { description: 'Plain HTTP (the engines must list it in insecure-registries).' })
  insecure!: boolean;

  @Field(() => DateTimeScalar, { description: 'When it was added.' })
  createdAt!: string;
}

@InputType({ description: 'A registry to add or change; its credentials are checked against `/v2/` first.' })
export class RegistryInput {
  @Field(() => String, { description: 'A name for people.' })
  @MaxLength(200)
  name!: string;

  @Field(() => String, { description: '`http(s)://host[:port]` or `host[:port]`.' })
  @MaxLength(500)
  url!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The user; on update, absent keeps the stored one and "" removes the credentials.',
  })
  @MaxLength(500)
  username?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The password; on update, absent keeps the stored one.',
  })
  @MaxLength(4096)
  password?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Plain HTTP. Default false.' })
  insecure?: boolean | null;
}

@ObjectType({ description: 'A tag of a repository in a registry.' })
export class RegistryTag {
  @Field(() => String, { description: 'The tag.' })
  name!: string;

  @Field(() => String, { description: 'The manifest digest (what `docker images --digests` shows).' })
  digest!: string;

  @Field(() => Float, {
    nullable: true,
    description: 'Config and layers as stored (compressed), in bytes; null for a multi-platform index.',
  })
  sizeBytes!: number | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "When the image was built (its config's `created`).",
  })
  created!: string | null;
}

@ObjectType({ description: 'A repository of a registry, with its tags.' })
export class RegistryRepository {
  @Field(() => String, { description: 'The repository name, e.g. `team/app`.' })
  name!: string;

  @Field(() => [RegistryTag], { description: 'Its tags, by name.' })
  tags!: RegistryTag[];
}
