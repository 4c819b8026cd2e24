import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

/** Which output a log line came from. */
export enum LogStream {
  STDOUT = 'STDOUT',
  STDERR = 'STDERR',
}
registerEnumType(LogStream, { name: 'LogStream', description: "Which of a container's outputs." });

@ObjectType({ description: "One line of a container's output." })
export class LogLine {
  @Field(() => DateTimeScalar, { description: "Docker's timestamp of the line (nanoseconds kept)." })
  at!: string;

  @Field(() => LogStream, { description: 'stdout or stderr.' })
  stream!: LogStream;

  @Field(() => String, { description: 'The line, without its newline.' })
  line!: string;
}

@ObjectType({ description: 'A console session, to be attached once at its URL.' })
export class ExecSession {
  @Field(() => ID, { description: 'The session id (in the URL).' })
  id!: string;

  @Field(() => String, {
    description:
      'The WebSocket to attach: `ws(s)://.../exec/<id>?ticket=...`; the URL alone authorises, once, ' +
      'for the user who started it. Binary frames carry stdin and stdout; a text frame ' +
      '`{"resize":{"cols":80,"rows":24}}` resizes the terminal.',
  })
  url!: string;

  @Field(() => DateTimeScalar, { description: 'The URL must be used before this (30 s).' })
  expiresAt!: string;
}

@ObjectType({ description: "A container's port binding." })
export class PortBinding {
  @Field(() => Int, { description: 'The port inside the container.' })
  privatePort!: number;

  @Field(() => Int, { nullable: true, description: 'The port on the node (null while none is bound).' })
  publicPort!: number | null;

  @Field(() => String, { description: 'tcp, udp or sctp.' })
  type!: string;

  @Field(() => String, { nullable: true, description: 'The host address it is bound to, if one.' })
  ip!: string | null;
}

@ObjectType({ description: 'A mount of a container: a bind, volume or tmpfs.' })
export class Mount {
  @Field(() => String, { description: 'The host path or the volume name.' })
  source!: string;

  @Field(() => String, { description: 'The path inside the container.' })
  destination!: string;

  @Field(() => Boolean, { description: 'Mounted read-only.' })
  readOnly!: boolean;

  @Field(() => String, { description: 'bind, volume, tmpfs, ...' })
  type!: string;
}
