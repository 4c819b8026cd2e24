import type { ContainerConfig } from '../core/container-config.js';
import type { ContainerState, MetaEventType } from '../core/domain.js';
import type { ContainerRecord, MetaRecord } from '../core/store/store.js';
import { instanceConfig } from './meta-spec.js';

/**
 * humpback-center's webhook body (`cluster/hooks.go` Hook), also the `payload` of the metaEvents
 * subscription. Every object below is built in the order Go marshals its struct
 * (shared/compat/webhook-v1.json), so `encodeHookBody` gives v1's bytes.
 */
export interface HookPayload {
  /** Unix time in nanoseconds (Go's UnixNano); a whole number of milliseconds times 10^6. */
  Timestamp: number;
  Event: MetaEventType;
  MetaBase: HookMetaBase;
  HookContainers: HookContainer[];
}

export interface HookMetaBase {
  GroupId: string;
  MetaId: string;
  IsRemoveDelay: boolean;
  IsRecovery: boolean;
  Instances: number;
  /** Each receiver sees its own SecretToken and "" for every other hook. */
  WebHooks: Array<{ Url: string; SecretToken: string }> | null;
  Placement: { Constraints: string[] | null; Preferences: null; Platforms: null };
  ImageTag: string;
  Config: V1Container;
  /** Unix seconds. */
  CreateAt: number;
  /** Unix seconds. */
  LastUpdateAt: number;
  AvailableNodesChanged: boolean;
}

export interface HookContainer {
  /** The IP of the node running the container. */
  IP: string;
  /** The node's name, upper-cased as humpback-center does. */
  Name: string;
  Container: V1Container;
}

/** Docker's State object, as v1's `models.Container.Status` holds it. */
export interface V1ContainerStatus {
  Status: string;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

/** humpback/common `models.Container`; optional keys are Go's `omitempty` ones. */
export interface V1Container {
  Id: string;
  Image: string;
  Command: string;
  CommandWithoutEntryPoint: string;
  Name: string;
  Ports: Array<{ PrivatePort: number; PublicPort: number; Type: string; Ip: string }> | null;
  Volumes: Array<{ ContainerVolume: string; HostVolume: string; BindMount?: string }> | null;
  Dns: string[] | null;
  Env: string[] | null;
  HostName: string;
  NetworkMode: string;
  Status?: V1ContainerStatus;
  RestartPolicy?: string;
  RestartRetryCount?: number;
  Extrahosts: string[] | null;
  CPUShares?: number;
  Memory?: number;
  SHMSize?: number;
  Links: string[] | null;
  Ulimits: null;
  Labels: Record<string, string> | null;
  LogConfig: { Type: string; Config: Record<string, string> | null };
}

/** What one inspect tells of a container's state beyond the cache's (Docker's State fields). */
export interface ContainerStateDetail {
  pid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  /** RFC 3339 with nanoseconds, as Docker gives it. */
  startedAt: string;
  finishedAt: string;
}

/** A container with the node it runs on, as the payload needs it. */
export interface PlacedContainer {
  container: ContainerRecord;
  node: { ip: string; name: string } | undefined;
  /** Undefined when not known: the State's Pid, ExitCode, Error and times are zero. */
  detail?: ContainerStateDetail | undefined;
}

/** Milliseconds to Humpback's nanosecond Timestamp. */
export function hookTimestamp(ms: number): number {
  return Math.trunc(ms) * 1_000_000;
}

/** Go marshals maps with their keys sorted. */
function sortedMap(map: Record<string, string> | undefined): Record<string, string> | null {
  if (!map) return null;
  return Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((k) => [k, map[k]!]),
  );
}

/** Our container config as v1's `models.Container` (no Status: v1 never sets it in a meta's config). */
export function v1Container(config: ContainerConfig, id = ''): V1Container {
  return {
    Id: id,
    Image: config.image,
    Command: (config.command ?? []).join(' '),
    CommandWithoutEntryPoint: '',
    Name: config.name,
    Ports:
      config.ports?.map((p) => ({
        PrivatePort: p.privatePort,
        PublicPort: p.publicPort ?? 0,
        Type: p.type ?? 'tcp',
        Ip: '',
      })) ?? null,
    Volumes:
      config.volumes?.map((v) => ({
        ContainerVolume: v.containerPath,
        // v1 knew host paths and named volumes; an NFS mount shows as its export.
        HostVolume: v.hostPath ?? v.volume ?? (v.nfs ? `${v.nfs.server}:${v.nfs.path}` : ''),
        ...(v.readOnly ? { BindMount: 'ro' } : {}),
      })) ?? null,
    Dns: config.dns ?? null,
    Env: config.env ?? null,
    HostName: config.hostname ?? '',
    NetworkMode: config.networkMode ?? '',
    ...(config.restartPolicy ? { RestartPolicy: config.restartPolicy } : {}),
    Extrahosts: config.extraHosts ?? null,
    ...(config.cpuShares ? { CPUShares: config.cpuShares } : {}),
    ...(config.memoryMB ? { Memory: config.memoryMB } : {}),
    Links: null,
    Ulimits: null,
    Labels: sortedMap(config.labels),
    LogConfig: { Type: '', Config: null },
  };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Docker's State object from what the cluster cache knows of a container's state. */
export function v1Status(state: ContainerState, detail?: ContainerStateDetail): V1ContainerStatus {
  return {
    Status: state.toLowerCase(),
    Running: state === 'RUNNING' || state === 'PAUSED' || state === 'RESTARTING',
    Paused: state === 'PAUSED',
    Restarting: state === 'RESTARTING',
    OOMKilled: detail?.oomKilled ?? false,
    Dead: state === 'DEAD',
    Pid: detail?.pid ?? 0,
    ExitCode: detail?.exitCode ?? 0,
    Error: detail?.error ?? '',
    StartedAt: detail?.startedAt || ZERO_TIME,
    FinishedAt: detail?.finishedAt || ZERO_TIME,
  };
}

/** An instance as v1's center reports it: the config it was made from, its id, name and state. */
function hookContainer(meta: MetaRecord, { container, node, detail }: PlacedContainer): HookContainer {
  const made = instanceConfig(meta, container.index ?? 0);
  const base = v1Container({ ...made, name: container.name, image: container.image }, container.id);
  // Status sits between NetworkMode and RestartPolicy in Go's struct.
  const {
    Id,
    Image,
    Command,
    CommandWithoutEntryPoint,
    Name,
    Ports,
    Volumes,
    Dns,
    Env,
    HostName,
    NetworkMode,
    ...rest
  } = base;
  return {
    IP: node?.ip ?? '',
    Name: (node?.name ?? '').toUpperCase(),
    Container: {
      Id,
      Image,
      Command,
      CommandWithoutEntryPoint,
      Name,
      Ports,
      Volumes,
      Dns,
      Env,
      HostName,
      NetworkMode,
      Status: v1Status(container.state, detail),
      ...rest,
      Labels: sortedMap(container.labels),
    },
  };
}

const unixSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** The event's payload, every SecretToken "" (what subscribers see; `encodeHookBody` adds one). */
export function buildHookPayload(
  event: MetaEventType,
  meta: MetaRecord,
  containers: readonly PlacedContainer[],
  nowMs: number,
): HookPayload {
  return {
    Timestamp: hookTimestamp(nowMs),
    Event: event,
    MetaBase: {
      GroupId: meta.groupId,
      MetaId: meta.id,
      IsRemoveDelay: meta.removeDelay,
      IsRecovery: meta.recovery,
      Instances: meta.instances,
      WebHooks: meta.webhooks.map((w) => ({ Url: w.url, SecretToken: '' })),
      Placement: {
        Constraints: meta.constraints.length ? [...meta.constraints] : null,
        Preferences: null,
        Platforms: null,
      },
      ImageTag: meta.imageTag,
      Config: v1Container(meta.config),
      CreateAt: unixSeconds(meta.createdAt),
      LastUpdateAt: unixSeconds(meta.updatedAt),
      AvailableNodesChanged: false,
    },
    HookContainers: containers
      .slice()
      .sort((a, b) => (a.container.index ?? 0) - (b.container.index ?? 0))
      .map((placed) => hookContainer(meta, placed)),
  };
}

/** Go's encoding/json escapes these in strings where JSON.stringify does not (or spells them otherwise). */
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
  '\\b': '\\u0008',
  '\\f': '\\u000c',
};

/**
 * The body sent to webhook `hookIndex` of the meta: Go's `json.Encoder` output (compact, HTML
 * characters escaped, one trailing newline), with that hook's own SecretToken, and the Timestamp as
 * an exact int64.
 */
export function encodeHookBody(payload: HookPayload, secretToken = '', hookIndex = -1): string {
  const WebHooks =
    payload.MetaBase.WebHooks?.map((w, i) => ({
      Url: w.Url,
      SecretToken: i === hookIndex ? secretToken : '',
    })) ?? null;
  const { Timestamp, ...rest } = { ...payload, MetaBase: { ...payload.MetaBase, WebHooks } };
  const nanos = BigInt(Math.round(Timestamp / 1_000_000)) * 1_000_000n;
  const json = JSON.stringify(rest).replace(/[<>&\u2028\u2029]|\\\\|\\[bf]/g, (m) => GO_ESCAPES[m] ?? m);
  return `{"Timestamp":${nanos}${json.length > 2 ? ',' : ''}${json.slice(1)}\n`;
}
