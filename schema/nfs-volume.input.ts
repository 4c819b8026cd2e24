import { Field, InputType } from 'type-graphql';

@InputType({ description: 'An NFS export: Docker’s local driver with type=nfs.' })
export class NfsVolumeInput {
  @Field(() => String, { description: 'The NFS server’s host name or IP address.' })
  server!: string;

  @Field(() => String, { description: 'The exported path on the server, e.g. /export/data.' })
  path!: string;

  @Field(() => String, { nullable: true, description: 'Mount options beside addr, e.g. `vers=4,soft`.' })
  options?: string | undefined;
}
