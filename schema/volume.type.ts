import { Field, Float, ID, ObjectType } from 'type-graphql';
import { Container } from './container.type.js';
import { Label } from './label.type.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A Docker volume on a node (also one made outside Humpback).' })
export class Volume {
  @Field(() => String, { description: 'The volume name.' })
  name!: string;

  @Field(() => ID, { description: 'The node it is on.' })
  nodeId!: string;

  @Field(() => String, { description: 'Its driver (local for NFS volumes).' })
  driver!: string;

  @Field(() => [Label], { description: 'Its driver options (type=nfs, o=addr=..., device=:... for NFS).' })
  options!: Label[];

  @Field(() => [Label], { description: 'Its Docker labels.' })
  labels!: Label[];

  @Field(() => String, { nullable: true, description: 'Where the engine keeps it on the node.' })
  mountpoint?: string | undefined;

  @Field(() => Float, { nullable: true, description: 'Its size in bytes, where Docker reports it.' })
  sizeBytes?: number | undefined;

  @Field(() => [Container], { description: 'The containers (any state) that mount it.' })
  usedBy!: Container[];

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was made, where Docker says.' })
  createdAt?: string | undefined;
}
