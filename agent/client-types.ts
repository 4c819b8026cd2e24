/**
 * What AgentClient answers, in the gateway's camelCase terms (the wire's PascalCase bodies are in
 * core/agent-wire.ts; client-mapping.ts maps one to the other).
 */
import type { ContainerStats, LogLine } from '../core/services.js';
import type { ContainerConfig } from '../core/container-config.js';

/** Docker's lower-case container state. */
export type AgentContainerState =
  'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead' | 'removing';

/** One line of a container's output (`logLines`). */
export type AgentLogLine = LogLine;

/** One sample of a container's resource usage (`stats`). */
export type AgentContainerStats = ContainerStats;

/** A container as `listContainers` returns it. */
export interface AgentContainerSummary {
  id: string;
  name: string;
  image: string;
  state: AgentContainerState;
  /** Docker's human status, e.g. `Up 3 minutes`, `Exited (0) 2 seconds ago`. */
  status: string;
  labels: Record<string, string>;
  /** ISO 8601. */
  created: string;
}

export interface AgentPort {
  privatePort: number;
  publicPort: number;
  type: string;
  ip: string;
}

/** A container in full (`getContainer`, `createContainer`, `operateContainer`, `upgradeContainer`). */
export interface AgentContainer extends AgentContainerSummary {
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  /** 0 when the agent did not say (an older agent). */
  pid: number;
  oomKilled: boolean;
  error: string;
  ports: AgentPort[];
  /** The container's configuration in the gateway's terms (ports with the public ports Docker bound). */
  config: ContainerConfig;
}

export interface AgentImage {
  id: string;
  tags: string[];
  digests: string[];
  sizeBytes: number;
  /** ISO 8601. */
  created: string;
}

/** One Docker container event from the agent's `/events` stream. */
export interface AgentEvent {
  /** Docker's action: create, start, die, stop, kill, pause, unpause, destroy, rename, health_status: ... */
  action: string;
  /** The container's full id. */
  id: string;
  /** Container name (without the leading `/`), when Docker says it. */
  name: string | undefined;
  image: string | undefined;
  attributes: Record<string, string>;
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds (Docker's value; a double, so precise to about 0.25 µs). */
  timeNano: number;
}

export type ContainerOperation = 'start' | 'stop' | 'restart' | 'kill' | 'pause' | 'unpause' | 'rename';

/** A volume on a node (`volumes`, `createVolume`). */
export interface AgentVolume {
  name: string;
  driver: string;
  mountpoint: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** ISO 8601, when Docker says. */
  createdAt: string | undefined;
  /** Bytes, where Docker reports it. */
  sizeBytes: number | undefined;
  /** Full ids of the containers that mount it. */
  usedBy: string[];
}

/** What `createVolume` makes: `nfs` becomes Docker's local driver with type=nfs. */
export interface NewVolume {
  name: string;
  driver?: string | undefined;
  options?: Record<string, string> | undefined;
  labels?: Record<string, string> | undefined;
  nfs?: { server: string; path: string; options?: string | undefined } | undefined;
}
