/**
 * Humpback's container model ⇄ Docker's create options and inspect output, and Docker's stats sample
 * as the agent answers it. Pure functions.
 */
import type Docker from 'dockerode';
import type {
  ContainerBody,
  ContainerStatsBody,
  CreateContainerBody,
  PortBody,
  VolumeBody,
} from '../core/agent-wire.js';
import { badRequest } from './http-error.js';

const MiB = 1024 * 1024;

/** Splits a command line like a shell would for words and quotes (no expansion). */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!))
        cur += line[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw badRequest('Command has an unterminated quote');
  if (inWord) words.push(cur);
  return words;
}

/**
 * Docker create options for a validated body; `allocated` fills in the ports asked with PublicPort 0.
 * With null (no DOCKER_CONTAINER_PORTS_RANGE) those ports are exposed and not published, as in v1.
 */
export function toCreateOptions(
  body: CreateContainerBody,
  allocated: number[] | null = [],
): Docker.ContainerCreateOptions {
  const cmd = typeof body.Command === 'string' ? splitCommand(body.Command) : (body.Command ?? undefined);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  let next = 0;
  for (const p of body.Ports ?? []) {
    const key = `${p.PrivatePort}/${p.Type || 'tcp'}`;
    exposed[key] = {};
    let publicPort = p.PublicPort ?? 0;
    if (publicPort === 0) {
      if (allocated === null) continue;
      const port = allocated[next++];
      if (port === undefined) throw new Error('toCreateOptions: not enough allocated ports');
      publicPort = port;
    }
    (bindings[key] ??= []).push({ HostIp: p.Ip ?? '', HostPort: String(publicPort) });
  }
  const dns = body.Dns ? (Array.isArray(body.Dns) ? body.Dns : body.Dns === '' ? [] : [body.Dns]) : [];
  const restart = body.RestartPolicy || undefined;
  const hostConfig: Docker.HostConfig = {
    NetworkMode: body.NetworkMode || undefined,
    PortBindings: Object.keys(bindings).length ? bindings : undefined,
    Binds: body.Volumes?.length
      ? body.Volumes.map((v) => `${v.HostVolume}:${v.ContainerVolume}${v.ReadOnly ? ':ro' : ''}`)
      : undefined,
    Dns: dns.length ? dns : undefined,
    ExtraHosts: body.Extrahosts?.length ? body.Extrahosts : undefined,
    RestartPolicy: restart
      ? { Name: restart, MaximumRetryCount: restart === 'on-failure' ? (body.RestartRetryCount ?? 0) : 0 }
      : undefined,
    CpuShares: body.CPUShares || undefined,
    Memory: body.Memory ? body.Memory * MiB : undefined,
    ShmSize: body.SHMSize ? body.SHMSize * MiB : undefined,
    // Links on a user-defined network belong to its endpoint (below), as the docker CLI puts them.
    Links: body.Links?.length && !isUserNetwork(body.NetworkMode) ? body.Links : undefined,
    Ulimits: body.Ulimits?.length ? body.Ulimits : undefined,
    LogConfig: body.LogConfig?.Type
      ? { Type: body.LogConfig.Type, Config: body.LogConfig.Config ?? {} }
      : undefined,
  };
  return {
    name: body.Name,
    Image: body.Image,
    Cmd: cmd?.length ? cmd : undefined,
    Env: body.Env?.length ? body.Env : undefined,
    Hostname: body.HostName || undefined,
    Labels: body.Labels ?? undefined,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    HostConfig: dropUndefined(hostConfig),
    NetworkingConfig:
      body.Links?.length && isUserNetwork(body.NetworkMode)
        ? { EndpointsConfig: { [body.NetworkMode!]: { Links: body.Links } } }
        : undefined,
  } as Docker.ContainerCreateOptions;
}

/** Whether a NetworkMode names a user-defined network (not host, none, bridge or another container). */
function isUserNetwork(mode: string | null | undefined): boolean {
  return !!mode && !['host', 'none', 'bridge', 'default'].includes(mode) && !mode.startsWith('container:');
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Docker-like human status: `Up 3 minutes`, `Exited (0) 5 seconds ago`. */
export function humanStatus(state: Docker.ContainerInspectInfo['State'], now = Date.now()): string {
  const since = (iso: string): string => humanDuration(now - Date.parse(iso));
  switch (state.Status) {
    case 'running':
      return `Up ${since(state.StartedAt)}`;
    case 'paused':
      return `Up ${since(state.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
    case 'exited':
      return state.FinishedAt.startsWith('0001')
        ? `Exited (${state.ExitCode})`
        : `Exited (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return state.Status;
  }
}

function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

/** A container's inspect output as Humpback's model. */
export function toContainerBody(info: Docker.ContainerInspectInfo, now = Date.now()): ContainerBody {
  const hc = info.HostConfig;
  const ports: PortBody[] = [];
  const live = info.NetworkSettings?.Ports ?? {};
  for (const [key, binds] of Object.entries(hc.PortBindings ?? {}) as Array<
    [string, Array<{ HostIp?: string; HostPort?: string }> | null]
  >) {
    const [priv, type] = key.split('/');
    (binds ?? []).forEach((b, i) => {
      let publicPort = Number(b.HostPort || 0);
      if (!publicPort) publicPort = Number(live[key]?.[i]?.HostPort || 0);
      ports.push({
        PrivatePort: Number(priv),
        PublicPort: publicPort,
        Type: type ?? 'tcp',
        Ip: b.HostIp ?? '',
      });
    });
  }
  const volumes: VolumeBody[] = (hc.Binds ?? []).map((bind) => {
    const [host = '', container = '', opts = ''] = bind.split(':');
    return { HostVolume: host, ContainerVolume: container, ReadOnly: opts.split(',').includes('ro') };
  });
  const shortId = info.Id.slice(0, 12);
  return {
    Id: info.Id,
    Name: info.Name.replace(/^\//, ''),
    Image: info.Config.Image,
    Command: info.Config.Cmd ?? [],
    CommandWithoutEntryPoint: (info.Config.Cmd ?? []).join(' '),
    Env: info.Config.Env ?? [],
    HostName: info.Config.Hostname === shortId ? '' : (info.Config.Hostname ?? ''),
    NetworkMode: hc.NetworkMode ?? '',
    Ports: ports,
    Volumes: volumes,
    Dns: hc.Dns ?? [],
    Extrahosts: hc.ExtraHosts ?? [],
    Links: linksOf(info),
    RestartPolicy: hc.RestartPolicy?.Name ?? '',
    RestartRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
    CPUShares: hc.CpuShares ?? 0,
    Memory: Math.round((hc.Memory ?? 0) / MiB),
    SHMSize: Math.round((hc.ShmSize ?? 0) / MiB),
    Ulimits: (hc.Ulimits ?? []) as ContainerBody['Ulimits'],
    Labels: info.Config.Labels ?? {},
    LogConfig: {
      Type: hc.LogConfig?.Type ?? '',
      Config: (hc.LogConfig?.Config ?? {}) as Record<string, string>,
    },
    State: info.State.Status,
    Status: humanStatus(info.State, now),
    ExitCode: info.State.ExitCode,
    Created: info.Created,
    StartedAt: info.State.StartedAt,
    FinishedAt: info.State.FinishedAt,
    Pid: info.State.Pid,
    OOMKilled: info.State.OOMKilled,
    Error: info.State.Error,
  };
}

/**
 * A container's links as `name:alias`. On the default bridge Docker keeps them in HostConfig as
 * `/other:/me/alias`; on a user-defined network, on the network's endpoint as `other:alias`.
 */
function linksOf(info: Docker.ContainerInspectInfo): string[] {
  const legacy = ((info.HostConfig.Links ?? []) as string[]).map((l) => {
    const [target = '', alias = ''] = l.split(':');
    return `${target.replace(/^\//, '')}:${alias.split('/').pop()}`;
  });
  const endpoint = (endpointOf(info)?.Links ?? []) as string[];
  return [...new Set([...legacy, ...endpoint])];
}

/** The endpoint of the user-defined network a container runs on (NetworkMode names it), if any. */
function endpointOf(info: Docker.ContainerInspectInfo): Docker.NetworkInfo | undefined {
  const mode = info.HostConfig.NetworkMode;
  return isUserNetwork(mode) ? info.NetworkSettings?.Networks?.[mode!] : undefined;
}

/**
 * Options to recreate `old` on `image` under `name` (an upgrade). What the old container only had
 * because its image said so (Env, Labels, Cmd, Entrypoint, WorkingDir) is left for the new image to say.
 */
export function recreateOptions(
  old: Docker.ContainerInspectInfo,
  oldImage: Docker.ImageInspectInfo | undefined,
  image: string,
  name: string,
): Docker.ContainerCreateOptions {
  const c = old.Config;
  const ic = oldImage?.Config;
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const imageEnv = new Set(ic?.Env ?? []);
  const imageLabels = ic?.Labels ?? {};
  const labels = Object.fromEntries(Object.entries(c.Labels ?? {}).filter(([k, v]) => imageLabels[k] !== v));
  const opts: Docker.ContainerCreateOptions = {
    name,
    Image: image,
    Hostname:
      c.Hostname === old.Id.slice(0, 12) || old.HostConfig.NetworkMode === 'host' ? undefined : c.Hostname,
    Domainname: c.Domainname || undefined,
    User: c.User && !same(c.User, ic?.User) ? c.User : undefined,
    Env: (c.Env ?? []).filter((e) => !imageEnv.has(e)),
    Cmd: ic && same(c.Cmd, ic.Cmd) ? undefined : (c.Cmd ?? undefined),
    Entrypoint: ic && same(c.Entrypoint, ic.Entrypoint) ? undefined : (c.Entrypoint ?? undefined),
    WorkingDir: ic && same(c.WorkingDir, ic.WorkingDir) ? undefined : c.WorkingDir || undefined,
    Labels: labels,
    ExposedPorts: c.ExposedPorts,
    Tty: c.Tty,
    OpenStdin: c.OpenStdin,
    StopSignal: (c as { StopSignal?: string }).StopSignal,
    Healthcheck: c.Healthcheck,
    HostConfig: old.HostConfig,
  } as Docker.ContainerCreateOptions;
  const ep = endpointOf(old);
  if (ep) {
    // Aliases and links live on the network's endpoint; Docker adds the short id as an alias itself.
    const aliases = (ep.Aliases ?? []).filter((a: string) => a !== old.Id.slice(0, 12));
    const links = (ep.Links ?? []) as string[];
    opts.NetworkingConfig = {
      EndpointsConfig: {
        [old.HostConfig.NetworkMode!]: {
          ...(aliases.length ? { Aliases: aliases } : {}),
          ...(links.length ? { Links: links } : {}),
        },
      },
    };
  }
  return opts;
}

/**
 * Docker's stats sample as the agent answers it: v1's fields and units, then Humpback's (CPU in
 * percent of one CPU, bytes); memory without page cache in both.
 */
export function toStatsBody(id: string, name: string, s: Docker.ContainerStats): ContainerStatsBody {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const memStats = (s.memory_stats?.stats ?? {}) as Record<string, number>;
  const cache = memStats['inactive_file'] ?? memStats['total_inactive_file'] ?? memStats['cache'] ?? 0;
  const usage = Math.max(0, (s.memory_stats?.usage ?? 0) - cache);
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (/read/i.test(e.op)) read += e.value;
    if (/write/i.test(e.op)) write += e.value;
  }
  const memoryPercent = limit > 0 ? Math.round((usage / limit) * 10000) / 100 : 0;
  return {
    ContainerName: name,
    ContainerID: id,
    CPUUsage: (sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * 100 : 0).toFixed(2),
    MemoryUsage: Math.floor(usage / 1024),
    MemoryLimit: Math.floor(limit / 1024),
    MemoryPercent: memoryPercent,
    NetworkIn: Math.floor(rx / 1024),
    NetowrkOut: Math.floor(tx / 1024),
    IOBytesRead: read,
    IOBytesWrite: write,
    Id: id,
    Name: name,
    Read: s.read,
    CPUPercent: Math.round(cpu * 100) / 100,
    MemoryUsageBytes: usage,
    MemoryLimitBytes: limit,
    NetworkRx: rx,
    NetworkTx: tx,
    BlockRead: read,
    BlockWrite: write,
  };
}
