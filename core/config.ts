import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { isImageRef } from './image-ref.js';

/**
 * A configuration problem, reported at start as one line naming the variable. A ConfigError may
 * carry several problems (`lines`): every bad variable is reported at once.
 */
export class ConfigError extends Error {
  /** One line per problem, each naming its variable. */
  lines: readonly string[];

  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly value: string | undefined,
  ) {
    super(
      `${variable}: expected ${expected}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
    );
    this.name = 'ConfigError';
    this.lines = [this.message];
  }

  /** A dependency (Redis, ZooKeeper, the engine) that does not answer where `variable` points. */
  static unreachable(variable: string, value: string, what: string, reason: string): ConfigError {
    const err = new ConfigError(variable, `a reachable ${what}`, value);
    err.message = `${variable}: cannot reach ${what} at ${JSON.stringify(value)} (${reason}); start it or set ${variable} to where it runs`;
    err.lines = [err.message];
    return err;
  }

  /** All of `errors` in one (the first one's variable, every line). */
  static all(errors: readonly ConfigError[]): ConfigError {
    const first = errors[0]!;
    if (errors.length === 1) return first;
    const err = new ConfigError(first.variable, first.expected, first.value);
    err.lines = [...new Set(errors.flatMap((e) => e.lines))];
    err.message = err.lines.join('\n');
    return err;
  }
}

/** A variable a command reads, as `--help` lists it. */
export interface VariableInfo {
  variable: string;
  expected: string;
  /** The default as text; undefined: unset means "not used". */
  default: string | undefined;
  required: boolean;
}

// While a load* function runs: the problems found so far (every bad variable is reported at once),
// and, for --help, the variables read.
let collected: ConfigError[] | undefined;
let recorded: VariableInfo[] | undefined;

/** Runs `load`, collecting every problem of every read(...) in it; throws them all at the end. */
export function collectProblems<T>(load: () => T): T {
  if (collected) return load(); // nested: the outer call reports
  collected = [];
  const problems = collected;
  let value: T;
  try {
    value = load();
  } catch (err) {
    // A ConfigError thrown directly (not through read) joins the others.
    if (err instanceof ConfigError) problems.push(err);
    else throw err;
  } finally {
    collected = undefined;
  }
  if (problems.length > 0) throw ConfigError.all(problems);
  return value!;
}

/**
 * The variables `load` reads (run on an empty environment), with their defaults, in order; a variable
 * the command sets to '' itself is not listed. `defaults` replaces the shown default of some.
 */
export function describeVariables(
  load: (env: Env) => unknown,
  defaults: Record<string, string> = {},
): VariableInfo[] {
  const saved = { collected, recorded };
  recorded = [];
  collected = [];
  const found = recorded;
  try {
    load({});
  } catch {
    // an empty environment misses required variables: they are recorded as such
  } finally {
    collected = saved.collected;
    recorded = saved.recorded;
  }
  const seen = new Set<string>();
  return found
    .filter((v) => !seen.has(v.variable) && seen.add(v.variable))
    .map((v) => (defaults[v.variable] ? { ...v, default: defaults[v.variable], required: false } : v));
}

/** Reports a problem: collected while a load* function runs, else thrown. */
function problem(err: ConfigError): void {
  if (!collected) throw err;
  collected.push(err);
}

export type Env = Record<string, string | undefined>;

/** A `host:port` listen address. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Where the discovery backend (ZooKeeper or etcd v3) is and under which prefix Humpback keeps its nodes. */
export interface ClusterUris {
  /** `zk://` or `etcd://`. @default 'zk' */
  backend?: 'zk' | 'etcd' | undefined;
  /** `host:port,host:port`, as node-zookeeper-client takes it (etcd: its endpoints). */
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
  /** Seconds (DOCKER_CLUSTER_HEARTBEAT, `10` or v1's `8s`). @default 10 */
  heartbeatSeconds: number;
  /** Seconds a registration outlives a silent agent (DOCKER_CLUSTER_TTL, `30s`): the etcd lease. @default 30 */
  clusterTtlSeconds?: number | undefined;
  /** DOCKER_API_VERSION: the Docker API version to speak, as `v1.41`. @default the engine's own */
  dockerApiVersion?: string | undefined;
  portsRange: PortRange | undefined;
  /** HUMPBACK_AGENT_TOKEN (or v1's AUTHORIZATION_TOKEN); '' only when authorization is off and none is set. */
  agentToken: string;
  /** ENABLE_AUTHORIZATION (humpback-agent 1.4): `false` serves without a token. @default true */
  authorizationEnabled?: boolean | undefined;
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
  /** HUMPBACK_LOG_LEVEL (core/logger.ts applies it). @default 'info' */
  logLevel?: string | undefined;
  /** HUMPBACK_HELPER_IMAGE: what the short-lived volume helpers run (needs find, rm, mkdir). @default 'busybox:latest' */
  helperImage?: string | undefined;
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
  /** Seconds the leader's etcd lease outlives a silent gateway (DOCKER_CLUSTER_TTL). @default 30 */
  clusterTtlSeconds?: number | undefined;
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
  /** HUMPBACK_LOG_LEVEL (core/logger.ts applies it). @default 'info' */
  logLevel?: string | undefined;
  /** HUMPBACK_SMTP_URL: smtp://[user:pass@]host:port[?from=addr] (smtps:// for TLS), for email notifications. */
  smtpUrl?: string | undefined;
  /** HUMPBACK_NOTIFY_DELAY: seconds a node stays down before NODE_DOWN is sent. @default 30 */
  notifyDelaySeconds: number;
  /** HUMPBACK_UPLOAD_MAX_MB: the largest `POST /uploads` body, in MiB. @default 2048 */
  uploadMaxMb: number;
  /** HUMPBACK_SECRET_KEY: encrypts registry passwords at rest; generated and kept in the store when unset. */
  secretKey: string | undefined;
}

// Each rule turns one raw variable into a typed value or says what it expected.
interface Rule<T> {
  expected: string;
  schema: z.ZodType<T>;
  /** How --help shows a default. @default String(value); lists joined with commas */
  show?: (value: T) => string;
}

/** Seconds, from whole seconds (`45`) or a Go duration as Humpback v1 took them (`8s`, `1m`, `1m30s`, `500ms`). */
function duration(minSeconds: number): Rule<number> {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return {
    expected: `a duration of at least ${minSeconds} s, in seconds (45) or Go's form (8s, 1m, 1m30s)`,
    schema: z.string().transform((v, ctx) => {
      const text = v.trim();
      let seconds = NaN;
      if (/^\d+$/.test(text)) seconds = Number(text);
      else if (/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) {
        seconds = 0;
        for (const [, n, , u] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g)) seconds += Number(n) * unit[u!]!;
      }
      if (!(seconds >= minSeconds)) {
        ctx.addIssue({ code: 'custom', message: 'bad duration' });
        return z.NEVER;
      }
      return seconds;
    }),
  };
}
const positiveDuration = duration(1);
const nonNegativeDuration = duration(0);
const dockerApiVersion: Rule<string> = {
  expected: 'a Docker API version such as 1.41 (or v1.41)',
  schema: z
    .string()
    .trim()
    .regex(/^v?\d+\.\d+$/)
    .transform((v) => (v.startsWith('v') ? v : `v${v}`)),
};
/** humpback-center's CENTER_LISTEN_PORT: `:8589` or `8589`. */
const listenPort: Rule<ListenAddress> = {
  expected: 'a port such as :8589 or 8589 (0 to 65535)',
  schema: z.string().transform((v, ctx) => {
    const m = /^\s*:?(\d{1,5})\s*$/.exec(v);
    if (!m || Number(m[1]) > 65535) {
      ctx.addIssue({ code: 'custom', message: 'bad port' });
      return z.NEVER;
    }
    return { host: '0.0.0.0', port: Number(m[1]) };
  }),
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
  show: (v) => `${v.host}:${v.port}`,
};
const dockerEndpoint: Rule<string> = {
  expected: 'unix:///path/to/docker.sock or tcp://host:port',
  schema: z.string().regex(/^(unix:\/\/\/.+|tcp:\/\/[^/:]+:\d{1,5}\/?|https?:\/\/[^/:]+:\d{1,5}\/?)$/),
};
const clusterUris: Rule<ClusterUris> = {
  expected:
    'zk://host:port[,host:port][/prefix] or etcd://host:port[,host:port][/prefix] (consul:// is not supported: no Consul server is packaged for Debian, so that backend cannot be tested)',
  schema: z.string().transform((v, ctx) => {
    const m = /^(zk|etcd):\/\/([^/]+?)(\/[^\s]*)?$/.exec(v.trim());
    const hosts = m ? m[2]!.split(',') : [];
    if (!m || hosts.some((h) => !/^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(h))) {
      ctx.addIssue({ code: 'custom', message: 'bad uri' });
      return z.NEVER;
    }
    const prefix = (m[3] ?? '').replace(/\/+$/, '');
    return { backend: m[1] as 'zk' | 'etcd', connectionString: hosts.join(','), prefix };
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
const logLevel: Rule<string> = {
  expected: 'one of fatal, error, warn, info, debug, trace, silent',
  schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
};
const smtpUrl: Rule<string> = {
  expected: 'smtp://[user:pass@]host:port[?from=addr] or smtps://...',
  schema: z.string().refine((v) => /^smtps?:\/\/([^@/\s]+@)?[^:/\s]+:\d{1,5}\/?(\?\S*)?$/.test(v.trim())),
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

function showDefault<T>(rule: Rule<T>, value: T | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (rule.show) return rule.show(value);
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  return String(value);
}

function read<T>(env: Env, variable: string, rule: Rule<T>): T | undefined;
function read<T>(env: Env, variable: string, rule: Rule<T>, fallback: T): T;
function read<T>(env: Env, variable: string, rule: Rule<T>, fallback?: T): T | undefined {
  const raw = env[variable];
  // Describing runs on an empty environment: a value here was put there by the command (humpback up),
  // and '' means the command turns the variable off.
  if (recorded && raw !== '') {
    recorded.push({
      variable,
      expected: rule.expected,
      default: raw ?? showDefault(rule, fallback),
      required: false,
    });
  }
  if (raw === undefined || raw === '') return fallback;
  const parsed = rule.schema.safeParse(raw);
  if (!parsed.success) {
    problem(new ConfigError(variable, rule.expected, raw));
    return fallback;
  }
  return parsed.data;
}

function required<T>(env: Env, variable: string, rule: Rule<T>, why: string): T {
  const before = recorded?.length ?? 0;
  const value = read(env, variable, rule);
  if (recorded && recorded.length > before && !env[variable]) recorded[before]!.required = true;
  // A bad value is reported by read(); a missing one here.
  if (value === undefined && !env[variable]) {
    problem(new ConfigError(variable, `${rule.expected} (${why})`, undefined));
  }
  // Only reached while collecting: the caller throws every problem before anyone uses the value.
  return value as T;
}

const DEFAULT_DATA_DIR = '.humpback';

/** HUMPBACK_AGENT_TOKEN_PREVIOUS: a token like the current one, and not the same. */
function previousToken(env: Env, current: string): string | undefined {
  const previous = read(env, 'HUMPBACK_AGENT_TOKEN_PREVIOUS', token);
  if (previous !== undefined && previous === current) {
    problem(
      new ConfigError(
        'HUMPBACK_AGENT_TOKEN_PREVIOUS',
        'the token being rotated out, different from HUMPBACK_AGENT_TOKEN (unset it once the rotation is done)',
        '<same as HUMPBACK_AGENT_TOKEN>',
      ),
    );
  }
  return previous;
}

/** Reads and validates the agent's environment; throws one ConfigError listing every bad variable. */
export function loadAgentConfig(env: Env = process.env): AgentConfig {
  return collectProblems(() => agentConfig(env));
}

function agentConfig(env: Env): AgentConfig {
  const clusterEnabled = read(env, 'DOCKER_CLUSTER_ENABLED', boolean, false);
  const uris = read(env, 'DOCKER_CLUSTER_URIS', clusterUris);
  if (clusterEnabled && !uris) {
    problem(
      new ConfigError(
        'DOCKER_CLUSTER_URIS',
        `${clusterUris.expected} (DOCKER_CLUSTER_ENABLED is true)`,
        undefined,
      ),
    );
  }
  const authorizationEnabled = read(env, 'ENABLE_AUTHORIZATION', boolean, true);
  const agentToken =
    read(env, 'HUMPBACK_AGENT_TOKEN', token) ??
    read(env, 'AUTHORIZATION_TOKEN', token) ??
    (authorizationEnabled
      ? required(
          env,
          'HUMPBACK_AGENT_TOKEN',
          token,
          'or AUTHORIZATION_TOKEN; the agent refuses to run without one unless ENABLE_AUTHORIZATION=false',
        )
      : '');
  return {
    dockerEndpoint: read(env, 'DOCKER_ENDPOINT', dockerEndpoint, 'unix:///var/run/docker.sock'),
    listen: read(env, 'DOCKER_NODE_HTTPADDR', listen, { host: '0.0.0.0', port: 8500 }),
    clusterEnabled,
    clusterUris: uris,
    clusterName: read(env, 'DOCKER_CLUSTER_NAME', clusterName, 'humpback/center'),
    heartbeatSeconds: read(env, 'DOCKER_CLUSTER_HEARTBEAT', positiveDuration, 10),
    clusterTtlSeconds: read(env, 'DOCKER_CLUSTER_TTL', positiveDuration, 30),
    dockerApiVersion: read(env, 'DOCKER_API_VERSION', dockerApiVersion),
    portsRange: read(env, 'DOCKER_CONTAINER_PORTS_RANGE', portsRange),
    agentToken,
    authorizationEnabled,
    previousAgentToken: previousToken(env, agentToken),
    advertisedAddresses: read(env, 'HUMPBACK_AGENT_ADDRESSES', addressList),
    dataDir: read(env, 'HUMPBACK_DATA_DIR', path, DEFAULT_DATA_DIR),
    ipAddress: read(env, 'DOCKER_AGENT_IPADDR', ipv4),
    logLevel: read(env, 'HUMPBACK_LOG_LEVEL', logLevel, 'info'),
    helperImage: read(env, 'HUMPBACK_HELPER_IMAGE', {
      expected: 'an image reference such as busybox:latest',
      schema: z.string().refine(isImageRef),
    }),
  };
}

/** Reads and validates the gateway's environment; throws one ConfigError listing every bad variable. */
export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return collectProblems(() => gatewayConfig(env));
}

function gatewayConfig(env: Env): GatewayConfig {
  return {
    listen:
      read(env, 'HUMPBACK_LISTEN', listen) ??
      read(env, 'CENTER_LISTEN_PORT', listenPort, { host: '0.0.0.0', port: 8100 }),
    redisUrl: read(env, 'HUMPBACK_REDIS_URL', redisUrl),
    dataDir: read(env, 'HUMPBACK_DATA_DIR', path, DEFAULT_DATA_DIR),
    adminPassword: read(env, 'HUMPBACK_ADMIN_PASSWORD', password),
    agentToken: required(env, 'HUMPBACK_AGENT_TOKEN', token, 'the gateway uses it to call the agents'),
    clusterUris: read(env, 'DOCKER_CLUSTER_URIS', clusterUris),
    clusterName: read(env, 'DOCKER_CLUSTER_NAME', clusterName, 'humpback/center'),
    clusterTtlSeconds: read(env, 'DOCKER_CLUSTER_TTL', positiveDuration, 30),
    migrateDelaySeconds:
      read(env, 'CENTER_MIGRATE_DELAY', nonNegativeDuration) ??
      read(env, 'CENTER_CLUSTER_MIGRATEDELAY', nonNegativeDuration, 45),
    recoveryIntervalSeconds:
      read(env, 'CENTER_RECOVERY_INTERVAL', positiveDuration) ??
      read(env, 'CENTER_CLUSTER_RECOVERYINTERVAL', positiveDuration, 120),
    removeDelaySeconds:
      read(env, 'CENTER_REMOVE_DELAY', nonNegativeDuration) ??
      read(env, 'CENTER_CLUSTER_REMOVEDELAY', nonNegativeDuration, 0),
    jwtSecret: read(env, 'HUMPBACK_JWT_SECRET', token),
    trustedProxies: read(env, 'HUMPBACK_TRUSTED_PROXIES', cidrList, []),
    development: env['NODE_ENV'] === 'development',
    webhookAllow: read(env, 'HUMPBACK_WEBHOOK_ALLOW', cidrList, []),
    logLevel: read(env, 'HUMPBACK_LOG_LEVEL', logLevel, 'info'),
    smtpUrl: read(env, 'HUMPBACK_SMTP_URL', smtpUrl),
    notifyDelaySeconds: read(env, 'HUMPBACK_NOTIFY_DELAY', nonNegativeDuration, 30),
    uploadMaxMb: read(env, 'HUMPBACK_UPLOAD_MAX_MB', megabytes, 2048),
    secretKey: read(env, 'HUMPBACK_SECRET_KEY', token),
  };
}

/** `humpback up` settles the agent token once its store is open (HUMPBACK_AGENT_TOKEN or a kept one). */
export const UP_PLACEHOLDER_TOKEN = 'placeholder-until-the-store-is-open';

/**
 * The gateway's and the local agent's configuration for `humpback up`, every problem of both at once:
 * the embedded store, no ZooKeeper registration, the agent on 127.0.0.1:8500 with its key file
 * under the data directory.
 */
export function loadUpConfig(env: Env = process.env): { gateway: GatewayConfig; agent: AgentConfig } {
  return collectProblems(() => {
    const gateway = loadGatewayConfig({
      ...env,
      HUMPBACK_REDIS_URL: '',
      HUMPBACK_AGENT_TOKEN: env['HUMPBACK_AGENT_TOKEN'] || UP_PLACEHOLDER_TOKEN,
    });
    const agent = loadAgentConfig({
      ...env,
      DOCKER_CLUSTER_ENABLED: '',
      DOCKER_NODE_HTTPADDR: env['DOCKER_NODE_HTTPADDR'] || '127.0.0.1:8500',
      HUMPBACK_AGENT_TOKEN: env['HUMPBACK_AGENT_TOKEN'] || UP_PLACEHOLDER_TOKEN,
      HUMPBACK_DATA_DIR: join(gateway.dataDir ?? DEFAULT_DATA_DIR, 'agent'),
    });
    return { gateway, agent };
  });
}
