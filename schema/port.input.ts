import { Max, Min } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';

@InputType({ description: 'A published port.' })
export class PortInput {
  @Field(() => Int, { description: 'The port inside the container.' })
  @Min(1)
  @Max(65535)
  privatePort!: number;

  @Field(() => Int, { nullable: true, description: 'The host port; 0 or null: the agent allocates one.' })
  @Min(0)
  @Max(65535)
  publicPort?: number | undefined;

  @Field(() => String, { nullable: true, description: 'tcp (default) or udp.' })
  type?: string | undefined;
}
