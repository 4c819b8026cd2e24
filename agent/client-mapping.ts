/**
 * The client's side of the wire: the gateway's ContainerConfig to the agent's create body, and the
 * agent's answers (Humpback's PascalCase, core/agent-wire.ts) to the gateway's terms (client-types.ts). The
 * agent's own side, wire body to Docker, is container-mapping.ts. Pure functions.
 */
import type { ContainerConfig, PortMapping, VolumeBinding } from '../core/container-config.js';
import type {
  AgentContainer,
  AgentContainerState,
  AgentContainerStats,
  AgentContainerSummary,
  AgentEvent,
  AgentImage,
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
