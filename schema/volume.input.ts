import { ValidateNested } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { NfsVolumeInput } from './nfs-volume.input.js';

@InputType({
  description:
    'A mount: exactly one of hostPath (a bind of the host’s files), volume (a named volume) and nfs (an NFS export).',
})
export class VolumeInput {
  @Field(() => String, { description: 'The path inside the container.' })
  containerPath!: string;

  @Field(() => String, { nullable: true, description: 'The path on the host (a bind mount).' })
  hostPath?: string | undefined;

  @Field(() => String, {
    nullable: true,
    description:
      'A named volume (made on the node when missing). In a meta, `{index}` in it is the instance’s index, so each instance has its own volume (e.g. `data-{index}`).',
  })
  volume?: string | undefined;

  @Field(() => NfsVolumeInput, {
    nullable: true,
    description:
      'An NFS export, mounted by Docker’s local driver (type=nfs); the volume is made on every node the container runs on. In a meta, `{index}` in its path is the instance’s index.',
  })
  @ValidateNested()
  nfs?: NfsVolumeInput | undefined;

  @Field(() => Boolean, { nullable: true, description: 'Mount read-only.' })
  readOnly?: boolean | undefined;
}
