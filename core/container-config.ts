/**
 * A container's configuration as Humpback users give it (GraphQL ContainerConfigInput, a meta's
 * config), its mapping to the agent's wire form (core/agent-wire.ts, Humpback's PascalCase) and the
 * one check of its validity: the agent's own validation of that body, which the gateway and the
 * scheduler run before they store or send anything.
 */
import { createHash } from 'node:crypto';
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

/**
 * A mount: exactly one of `hostPath` (a bind of the host's files), `volume` (a named Docker volume)
 * and `nfs` (an NFS export, made a local volume of type nfs on each node the container runs on).
 */
export interface VolumeBinding {
  containerPath: string;
  hostPath?: string | undefined;
  /** A named volume; in a meta, `{index}` in it is the instance's index. */
  volume?: string | undefined;
  nfs?: NfsVolume | undefined;
  readOnly?: boolean | undefined;
}

/** An NFS export: Docker's local driver with `type=nfs`, `o=addr=<server>[,<options>]`, `device=:<path>`. */
export interface NfsVolume {
  server: string;
  path: string;
  /** Mount options beside addr, e.g. `vers=4,soft`. */
  options?: string | undefined;
}

/** The placeholder in a meta's volume names (and NFS paths) for the instance's index. */
export const INDEX_PLACEHOLDER = '{index}';

/**
 * The volume name an NFS mount gets on a node: `nfs-` and a digest of server, path and options, so
 * every instance with the same export shares one volume per node and finds it again when recreated.
 */
export function nfsVolumeName(nfs: NfsVolume): string {
  const digest = createHash('sha256')
    .update(`${nfs.server}\0${nfs.path}\0${nfs.options ?? ''}`)
    .digest('hex');
  return `nfs-${digest.slice(0, 16)}`;
}

/** Docker's local-driver options for an NFS export. */
export function nfsDriverOptions(nfs: NfsVolume): Record<string, string> {
  return {
    type: 'nfs',
    o: [`addr=${nfs.server}`, ...(nfs.options ? [nfs.options] : [])].join(','),
    device: `:${nfs.path}`,
  };
}

/** The config with `{index}` in its volume names and NFS paths replaced by `index` (a meta's instance). */
export function withVolumeIndex(config: ContainerConfig, index: number): ContainerConfig {
  if (
    !config.volumes?.some(
      (v) => v.volume?.includes(INDEX_PLACEHOLDER) || v.nfs?.path.includes(INDEX_PLACEHOLDER),
    )
  )
    return config;
  const put = (s: string): string => s.split(INDEX_PLACEHOLDER).join(String(index));
  return {
    ...config,
    volumes: config.volumes.map((v) => ({
      ...v,
      ...(v.volume !== undefined ? { volume: put(v.volume) } : {}),
      ...(v.nfs ? { nfs: { ...v.nfs, path: put(v.nfs.path) } } : {}),
    })),
  };
}

/** What the mount binds on the host side: the host path, the volume's name, or the NFS volume's. */
export function mountSource(v: VolumeBinding): string {
  return v.hostPath ?? v.volume ?? (v.nfs ? nfsVolumeName(v.nfs) : '');
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
      HostVolume: mountSource(v),
      ReadOnly: v.readOnly ?? false,
      ...(v.nfs
        ? {
            Nfs: {
              Server: v.nfs.server,
              Path: v.nfs.path,
              ...(v.nfs.options ? { Options: v.nfs.options } : {}),
            },
          }
        : {}),
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
  Nfs: 'nfs',
  Server: 'server',
  Path: 'path',
  Options: 'options',
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
  const mounts = (config.volumes ?? []).flatMap((v, i) => {
    const given = [v.hostPath, v.volume, v.nfs].filter((x) => x !== undefined).length;
    return given === 1 ? [] : [`config.volumes.${i}: give exactly one of hostPath, volume and nfs`];
  });
  if (mounts.length) return mounts;
  const result = createContainerBody.safeParse(toCreateBody(config));
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'string' ? (CONFIG_FIELD[p] ?? p) : String(p)));
    return `${['config', ...path].join('.')}: ${issue.message}`;
  });
}
