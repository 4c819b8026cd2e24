import { isIP } from 'node:net';
import { z } from 'zod';

/** A configuration problem, reported at start as one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly value: string | undefined,
  ) {
    super(
      `${variable}: expected ${expected}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
    );
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** A `host:port` listen address. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Where ZooKeeper is and under which chroot-like prefix Humpback keeps its nodes. */
export interface ClusterUris {
  /** `host:port,host:port`, as node-zookeeper-client takes it. */
  connectionString: string;
  /** Path prefix, '' or '/something'. */
  prefix: string;
}

export interface PortRange {
  from: number;
  to: number;
}

export interface AgentConfig {
  /** @default 'unix:///var/run/docker.sock' */
  dockerEndpoint: string;
  /** @default 0.0.0.0:8500 */
  listen: ListenAddress;
  /** @default false */
  clusterEnabled: boolean;
  clusterUris: ClusterUris | undefined;
  /** @default 'humpback/center' */
  clusterName: string;
  /** Seconds. @default 10 */
  heartbeatSeconds: number;
  portsRange: PortRange | undefined;
  agentToken: string;
  /**
   * HUMPBACK_AGENT_TOKEN_PREVIOUS: the token being rotated out, accepted beside agentToken until the
   * gateways use the new one.
   */
  previousAgentToken?: string | undefined;
  /**
   * HUMPBACK_AGENT_ADDRESSES: more `host` or `host:port` the agent is reached at (a DNS name, a NAT
   * address), for the token challenge. @default none
   */
  advertisedAddresses?: string[] | undefined;
  /** Where the agent keeps its node key file. @default '.humpback' under the working directory */
  dataDir: string;
  /** The node's IP as it registers. @default the host's first non-loopback IPv4 address */
  ipAddress?: string | undefined;
}

export interface GatewayConfig {
  /** @default 0.0.0.0:8100 */
  listen: ListenAddress;
  /** Unset: the embedded store. */
  redisUrl: string | undefined;
  /** @default '.humpback' under the working directory */
  dataDir: string;
  adminPassword: string | undefined;
  agentToken: string;
  clusterUris: ClusterUris | undefined;
  /** @default 'humpback/center' */
  clusterName: string;
  /** Seconds. @default 45 */
  migrateDelaySeconds: number;
  /** Seconds. @default 120 */
  recoveryIntervalSeconds: number;
  /** Seconds. @default 0 */
  removeDelaySeconds: number;
  /** Secret used to sign login tokens; generated and kept in the store when unset. */
  jwtSecret: string | undefined;
  /**
   * Proxies whose X-Forwarded-For is believed (HUMPBACK_TRUSTED_PROXIES), as `address/prefix` ranges.
   * @default [] (none: the client is the peer of the connection)
   */
  trustedProxies: readonly string[];
  /** @default false; true only when NODE_ENV is 'development' */
  development: boolean;
  /** HUMPBACK_WEBHOOK_ALLOW: ranges webhooks may reach although loopback, private, ... @default [] */
  webhookAllow: string[];
  /** HUMPBACK_UPLOAD_MAX_MB: the largest `POST /uploads` body, in MiB. @default 2048 */
  uploadMaxMb: number;
  /** HUMPBACK_SECRET_KEY: encrypts registry passwords at rest; generated and kept in the store when unset. */
  secretKey: string | undefined;
}

// Each rule turns one raw variable into a typed value or says what it expected.
interface Rule<T> {
  expected: string;
  schema: z.ZodType<T>;
}

const positiveSeconds: Rule<number> = {
  expected: 'a whole number of seconds >= 1',
  schema: z.coerce.number().int().min(1),
};
const nonNegativeSeconds: Rule<number> = {
  expected: 'a whole number of seconds >= 0',
  schema: z.coerce.number().int().min(0),
};
const boolean: Rule<boolean> = {
  expected: 'true or false (also 1/0, yes/no)',
  schema: z
    .string()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
};
const listen: Rule<ListenAddress> = {
  expected: 'host:port with a port from 0 to 65535, e.g. 0.0.0.0:8100',
  schema: z.string().transform((v, ctx) => {
    const m = /^(.*):(\d{1,5})$/.exec(v.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'bad address' });
      return z.NEVER;
    }
    const host = m[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
    return { host, port };
  }),
};
const dockerEndpoint: Rule<string> = {
  expected: 'unix:///path/to/docker.sock or tcp://host:port',
  schema: z.string().regex(/^(unix:\/\/\/.+|tcp:\/\/[^/:]+:\d{1,5}\/?|https?:\/\/[^/:]+:\d{1,5}\/?)$/),
};
const clusterUris: Rule<ClusterUris> = {
  expected: 'zk://host:port[,host:port][/prefix]',
  schema: z.string().transform((v, ctx) => {
    const m = /^zk:\/\/([^/]+?)(\/[^\s]*)?$/.exec(v.trim());
    const hosts = m ? m[1]!.split(',') : [];
    if (!m || hosts.some((h) => !/^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(h))) {
      ctx.addIssue({ code: 'custom', message: 'bad uri' });
      return z.NEVER;
    }
    const prefix = (m[2] ?? '').replace(/\/+$/, '');
    return { connectionString: hosts.join(','), prefix };
  }),
};
const clusterName: Rule<string> = {
  expected: 'a ZooKeeper path such as humpback/center (letters, digits, - _ . and /)',
  schema: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/)
    .transform((v) => v.replace(/^\/|\/$/g, '')),
};
const portsRange: Rule<PortRange> = {
  expected: 'a port range such as 30000-32000 (1-65535, from <= to)',
  schema: z.string().transform((v, ctx) => {
    const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(v);
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2]) : NaN;
    if (!m || from < 1 || to > 65535 || from > to) {
      ctx.addIssue({ code: 'custom', message: 'bad range' });
      return z.NEVER;
    }
    return { from, to };
  }),
};
const token: Rule<string> = {
  expected: 'a secret of at least 16 characters',
  schema: z.string().min(16),
};
const addressList: Rule<string[]> = {
  expected: 'comma-separated host or host:port names, e.g. node1.example.com,203.0.113.5:18500',
  schema: z.string().transform((v, ctx) => {
    const list = v
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    const ok = (a: string): boolean => {
      const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(a);
      const port = m?.[2] === undefined ? 1 : Number(m[2]);
      return m !== null && port >= 1 && port <= 65535;
    };
    if (list.length === 0 || !list.every(ok)) {
      ctx.addIssue({ code: 'custom', message: 'bad address list' });
      return z.NEVER;
    }
    return list;
  }),
};
const password: Rule<string> = {
  expected: 'a password of at least 8 characters',
  schema: z.string().min(8),
};
const redisUrl: Rule<string> = {
  expected: 'redis://[user:password@]host:port[/db] or rediss://...',
  schema: z.string().regex(/^rediss?:\/\/[^\s]+$/),
};
const megabytes: Rule<number> = {
  expected: 'a whole number of MiB >= 1',
  schema: z.coerce.number().int().min(1),
};
const path: Rule<string> = { expected: 'a directory path', schema: z.string().min(1) };
const ipv4: Rule<string> = {
  expected: 'an IPv4 address such as 10.0.0.5',
  schema: z.string().trim().pipe(z.ipv4()),
};

/** Address ranges, each kept as `address/prefix` (a bare address is one host). */
const cidrList: Rule<string[]> = {
  expected: 'comma-separated IP addresses or CIDR ranges, e.g. 10.0.0.2,192.168.0.0/16,fd00::/8',
  schema: z.string().transform((v, ctx) => {
    const ranges: string[] = [];
    for (const item of v.split(',').map((s) => s.trim())) {
      const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(item);
      const family = m ? isIP(m[1]!) : 0;
      const bits = family === 6 ? 128 : 32;
      const prefix = m?.[2] === undefined ? bits : Number(m[2]);
      if (!m || family === 0 || m[1]!.includes('%') || prefix > bits) {
        ctx.addIssue({ code: 'custom', message: 'bad range' });
        return z.NEVER;
      }
      ranges.push(`${family === 6 ? m[1]!.toLowerCase() : m[1]!}/${prefix}`);
    }
    return ranges;
  }),
};

function read<T>(env: Env, variable: string, rule: Rule<T>): T | undefined;
function read<T>(env: Env, variable: string, rule: Rule<T>, fallback: T): T;
function read<T>(env: Env, variable: string, rule: Rule<T>, fallback?: T): T | undefined {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const parsed = rule.schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(variable, rule.expected, raw);
  return parsed.data;
}

function required<T>(env: Env, variable: string, rule: Rule<T>, why: string): T {
  const value = read(env, variable, rule);
  if (value === undefined) throw new ConfigError(variable, `${rule.expected} (${why})`, undefined);
  return value;
}

const DEFAULT_DATA_DIR = '.humpback';

/** HUMPBACK_AGENT_TOKEN_PREVIOUS: a token like the current one, and not the same. */
function previousToken(env: Env, current: string): string | undefined {
  const previous = read(env, 'HUMPBACK_AGENT_TOKEN_PREVIOUS', token);
  if (previous !== undefined && previous === current) {
    throw new ConfigError(
      'HUMPBACK_AGENT_TOKEN_PREVIOUS',
      'the token being rotated out, different from HUMPBACK_AGENT_TOKEN (unset it once the rotation is done)',
      '<same as HUMPBACK_AGENT_TOKEN>',
    );
  }
  return previous;
}

/** Reads and validates the agent's environment; throws ConfigError on the first bad variable. */
export function loadAgentConfig(env: Env = process.env): AgentConfig {
  const clusterEnabled = read(env, 'DOCKER_CLUSTER_ENABLED', boolean, false);
  const uris = read(env, 'DOCKER_CLUSTER_URIS', clusterUris);
  if (clusterEnabled && !uris) {
    throw new ConfigError(
      'DOCKER_CLUSTER_URIS',
      `${clusterUris.expected} (DOCKER_CLUSTER_ENABLED is true)`,
      undefined,
    );
  }
  const agentToken = required(env, 'HUMPBACK_AGENT_TOKEN', token, 'the agent refuses to run without one');
  return {
    dockerEndpoint: read(env, 'DOCKER_ENDPOINT', dockerEndpoint, 'unix:///var/run/docker.sock'),
    listen: read(env, 'DOCKER_NODE_HTTPADDR', listen, { host: '0.0.0.0', port: 8500 }),
    clusterEnabled,
    clusterUris: uris,
    clusterName: read(env, 'DOCKER_CLUSTER_NAME', clusterName, 'humpback/center'),
    heartbeatSeconds: read(env, 'DOCKER_CLUSTER_HEARTBEAT', positiveSeconds, 10),
    portsRange: read(env, 'DOCKER_CONTAINER_PORTS_RANGE', portsRange),
    agentToken,
    previousAgentToken: previousToken(env, agentToken),
    advertisedAddresses: read(env, 'HUMPBACK_AGENT_ADDRESSES', addressList),
    dataDir: read(env, 'HUMPBACK_DATA_DIR', path, DEFAULT_DATA_DIR),
    ipAddress: read(env, 'DOCKER_AGENT_IPADDR', ipv4),
  };
}

/** Reads and validates the gateway's environment; throws ConfigError on the first bad variable. */
export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return {
    listen: read(env, 'HUMPBACK_LISTEN', listen, { host: '0.0.0.0', port: 8100 }),
    redisUrl: read(env, 'HUMPBACK_REDIS_URL', redisUrl),
    dataDir: read(env, 'HUMPBACK_DATA_DIR', path, DEFAULT_DATA_DIR),
    adminPassword: read(env, 'HUMPBACK_ADMIN_PASSWORD', password),
    agentToken: required(env, 'HUMPBACK_AGENT_TOKEN', token, 'the gateway uses it to call the agents'),
    clusterUris: read(env, 'DOCKER_CLUSTER_URIS', clusterUris),
    clusterName: read(env, 'DOCKER_CLUSTER_NAME', clusterName, 'humpback/center'),
    migrateDelaySeconds: read(env, 'CENTER_MIGRATE_DELAY', nonNegativeSeconds, 45),
    recoveryIntervalSeconds: read(env, 'CENTER_RECOVERY_INTERVAL', positiveSeconds, 120),
    removeDelaySeconds: read(env, 'CENTER_REMOVE_DELAY', nonNegativeSeconds, 0),
    jwtSecret: read(env, 'HUMPBACK_JWT_SECRET', token),
    trustedProxies: read(env, 'HUMPBACK_TRUSTED_PROXIES', cidrList, []),
    development: env['NODE_ENV'] === 'development',
    webhookAllow: read(env, 'HUMPBACK_WEBHOOK_ALLOW', cidrList, []),
    uploadMaxMb: read(env, 'HUMPBACK_UPLOAD_MAX_MB', megabytes, 2048),
    secretKey: read(env, 'HUMPBACK_SECRET_KEY', token),
  };
}
