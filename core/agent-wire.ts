/**
 * The agent's wire format: request bodies (validated with zod) and response shapes, in Humpback
 * agent v1's PascalCase so existing clients keep working.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { isImageRef } from './image-ref.js';

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

const volumeSchema = z.object({
  ContainerVolume: absolutePath,
  HostVolume: hostVolume,
  ReadOnly: z.boolean().optional(),
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
export const eventsQuery = z.object({
  since: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,9})?$/, 'unix seconds, optionally with a fraction (nanoseconds)')
    .optional(),
  until: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,9})?$/, 'unix seconds, optionally with a fraction (nanoseconds)')
    .optional(),
});
/** A container id, id prefix or name in a path. */
export const containerIdParam = z
  .string()
  .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/, 'a container id or name');

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

/** A container, parsed back into Humpback's model (`GET /containers/:id`, create, operate). */
export interface ContainerBody {
  Id: string;
  Name: string;
  Image: string;
  Command: string[];
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

/** `GET /containers/:id/stats`, one row of `GET /containers/stats`. */
export interface ContainerStatsBody {
  Id: string;
  Name: string;
  Read: string;
  CPUPercent: number;
  MemoryUsage: number;
  MemoryLimit: number;
  MemoryPercent: number;
  NetworkRx: number;
  NetworkTx: number;
  BlockRead: number;
  BlockWrite: number;
}

/** `GET /ping`. */
export interface PingBody {
  Status: 'ok';
  AppVersion: string;
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
