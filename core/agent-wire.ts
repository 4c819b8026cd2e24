/**
 * The agent's wire format: request bodies (validated with zod) and response shapes, in Humpback
 * agent v1's PascalCase so existing clients keep working.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { isImageRef } from './image-ref.js';
import type { NodeData } from './node-data.js';

/** Docker's rule for container names (a leading `/` is accepted and dropped). */
export const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

const noNul = (s: string): boolean => !s.includes('\0');
// Docker's bind syntax is `host:container[:options]`: a ':' in either path would add options.
const noColon = (s: string): boolean => !s.includes(':');
const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => p.startsWith('/') && noNul(p), 'must be an absolute path')
  .refine(noColon, "must not contain ':'");
// A host path, or a named volume.
const hostVolume = z
  .string()
  .min(1)
  .max(4096)
  .refine(
    (p) => (p.startsWith('/') || /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(p)) && noNul(p),
    'an absolute path or a volume name',
  )
  .refine(noColon, "must not contain ':'");

export const imageRefSchema = z.string().min(1).max(512).refine(isImageRef, 'not a valid image reference');
export const containerNameSchema = z
  .string()
  .regex(CONTAINER_NAME, 'letters, digits, _ . - (starting with a letter or digit)')
  .transform((n) => n.replace(/^\//, ''));
const tagSchema = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'not a valid image tag');

const portSchema = z.object({
  PrivatePort: z.number().int().min(1).max(65535),
  PublicPort: z.number().int().min(0).max(65535).optional(),
  Type: z.enum(['tcp', 'udp', 'sctp', '']).optional(),
  Ip: z
    .string()
    .refine((ip) => ip === '' || isIP(ip) !== 0, 'not an IP address')
    .optional(),
});

/** Docker's rule for volume names. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
export const volumeNameSchema = z
  .string()
  .regex(VOLUME_NAME, 'letters, digits, _ . - (starting with a letter or digit)');

/** An NFS export, mounted by Docker's local driver (`type=nfs`). */
export const nfsSchema = z.object({
  /** Host name or IP address of the NFS server. */
  Server: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-zA-Z0-9.:-]+$/, 'a host name or IP address'),
  /** The exported path. */
  Path: absolutePath,
  /** Mount options beside `addr=`, e.g. `vers=4,soft`. */
  Options: z
    .string()
    .max(1024)
    .regex(/^[a-zA-Z0-9_.=,-]*$/, 'comma-separated mount options such as vers=4,soft')
    .optional(),
});
export type NfsBody = z.infer<typeof nfsSchema>;

const volumeSchema = z
  .object({
    ContainerVolume: absolutePath,
    /** A host path, or a volume's name (with Nfs: the name of the NFS volume made on this node). */
    HostVolume: hostVolume,
    ReadOnly: z.boolean().optional(),
    /** Made on the node (local driver, type=nfs) unless a volume of that name exists there. */
    Nfs: nfsSchema.optional(),
  })
  .refine((v) => !v.Nfs || VOLUME_NAME.test(v.HostVolume), {
    path: ['HostVolume'],
    message: 'an NFS mount needs a volume name',
  });

const ulimitSchema = z
  .object({
    Name: z.string().regex(/^[a-z]{1,32}$/, 'a limit name such as nofile'),
    Soft: z.number().int().min(-1),
    Hard: z.number().int().min(-1),
  })
  .refine((u) => u.Hard === -1 || (u.Soft !== -1 && u.Soft <= u.Hard), {
    message: 'soft must not be above hard',
    path: ['Soft'],
  });

const envEntry = z
  .string()
  .max(32768)
  .refine((e) => /^[^=\0]+=/.test(e) && noNul(e), 'KEY=value');
const dnsEntry = z.string().refine((ip) => isIP(ip) !== 0, 'not an IP address');
const extraHost = z.string().regex(/^[A-Za-z0-9._-]+:[0-9A-Fa-f.:]+$/, 'host:ip');
const link = z
  .string()
  .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*(:[a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/, 'name[:alias]');
const labels = z
  .record(z.string().min(1).max(1024), z.string().max(65536))
  .refine((l) => Object.keys(l).length <= 512, 'at most 512 labels');
const command = z.union([
  z.string().max(65536).refine(noNul, 'no NUL characters'),
  z.array(z.string().max(65536).refine(noNul, 'no NUL characters')).max(1024),
]);

/** `POST /containers`: Humpback's container model. Unknown fields are dropped, never passed on. */
export const createContainerBody = z.object({
  Name: containerNameSchema,
  Image: imageRefSchema,
  Command: command.nullish(),
  Env: z.array(envEntry).max(1024).nullish(),
  HostName: z
    .string()
    .regex(/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252}[a-zA-Z0-9])?$/)
    .or(z.literal(''))
    .nullish(),
  NetworkMode: z
    .string()
    .regex(/^(host|bridge|none|default|container:[a-zA-Z0-9][a-zA-Z0-9_.-]*|[a-zA-Z0-9][a-zA-Z0-9_.-]*)$/)
    .or(z.literal(''))
    .nullish(),
  Ports: z.array(portSchema).max(1024).nullish(),
  Volumes: z.array(volumeSchema).max(256).nullish(),
  Dns: z.union([dnsEntry, z.array(dnsEntry).max(16), z.literal('')]).nullish(),
  Extrahosts: z.array(extraHost).max(256).nullish(),
  RestartPolicy: z.enum(['', 'no', 'always', 'on-failure', 'unless-stopped']).nullish(),
  RestartRetryCount: z.number().int().min(0).max(1000).nullish(),
  // Docker's own limits (it refuses less at start, or at create, with a less clear message).
  CPUShares: z
    .number()
    .int()
    .max(262144)
    .refine((v) => v === 0 || v >= 2, 'must be 0 (the default) or 2 to 262144')
    .nullish(),
  /** MB */
  Memory: z
    .number()
    .int()
    .max(16 * 1024 * 1024)
    .refine((v) => v === 0 || v >= 6, 'must be 0 (no limit) or at least 6 MB')
    .nullish(),
  /** MB */
  SHMSize: z
    .number()
    .int()
    .min(0)
    .max(1024 * 1024)
    .nullish(),
  Links: z.array(link).max(256).nullish(),
  Ulimits: z.array(ulimitSchema).max(64).nullish(),
  Labels: labels.nullish(),
  LogConfig: z
    .object({
      Type: z.string().regex(/^[a-z0-9-]*$/),
      Config: z.record(z.string(), z.string()).nullish(),
    })
    .nullish(),
});
export type CreateContainerBody = z.infer<typeof createContainerBody>;
export type CreateContainerInput = z.input<typeof createContainerBody>;

export const CONTAINER_ACTIONS = [
  'start',
  'stop',
  'restart',
  'kill',
  'pause',
  'unpause',
  'rename',
  'upgrade',
] as const;
export type ContainerActionName = (typeof CONTAINER_ACTIONS)[number];

/** `PUT /containers`. */
export const operateContainerBody = z
  .object({
    Action: z
      .string()
      .transform((a) => a.toLowerCase())
      .pipe(z.enum(CONTAINER_ACTIONS)),
    Container: z.string().regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/, 'a container id or name'),
    ImageTag: tagSchema.optional(),
    NewName: containerNameSchema.optional(),
    /** Seconds to wait for stop/restart/upgrade before SIGKILL (not in Humpback v1). @default 10 */
    Timeout: z.number().int().min(0).max(600).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.Action === 'upgrade' && !b.ImageTag)
      ctx.addIssue({ code: 'custom', path: ['ImageTag'], message: 'required for upgrade' });
    if (b.Action === 'rename' && !b.NewName)
      ctx.addIssue({ code: 'custom', path: ['NewName'], message: 'required for rename' });
  });
export type OperateContainerBody = z.infer<typeof operateContainerBody>;

/** `POST /images`. */
export const pullImageBody = z.object({ Image: imageRefSchema });

const boolQuery = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');
export const allQuery = z.object({ all: boolQuery });
export const forceQuery = z.object({ force: boolQuery });
export const originalQuery = z.object({ originaldata: boolQuery });
export const logsQuery = z.object({
  tail: z
    .string()
    .regex(/^(\d{1,7}|all)$/)
    .optional(),
  since: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,9})?$/)
    .optional(),
});
/** Milliseconds between two of the agent's own lines on `/events` (STATUS_LINE, STATS_LINE). */
const intervalQuery = z
  .string()
  .regex(/^\d{1,8}$/, 'milliseconds')
  .transform(Number)
  .refine((ms) => ms >= 100 && ms <= 3_600_000, 'between 100 and 3600000 milliseconds')
  .optional();
export const eventsQuery = z.object({
  since: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,9})?$/, 'unix seconds, optionally with a fraction (nanoseconds)')
    .optional(),
  until: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,9})?$/, 'unix seconds, optionally with a fraction (nanoseconds)')
    .optional(),
  /** Also a STATUS_LINE (the node's info, as `/nodeinfo`) every this many ms. */
  status: intervalQuery,
  /** Also a STATS_LINE (every running container's usage, as `/containers/stats`) every this many ms. */
  stats: intervalQuery,
});
/** A container id, id prefix or name in a path. */
export const containerIdParam = z
  .string()
  .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/, 'a container id or name');

/** `POST /volumes`. Options and labels as Docker takes them. */
export const createVolumeBody = z.object({
  Name: volumeNameSchema,
  Driver: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.:/-]{0,127}$/, 'a volume driver name')
    .optional(),
  DriverOpts: z.record(z.string().min(1).max(256), z.string().max(4096)).optional(),
  Labels: labels.optional(),
  Nfs: nfsSchema.optional(),
});
export type CreateVolumeBody = z.infer<typeof createVolumeBody>;
/** `/volumes/:name/archive?path=`: a path inside the volume (relative to its root). */
export const archiveQuery = z.object({
  path: z
    .string()
    .max(4096)
    .refine((p) => noNul(p) && !p.split('/').includes('..'), 'a path inside the volume, without ..')
    .optional(),
});

// ---- responses ------------------------------------------------------------------------------

/** Every error: `{Code, Detail, Message}`; Code repeats the HTTP status. */
export interface ErrorBody {
  Code: number;
  Message: string;
  Detail: string;
}

export interface PortBody {
  PrivatePort: number;
  PublicPort: number;
  Type: string;
  Ip: string;
}

export interface VolumeBody {
  ContainerVolume: string;
  HostVolume: string;
  ReadOnly: boolean;
}

/** One row of `GET /volumes`: Docker's volume, its size when Docker reports it, the containers using it. */
export interface VolumeListItem {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Options: Record<string, string> | null;
  Labels: Record<string, string> | null;
  /** ISO 8601, when Docker says. */
  CreatedAt: string | null;
  /** Bytes; null when Docker does not report it (other drivers, or not computed). */
  Size: number | null;
  /** Ids of the containers (any state) that mount it. */
  UsedBy: string[];
}

/** A container, parsed back into Humpback's model (`GET /containers/:id`, create, operate). */
export interface ContainerBody {
  Id: string;
  Name: string;
  Image: string;
  Command: string[];
  /** Command joined by spaces: what humpback-web v1 edits as the command line. */
  CommandWithoutEntryPoint: string;
  Env: string[];
  HostName: string;
  NetworkMode: string;
  Ports: PortBody[];
  Volumes: VolumeBody[];
  Dns: string[];
  Extrahosts: string[];
  Links: string[];
  RestartPolicy: string;
  RestartRetryCount: number;
  CPUShares: number;
  /** MB */
  Memory: number;
  /** MB */
  SHMSize: number;
  Ulimits: Array<{ Name: string; Soft: number; Hard: number }>;
  Labels: Record<string, string>;
  LogConfig: { Type: string; Config: Record<string, string> };
  /** Docker's lower-case state: created, running, paused, restarting, exited, dead, removing. */
  State: string;
  /** Human status such as `Up since ...` or `Exited (0)`. */
  Status: string;
  ExitCode: number;
  Created: string;
  StartedAt: string;
  FinishedAt: string;
  /** Docker's State.Pid, OOMKilled and Error (what v1's webhook reports of each instance). */
  Pid?: number | undefined;
  OOMKilled?: boolean | undefined;
  Error?: string | undefined;
}

/** One row of `GET /containers` (Docker's list format). */
export interface ContainerListItem {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  /** Unix seconds. */
  Created: number;
  State: string;
  Status: string;
  Labels: Record<string, string> | null;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
}

/** One row of `GET /images` (Docker's list format). */
export interface ImageListItem {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  /** Size again (Docker dropped VirtualSize in API 1.44; humpback-web v1 shows it). */
  VirtualSize: number;
  Labels: Record<string, string> | null;
}

/** One line of `GET /events` (Docker's event format). */
export interface EventBody {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: string;
  time: number;
  timeNano: number;
}

/**
 * The agent's own lines among Docker's events on `/events?status=…&stats=…`: what a gateway would
 * otherwise ask `/nodeinfo` and `/containers/stats` for on every node, each interval (at 5,000 nodes,
 * hundreds of requests a second). Their `Type` is no Docker event type.
 */
export const STATUS_LINE = 'humpback.status';
export const STATS_LINE = 'humpback.stats';
export interface StatusLineBody {
  Type: typeof STATUS_LINE;
  Node: NodeData & { key: string };
}
export interface StatsLineBody {
  Type: typeof STATS_LINE;
  Stats: ContainerStatsBody[];
}

/**
 * `GET /containers/:id/stats`, one row of `GET /containers/stats`: humpback-agent v1's fields in its
 * units (KiB; `CPUUsage` a string, percent of the whole host; `NetowrkOut` as v1 spells it), then
 * Humpback's exact ones (bytes; CPUPercent in percent of one CPU).
 */
export interface ContainerStatsBody {
  ContainerName: string;
  ContainerID: string;
  /** `"12.34"`: percent of all the host's CPUs (v1). */
  CPUUsage: string;
  /** KiB, without page cache. */
  MemoryUsage: number;
  /** KiB. */
  MemoryLimit: number;
  MemoryPercent: number;
  /** KiB received. */
  NetworkIn: number;
  /** KiB sent (v1's spelling). */
  NetowrkOut: number;
  IOBytesRead: number;
  IOBytesWrite: number;
  Id: string;
  Name: string;
  Read: string;
  CPUPercent: number;
  MemoryUsageBytes: number;
  MemoryLimitBytes: number;
  NetworkRx: number;
  NetworkTx: number;
  BlockRead: number;
  BlockWrite: number;
}

/** `GET /ping`. */
export interface PingBody {
  Status: 'ok';
  /** The humpback-agent API level v1 clients compare (humpback-web wants at least "1.3.4"). */
  AppVersion: string;
  /** This agent's own version; agents before it put theirs in AppVersion. */
  HumpbackVersion?: string;
  DockerVersion: string;
}

// ---- live streams and exec (the container page's logs, stats and console) ------------------

/** `GET /containers/:id/logs/stream`: NDJSON of LogLineBody; `follow` keeps it open for new lines. */
export const logStreamQuery = logsQuery.extend({ follow: boolQuery });

/** One line of `GET /containers/:id/logs/stream`. */
export interface LogLineBody {
  /** Docker's timestamp (RFC 3339 with nanoseconds). */
  At: string;
  Stream: 'stdout' | 'stderr';
  Line: string;
}

/** `POST /containers/:id/exec`: a process to run in the container, attached at `/exec/<Id>`. */
export const createExecBody = z.object({
  Cmd: z.array(z.string().min(1).max(4096).refine(noNul, 'no NUL characters')).min(1).max(256),
  Tty: z.boolean().optional().default(false),
});

/** An exec session id as Docker makes it. */
export const EXEC_ID = /^[0-9a-f]{64}$/;
