import { Min, MinLength, ValidateNested } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import type { ContainerConfig } from '../core/container-config.js';
import { LabelInput, labelRecord } from './label.input.js';
import { PortInput } from './port.input.js';
import { VolumeInput } from './volume.input.js';
import { LogConfigInput, UlimitInput } from './container-limits.input.js';

@InputType({ description: 'A container spec.' })
export class ContainerConfigInput {
  @Field(() => String, { description: 'The container name (cluster mode: the meta name).' })
  @MinLength(1)
  name!: string;

  @Field(() => String, { description: 'The image, with or without a tag.' })
  @MinLength(1)
  image!: string;

  @Field(() => [String], { nullable: true, description: 'The command and its arguments.' })
  command?: string[] | undefined;

  @Field(() => [String], { nullable: true, description: 'Environment variables, `NAME=value`.' })
  env?: string[] | undefined;

  @Field(() => String, { nullable: true, description: 'The container host name.' })
  hostname?: string | undefined;

  @Field(() => String, { nullable: true, description: 'host | bridge | none | <network>.' })
  networkMode?: string | undefined;

  @Field(() => [PortInput], { nullable: true, description: 'Published ports.' })
  @ValidateNested()
  ports?: PortInput[] | undefined;

  @Field(() => [VolumeInput], {
    nullable: true,
    description: 'Mounts: host paths, named volumes or NFS exports.',
  })
  @ValidateNested()
  volumes?: VolumeInput[] | undefined;

  @Field(() => [String], { nullable: true, description: 'DNS servers.' })
  dns?: string[] | undefined;

  @Field(() => [String], { nullable: true, description: 'Extra /etc/hosts entries, `host:ip`.' })
  extraHosts?: string[] | undefined;

  @Field(() => String, { nullable: true, description: 'no | always | on-failure | unless-stopped.' })
  restartPolicy?: string | undefined;

  @Field(() => [LabelInput], { nullable: true, description: 'Docker labels.' })
  @ValidateNested()
  labels?: LabelInput[] | undefined;

  @Field(() => Int, { nullable: true, description: 'Relative CPU weight.' })
  @Min(0)
  cpuShares?: number | undefined;

  @Field(() => Int, { nullable: true, description: 'Memory limit in MiB.' })
  @Min(0)
  memoryMB?: number | undefined;

  // Container operations (limits, links, logging):
  @Field(() => [UlimitInput], { nullable: true, description: 'Resource limits (`ulimit`).' })
  @ValidateNested()
  ulimits?: UlimitInput[] | undefined;

  @Field(() => [String], {
    nullable: true,
    description: 'Links to other containers on the node, `name[:alias]`.',
  })
  links?: string[] | undefined;

  @Field(() => LogConfigInput, { nullable: true, description: 'The log driver and its options.' })
  @ValidateNested()
  logConfig?: LogConfigInput | undefined;

  @Field(() => Int, { nullable: true, description: 'Size of /dev/shm in MiB (default: Docker’s 64).' })
  @Min(0)
  shmSizeMB?: number | undefined;
}

/** The input as the services take it. */
export function toContainerConfig(input: ContainerConfigInput): ContainerConfig {
  const config: ContainerConfig = { name: input.name, image: input.image };
  if (input.command != null) config.command = input.command;
  if (input.env != null) config.env = input.env;
  if (input.hostname != null) config.hostname = input.hostname;
  if (input.networkMode != null) config.networkMode = input.networkMode;
  if (input.ports != null)
    config.ports = input.ports.map((p) => ({
      privatePort: p.privatePort,
      ...(p.publicPort != null ? { publicPort: p.publicPort } : {}),
      ...(p.type != null ? { type: p.type } : {}),
    }));
  if (input.volumes != null)
    config.volumes = input.volumes.map((v) => ({
      containerPath: v.containerPath,
      ...(v.hostPath != null ? { hostPath: v.hostPath } : {}),
      ...(v.volume != null ? { volume: v.volume } : {}),
      ...(v.nfs != null
        ? {
            nfs: {
              server: v.nfs.server,
              path: v.nfs.path,
              ...(v.nfs.options != null ? { options: v.nfs.options } : {}),
            },
          }
        : {}),
      ...(v.readOnly != null ? { readOnly: v.readOnly } : {}),
    }));
  if (input.dns != null) config.dns = input.dns;
  if (input.extraHosts != null) config.extraHosts = input.extraHosts;
  if (input.restartPolicy != null) config.restartPolicy = input.restartPolicy;
  if (input.labels != null) config.labels = labelRecord(input.labels, 'config.labels');
  if (input.cpuShares != null) config.cpuShares = input.cpuShares;
  if (input.memoryMB != null) config.memoryMB = input.memoryMB;
  if (input.ulimits != null)
    config.ulimits = input.ulimits.map(({ name, soft, hard }) => ({ name, soft, hard }));
  if (input.links != null) config.links = input.links;
  if (input.logConfig != null) {
    config.logConfig = {
      type: input.logConfig.type,
      options: labelRecord(input.logConfig.options ?? [], 'config.logConfig.options'),
    };
  }
  if (input.shmSizeMB != null) config.shmSizeMB = input.shmSizeMB;
  return config;
}
