import { MaxLength, MinLength, ValidateNested } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import { LabelInput } from './label.input.js';

@InputType({ description: 'A resource limit of the container (`ulimit`).' })
export class UlimitInput {
  @Field(() => String, { description: 'The limit, e.g. `nofile`, `nproc`, `memlock`.' })
  @MinLength(1)
  @MaxLength(32)
  name!: string;

  @Field(() => Int, { description: 'The soft limit (-1: unlimited).' })
  soft!: number;

  @Field(() => Int, { description: 'The hard limit, at least the soft one (-1: unlimited).' })
  hard!: number;
}

@InputType({ description: "Where Docker sends the container's output." })
export class LogConfigInput {
  @Field(() => String, { description: 'The log driver, e.g. `json-file`, `local`, `syslog`, `none`.' })
  @MinLength(1)
  @MaxLength(64)
  type!: string;

  @Field(() => [LabelInput], { nullable: true, description: "The driver's options, e.g. `max-size=10m`." })
  @ValidateNested()
  options?: LabelInput[] | undefined;
}
