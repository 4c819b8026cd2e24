/**
 * A container's configuration as Humpback users give it (GraphQL ContainerConfigInput, a meta's
 * config), its mapping to the agent's wire form (core/agent-wire.ts, Humpback's PascalCase) and the
 * one check of its validity: the agent's own validation of that body, which the gateway and the
 * scheduler run before they store or send anything.
 */
import { createContainerBody, type CreateContainerInput } from './agent-wire.js';

export interface ContainerConfig {
  name: string;
  image: string;
  command?: string[] | undefined;
  env?: string[] | undefined;
  hostname?: string | undefined;
  /** host | bridge | none | <network> */
  networkMode?: string | undefined;
  ports?: PortMapping[] | undefined;
  volumes?: VolumeBinding[] | undefined;
  dns?: string[] | undefined;
  extraHosts?: string[] | undefined;
  /** no | always | on-failure | unless-stopped */
  restartPolicy?: string | undefined;
  labels?: Record<string, string> | undefined;
  cpuShares?: number | undefined;
  memoryMB?: number | undefined;
  ulimits?: Ulimit[] | undefined;
  /** `name[:alias]` */
  links?: string[] | undefined;
  logConfig?: { type: string; options?: Record<string, string> | undefined } | undefined;
  shmSizeMB?: number | undefined;
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

export interface PortMapping {
  privatePort: number;
  /** 0 or undefined: the agent allocates one from DOCKER_CONTAINER_PORTS_RANGE. */
  publicPort?: number | undefined;
  /** tcp (default) or udp */
  type?: string | undefined;
}

export interface VolumeBinding {
  containerPath: string;
  hostPath: string;
  readOnly?: boolean | undefined;
}

/** Turns the gateway's container config into the agent's (Humpback's) request body. */
export function toCreateBody(config: ContainerConfig): CreateContainerInput {
  const body: CreateContainerInput = { Name: config.name, Image: config.image };
  if (config.command?.length) body.Command = config.command;
  if (config.env?.length) body.Env = config.env;
  if (config.hostname) body.HostName = config.hostname;
  if (config.networkMode) body.NetworkMode = config.networkMode;
  if (config.ports?.length) {
    body.Ports = config.ports.map((p) => ({
      PrivatePort: p.privatePort,
      PublicPort: p.publicPort ?? 0,
      Type: (p.type ?? 'tcp') as 'tcp' | 'udp' | 'sctp',
    }));
  }
  if (config.volumes?.length) {
    body.Volumes = config.volumes.map((v) => ({
      ContainerVolume: v.containerPath,
      HostVolume: v.hostPath,
      ReadOnly: v.readOnly ?? false,
    }));
  }
  if (config.dns?.length) body.Dns = config.dns;
  if (config.extraHosts?.length) body.Extrahosts = config.extraHosts;
  if (config.restartPolicy)
    body.RestartPolicy = config.restartPolicy as CreateContainerInput['RestartPolicy'];
  if (config.labels && Object.keys(config.labels).length) body.Labels = config.labels;
  if (config.cpuShares) body.CPUShares = config.cpuShares;
  if (config.memoryMB) body.Memory = config.memoryMB;
  if (config.ulimits?.length)
    body.Ulimits = config.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }));
  if (config.links?.length) body.Links = config.links;
  if (config.logConfig?.type)
    body.LogConfig = { Type: config.logConfig.type, Config: config.logConfig.options ?? {} };
  if (config.shmSizeMB) body.SHMSize = config.shmSizeMB;
  return body;
}

/** The gateway's names for the agent body's fields (in problem reports). */
const CONFIG_FIELD: Record<string, string> = {
  Name: 'name',
  Image: 'image',
  Command: 'command',
  Env: 'env',
  HostName: 'hostname',
  NetworkMode: 'networkMode',
  Ports: 'ports',
  PrivatePort: 'privatePort',
  PublicPort: 'publicPort',
  Type: 'type',
  Volumes: 'volumes',
  ContainerVolume: 'containerPath',
  HostVolume: 'hostPath',
  Dns: 'dns',
  Extrahosts: 'extraHosts',
  RestartPolicy: 'restartPolicy',
  Labels: 'labels',
  CPUShares: 'cpuShares',
  Memory: 'memoryMB',
  Ulimits: 'ulimits',
  Soft: 'soft',
  Hard: 'hard',
  Links: 'links',
  LogConfig: 'logConfig',
  Config: 'options',
  SHMSize: 'shmSizeMB',
};

/**
 * What an agent would refuse in a container config, as `config.<field>: why` (empty when it would
 * accept it): the gateway and the scheduler turn bad input away with this before storing or sending
 * anything.
 */
export function containerConfigProblems(config: ContainerConfig): string[] {
  const result = createContainerBody.safeParse(toCreateBody(config));
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'string' ? (CONFIG_FIELD[p] ?? p) : String(p)));
    return `${['config', ...path].join('.')}: ${issue.message}`;
  });
}
