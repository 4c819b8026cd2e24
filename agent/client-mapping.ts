/**
 * The client's side of the wire: the gateway's ContainerConfig to the agent's create body, and the
 * agent's answers (Humpback's PascalCase, core/agent-wire.ts) to the gateway's terms (client-types.ts). The
 * agent's own side, wire body to Docker, is container-mapping.ts. Pure functions.
 */
import type Docker from 'dockerode';
import type { ContainerConfig, PortMapping, VolumeBinding } from '../core/container-config.js';
import type { ContainerDetails, PortBinding } from '../core/services.js';
import type {
  AgentContainer,
  AgentContainerState,
  AgentContainerStats,
  AgentContainerSummary,
  AgentEvent,
  AgentImage,
  AgentLogLine,
  AgentPort,
  AgentVolume,
} from './client-types.js';
import type {
  ContainerBody,
  ContainerListItem,
  ContainerStatsBody,
  EventBody,
  ImageListItem,
  VolumeListItem,
  LogLineBody,
} from '../core/agent-wire.js';

/** The agent's container body back in the gateway's terms, its config as toCreateBody's inverse. */
export function toContainer(b: ContainerBody): AgentContainer {
  const ports: AgentPort[] = b.Ports.map((p) => ({
    privatePort: p.PrivatePort,
    publicPort: p.PublicPort,
    type: p.Type,
    ip: p.Ip,
  }));
  return {
    id: b.Id,
    name: b.Name,
    image: b.Image,
    state: b.State as AgentContainerState,
    status: b.Status,
    labels: b.Labels,
    created: b.Created,
    exitCode: b.ExitCode,
    startedAt: b.StartedAt,
    finishedAt: b.FinishedAt,
    pid: b.Pid ?? 0,
    oomKilled: b.OOMKilled ?? false,
    error: b.Error ?? '',
    ports,
    config: toConfig(b, ports),
  };
}

function toConfig(b: ContainerBody, ports: AgentPort[]): ContainerConfig {
  const config: ContainerConfig = { name: b.Name, image: b.Image };
  if (b.Command.length) config.command = b.Command;
  if (b.Env.length) config.env = b.Env;
  if (b.HostName) config.hostname = b.HostName;
  if (b.NetworkMode) config.networkMode = b.NetworkMode;
  if (ports.length) {
    config.ports = ports.map((p): PortMapping => ({
      privatePort: p.privatePort,
      publicPort: p.publicPort,
      type: p.type,
    }));
  }
  if (b.Volumes.length) {
    // A bind source starting with `/` is a host path; anything else names a volume.
    config.volumes = b.Volumes.map((v): VolumeBinding => ({
      containerPath: v.ContainerVolume,
      ...(v.HostVolume.startsWith('/') ? { hostPath: v.HostVolume } : { volume: v.HostVolume }),
      readOnly: v.ReadOnly,
    }));
  }
  if (b.Dns.length) config.dns = b.Dns;
  if (b.Extrahosts.length) config.extraHosts = b.Extrahosts;
  if (b.RestartPolicy) config.restartPolicy = b.RestartPolicy;
  if (Object.keys(b.Labels).length) config.labels = b.Labels;
  if (b.CPUShares) config.cpuShares = b.CPUShares;
  if (b.Memory) config.memoryMB = b.Memory;
  return config;
}

export function toSummary(c: ContainerListItem): AgentContainerSummary {
  return {
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    image: c.Image,
    state: c.State as AgentContainerState,
    status: c.Status,
    labels: c.Labels ?? {},
    created: new Date(c.Created * 1000).toISOString(),
  };
}

export function toStats(s: ContainerStatsBody): AgentContainerStats {
  return {
    at: s.Read,
    cpuPercent: s.CPUPercent,
    memoryUsageBytes: s.MemoryUsageBytes,
    memoryLimitBytes: s.MemoryLimitBytes,
    networkRxBytes: s.NetworkRx,
    networkTxBytes: s.NetworkTx,
  };
}

export function toLogLine(l: LogLineBody): AgentLogLine {
  return { at: l.At, stream: l.Stream === 'stderr' ? 'STDERR' : 'STDOUT', line: l.Line };
}

export function toImage(i: ImageListItem): AgentImage {
  return {
    id: i.Id,
    tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    digests: (i.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
    sizeBytes: i.Size,
    created: new Date(i.Created * 1000).toISOString(),
  };
}

export function toEvent(e: EventBody): AgentEvent {
  const attributes = e.Actor?.Attributes ?? {};
  return {
    action: e.Action,
    id: e.Actor?.ID ?? '',
    name: attributes['name'],
    image: attributes['image'],
    attributes,
    time: e.time,
    timeNano: e.timeNano,
  };
}

export function toVolume(v: VolumeListItem): AgentVolume {
  return {
    name: v.Name,
    driver: v.Driver,
    mountpoint: v.Mountpoint,
    options: v.Options ?? {},
    labels: v.Labels ?? {},
    createdAt: v.CreatedAt ?? undefined,
    sizeBytes: v.Size ?? undefined,
    usedBy: v.UsedBy,
  };
}

const ZERO_TIME = /^0001-01-01/;

/**
 * The details of a container from Docker's inspect: ports as Docker bound them while it runs (the
 * ones asked for otherwise), mounts, command, restart count and times (null while they never were).
 */
export function toDetails(info: Docker.ContainerInspectInfo): ContainerDetails {
  const running = info.State.Running || info.State.Paused || info.State.Restarting;
  const bound = (info.NetworkSettings?.Ports ?? {}) as Record<
    string,
    Array<{ HostIp?: string; HostPort?: string }> | null
  >;
  const asked = (info.HostConfig.PortBindings ?? {}) as typeof bound;
  const ports: PortBinding[] = [];
  for (const [key, binds] of Object.entries(running && Object.keys(bound).length ? bound : asked)) {
    const [priv = '0', type = 'tcp'] = key.split('/');
    if (!binds?.length) {
      ports.push({ privatePort: Number(priv), publicPort: null, type, ip: null });
      continue;
    }
    for (const b of binds) {
      const publicPort = Number(b.HostPort || 0);
      ports.push({ privatePort: Number(priv), publicPort: publicPort || null, type, ip: b.HostIp || null });
    }
  }
  const time = (t: string | undefined): string | null => (!t || ZERO_TIME.test(t) ? null : t);
  const started = time(info.State.StartedAt);
  return {
    command: [...((info.Path ? [info.Path] : []) as string[]), ...(info.Args ?? [])],
    env: info.Config.Env ?? [],
    ports,
    mounts: (info.Mounts ?? []).map((m) => ({
      source: m.Source ?? m.Name ?? '',
      destination: m.Destination,
      readOnly: !m.RW,
      type: m.Type ?? 'bind',
    })),
    restartCount: info.RestartCount ?? 0,
    startedAt: started,
    finishedAt: time(info.State.FinishedAt),
    exitCode: started ? info.State.ExitCode : null,
    hostname: info.Config.Hostname || null,
    networkMode: info.HostConfig.NetworkMode || null,
  };
}
