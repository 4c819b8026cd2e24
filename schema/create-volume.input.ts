import { ValidateNested } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { LabelInput } from './label.input.js';
import { NfsVolumeInput } from './nfs-volume.input.js';

@InputType({ description: 'A volume to make on a node.' })
export class CreateVolumeInput {
  @Field(() => String, {
    description: 'The volume name: letters, digits, _ . - (starting with a letter or digit).',
  })
  name!: string;

  @Field(() => String, { nullable: true, description: 'The volume driver. Default: local.' })
  driver?: string | undefined;

  @Field(() => [LabelInput], { nullable: true, description: 'Driver options (docker volume create -o).' })
  @ValidateNested()
  options?: LabelInput[] | undefined;

  @Field(() => [LabelInput], { nullable: true, description: 'Docker labels.' })
  @ValidateNested()
  labels?: LabelInput[] | undefined;

  @Field(() => NfsVolumeInput, {
    nullable: true,
    description: 'Make it an NFS volume (local driver, type=nfs).',
  })
  @ValidateNested()
  nfs?: NfsVolumeInput | undefined;
}
