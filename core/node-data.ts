import { z } from 'zod';

/** Containers on a node by state. */
export interface ContainerCounts {
  total: number;
  running: number;
  paused: number;
  stopped: number;
}

/**
 * What an agent publishes about its node in ZooKeeper, in humpback-agent's JSON spellings (`lables`,
 * `storagedirver` are Humpback's, kept for compatibility), plus live usage.
 */
export interface NodeData {
  /** The Docker Engine's ID (as humpback-agent reported it); the node key is the znode's `key`. */
  id: string;
  /** Host name. */
  name: string;
  /** The node's IPv4 address (DOCKER_AGENT_IPADDR or the first non-internal IPv4). */
  ip: string;
  /** `ip:port` of the agent's REST API. */
  apiaddr: string;
  cpus: number;
  /** Total memory, bytes. */
  memory: number;
  storagedirver: string;
  kernelversion: string;
  architecture: string;
  operatingsystem: string;
  ostype: string;
  /** Engine labels, `key=value`. */
  lables: string[];
  appversion: string;
  dockerversion: string;
  /** Host CPU use since the previous refresh, 0–100. */
  cpuPercent: number;
  /** Memory in use on the host, bytes. */
  memoryUsed: number;
  containers: ContainerCounts;
  /** When the data was taken, ISO 8601. */
  timestamp: string;
}

/** A decoded znode value. */
export interface NodeRegistration {
  /** The node key (a UUID), also the znode's name. */
  key: string;
  data: NodeData;
}

const countsSchema = z.object({
  total: z.number().int().nonnegative().catch(0),
  running: z.number().int().nonnegative().catch(0),
  paused: z.number().int().nonnegative().catch(0),
  stopped: z.number().int().nonnegative().catch(0),
});

// Lenient on what a humpback-agent v1 leaves out (no live usage, no timestamp), strict on identity.
const nodeDataSchema = z.object({
  id: z.string().catch(''),
  name: z.string().catch(''),
  ip: z.string().min(1),
  apiaddr: z.string().min(1),
  cpus: z.number().nonnegative().catch(0),
  memory: z.number().nonnegative().catch(0),
  storagedirver: z.string().catch(''),
  kernelversion: z.string().catch(''),
  architecture: z.string().catch(''),
  operatingsystem: z.string().catch(''),
  ostype: z.string().catch(''),
  lables: z
    .array(z.string())
    .nullable()
    .catch([])
    .transform((v) => v ?? []),
  appversion: z.string().catch(''),
  dockerversion: z.string().catch(''),
  cpuPercent: z.number().min(0).catch(0),
  memoryUsed: z.number().min(0).catch(0),
  containers: countsSchema.catch({ total: 0, running: 0, paused: 0, stopped: 0 }),
  timestamp: z.string().catch(''),
});

const envelopeSchema = z.object({ key: z.string().min(1), data: z.string() });

/** Thrown by decodeNodeValue for a znode value that is not humpback-agent's format. */
export class NodeDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeDataError';
  }
}

/** The znode value: `{"key": "<uuid>", "data": "<base64 of NodeData JSON>"}`. */
export function encodeNodeValue(key: string, data: NodeData): Buffer {
  const payload = Buffer.from(JSON.stringify(data), 'utf8').toString('base64');
  return Buffer.from(JSON.stringify({ key, data: payload }), 'utf8');
}

/** Parses a znode value written by this agent or by humpback-agent v1; throws NodeDataError. */
export function decodeNodeValue(value: Buffer | string): NodeRegistration {
  let envelope: unknown;
  try {
    envelope = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    throw new NodeDataError('node value is not JSON');
  }
  const outer = envelopeSchema.safeParse(envelope);
  if (!outer.success) throw new NodeDataError('node value lacks "key" or "data"');
  let inner: unknown;
  try {
    inner = JSON.parse(Buffer.from(outer.data.data, 'base64').toString('utf8'));
  } catch {
    throw new NodeDataError(`node ${outer.data.key}: "data" is not base64 JSON`);
  }
  return checkedRegistration(outer.data.key, inner);
}

/**
 * A node's key and data as the agent answers `/nodeinfo` (the data unwrapped), checked as a znode's
 * value is; NodeDataError when the data is not a node's.
 */
export function checkedRegistration(key: string, inner: unknown): NodeRegistration {
  const data = nodeDataSchema.safeParse(inner);
  if (!data.success) {
    throw new NodeDataError(`node ${key}: bad node data (${data.error.issues[0]?.path.join('.')})`);
  }
  return { key, data: data.data };
}
