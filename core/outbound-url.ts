import { promises as dns, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIPv4, isIPv6, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The policy for outgoing requests to URLs that users give (webhooks; later notification channels).
 * A URL must be http(s) without credentials; its host's addresses are resolved once, every one is
 * checked, and the request goes to the checked address with the original Host and SNI, so DNS cannot
 * answer differently between the check and the connection. Refused: unspecified, multicast,
 * broadcast and reserved addresses and the agents' addresses, always; loopback, link-local, private
 * (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10) and the gateway's own addresses unless an
 * admin allows a range containing them (HUMPBACK_WEBHOOK_ALLOW). IPv4-mapped, -compatible and NAT64
 * IPv6 forms are judged as the IPv4 address they carry.
 */

/** An IP address as a number: 32 bits for IPv4, 128 for IPv6. */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

/** A range of addresses, `10.0.0.0/8` or `fd00::/8`. */
export interface Cidr extends IpAddress {
  bits: number;
}

function parseIpv6Groups(part: string): bigint[] | undefined {
  if (part === '') return [];
  const groups: bigint[] = [];
  const pieces = part.split(':');
  for (const [i, piece] of pieces.entries()) {
    if (i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIp(piece);
      if (v4?.family !== 4) return undefined;
      groups.push(v4.value >> 16n, v4.value & 0xffffn);
    } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
      groups.push(BigInt(`0x${piece}`));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** Parses an IPv4 or IPv6 address (brackets and a zone are ignored); undefined when it is none. */
export function parseIp(text: string): IpAddress | undefined {
  const t = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(t)) {
    return { family: 4, value: t.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n) };
  }
  if (!isIPv6(t)) return undefined;
  const bare = t.replace(/%.*$/, '');
  const [head = '', tail, ...rest] = bare.split('::');
  if (rest.length > 0) return undefined;
  const high = parseIpv6Groups(head);
  const low = tail === undefined ? [] : parseIpv6Groups(tail);
  if (!high || !low) return undefined;
  const zeros = 8 - high.length - low.length;
  if (zeros < 0 || (tail === undefined && zeros !== 0)) return undefined;
  const groups = [...high, ...Array<bigint>(zeros).fill(0n), ...low];
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

/** Dotted quad of a 32-bit value. */
export function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

/** Parses `address/bits` or a bare address (a single host); host bits are masked off. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+?)(?:\/(\d{1,3}))?$/.exec(text.trim());
  const ip = m ? parseIp(m[1]!) : undefined;
  if (!m || !ip) return undefined;
  const width = ip.family === 4 ? 32 : 128;
  const bits = m[2] === undefined ? width : Number(m[2]);
  if (bits > width) return undefined;
  return { ...ip, bits, value: ip.value & mask(width, bits) };
}

function mask(width: number, bits: number): bigint {
  return ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
}

/** Whether `cidr` contains `ip` (same family only). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  return (ip.value & mask(ip.family === 4 ? 32 : 128, cidr.bits)) === cidr.value;
}

const range = (text: string): Cidr => parseCidr(text)!;
const MAPPED = range('::ffff:0:0/96');
const TRANSLATED = range('::ffff:0:0:0/96');
const COMPATIBLE = range('::/96');
const NAT64 = range('64:ff9b::/96');

/** The IPv4 address an IPv4-mapped, -translated, -compatible or NAT64 IPv6 address carries; else itself. */
export function unwrapIpv4(ip: IpAddress): IpAddress {
  if (
    ip.family === 6 &&
    ip.value > 1n &&
    [MAPPED, TRANSLATED, COMPATIBLE, NAT64].some((c) => cidrContains(c, ip))
  ) {
    return { family: 4, value: ip.value & 0xffffffffn };
  }
  return ip;
}

/** The kinds of address that are not a public destination. */
export type AddressKind =
  'unspecified' | 'loopback' | 'link-local' | 'private' | 'shared' | 'multicast' | 'broadcast' | 'reserved';

const KINDS: ReadonlyArray<[Cidr, AddressKind]> = (
  [
    ['0.0.0.0/8', 'unspecified'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local'],
    ['10.0.0.0/8', 'private'],
    ['172.16.0.0/12', 'private'],
    ['192.168.0.0/16', 'private'],
    ['100.64.0.0/10', 'shared'],
    ['224.0.0.0/4', 'multicast'],
    ['255.255.255.255/32', 'broadcast'],
    ['240.0.0.0/4', 'reserved'],
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    ['fe80::/10', 'link-local'],
    ['fec0::/10', 'private'], // site-local, deprecated but still routed by some stacks
    ['fc00::/7', 'private'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([cidr, kind]) => [range(cidr), kind]);

/** The first matching kind, most specific ranges first (255.255.255.255 before 240/4). */
export function addressKind(ip: IpAddress): AddressKind | undefined {
  const v = unwrapIpv4(ip);
  return KINDS.find(([cidr]) => cidrContains(cidr, v))?.[1];
}

const KIND_TEXT: Record<AddressKind, string> = {
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  'link-local': 'a link-local address',
  private: 'a private address',
  shared: 'a shared (carrier-grade NAT) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

/** Never a destination, whatever is allowed. */
const NEVER: ReadonlySet<AddressKind> = new Set(['unspecified', 'multicast', 'broadcast', 'reserved']);

const sameIp = (a: IpAddress, b: IpAddress): boolean => a.family === b.family && a.value === b.value;

/** `ip`, `ip:port` or `[ip6]:port`; undefined for host names. */
function parseEndpoint(text: string): { ip: IpAddress; port?: number } | undefined {
  const whole = parseIp(text);
  if (whole) return { ip: unwrapIpv4(whole) };
  const m = /^(.*):(\d{1,5})$/.exec(text.trim());
  const ip = m ? parseIp(m[1]!) : undefined;
  return m && ip ? { ip: unwrapIpv4(ip), port: Number(m[2]) } : undefined;
}

/** Resolves a host name to all its addresses. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

const systemLookup: HostLookup = (hostname) => dns.lookup(hostname, { all: true });

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

export interface OutboundUrlPolicyOptions {
  /** Ranges (CIDR or single addresses) that are destinations even when loopback, link-local, private,
   * shared or the gateway's own (HUMPBACK_WEBHOOK_ALLOW). Never the agents' or never-addresses.
   * @default [] */
  allow?: readonly string[] | undefined;
  /** The agents' addresses, asked at every check: `ip` refuses the host, `ip:port` that port.
   * @default none */
  agentAddresses?: (() => Iterable<string>) | undefined;
  /** This process's own addresses. @default every address of every network interface */
  ownAddresses?: (() => Iterable<string>) | undefined;
  /** @default dns.lookup with all: true (the system resolver, /etc/hosts included) */
  lookup?: HostLookup | undefined;
}

/** A URL that passed the checks, and the one address to connect to. */
export interface ResolvedUrl {
  ok: true;
  url: URL;
  address: string;
  family: 4 | 6;
}

/** Why a URL is not used: `refused` by the policy, or its host did not resolve. */
export interface UnusableUrl {
  ok: false;
  refused: boolean;
  reason: string;
}

/** The outcome of one request; `reason`s are our own words, never the receiver's. */
export type OutboundResult =
  | { outcome: 'answered'; statusCode: number }
  /** Not contacted. */
  | { outcome: 'refused'; reason: string }
  /** No HTTP answer; `detail` is the system's message, for the operator's log only. */
  | { outcome: 'failed'; reason: string; detail?: string | undefined };

export interface OutboundRequest {
  /** @default 'POST' */
  method?: string | undefined;
  headers: Record<string, string>;
  body: string;
  /** Resolution, connection and the answer's headers together. */
  timeoutMs: number;
}

export class OutboundUrlPolicy {
  private readonly allow: Cidr[];
  private readonly lookup: HostLookup;

  constructor(private readonly options: OutboundUrlPolicyOptions = {}) {
    this.allow = (options.allow ?? []).map((text) => {
      const cidr = parseCidr(text);
      if (!cidr) throw new Error(`not a CIDR range: ${JSON.stringify(text)}`);
      return cidr;
    });
    this.lookup = options.lookup ?? systemLookup;
  }

  /** Checks what the URL itself says: scheme, credentials, and the address if the host is one. */
  checkUrl(raw: string): { ok: true; url: URL; host: string; port: number } | UnusableUrl {
    const refuse = (reason: string): UnusableUrl => ({ ok: false, refused: true, reason });
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return refuse('not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return refuse(`http or https only, not ${url.protocol.replace(/:$/, '')}`);
    }
    if (url.username !== '' || url.password !== '')
      return refuse('credentials in the URL (user:password@) are not allowed');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '') return refuse('no host');
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const ip = parseIp(host);
    if (ip) {
      const why = this.denial(ip, port);
      if (why) return refuse(`${host} is ${why}`);
    }
    return { ok: true, url, host, port };
  }

  /** Why `address` (at `port`) is no destination, as "a loopback address"; undefined when it is one. */
  denial(address: IpAddress | string, port?: number): string | undefined {
    const parsed = typeof address === 'string' ? parseIp(address) : address;
    if (!parsed) return 'not an IP address';
    const ip = unwrapIpv4(parsed);
    const carried = ip === parsed ? '' : ` (IPv4 ${formatIpv4(ip.value)})`;
    const kind = addressKind(ip);
    if (kind && NEVER.has(kind)) return KIND_TEXT[kind] + carried;
    for (const text of this.options.agentAddresses?.() ?? []) {
      const agent = parseEndpoint(text);
      if (agent && sameIp(agent.ip, ip) && (agent.port === undefined || agent.port === port)) {
        return `an agent's address${carried}`;
      }
    }
    if (this.allow.some((cidr) => cidrContains(cidr, ip) || cidrContains(cidr, parsed))) return undefined;
    if (kind) return KIND_TEXT[kind] + carried;
    const own = [...(this.options.ownAddresses?.() ?? localAddresses())].map(parseIp);
    if (own.some((o) => o && sameIp(unwrapIpv4(o), ip))) return `an address of this gateway${carried}`;
    return undefined;
  }

  /** The URL checked, its host resolved once and every address checked; the first is the one to use. */
  async resolve(raw: string, timeoutMs = 5000): Promise<ResolvedUrl | UnusableUrl> {
    const checked = this.checkUrl(raw);
    if (!checked.ok) return checked;
    const { url, host, port } = checked;
    const literal = parseIp(host);
    if (literal) return { ok: true, url, address: host, family: literal.family };
    const failed = (): UnusableUrl => ({ ok: false, refused: false, reason: `could not resolve ${host}` });
    let addresses: readonly LookupAddress[];
    try {
      addresses = await withTimeout(this.lookup(host), timeoutMs);
    } catch {
      return failed();
    }
    if (addresses.length === 0) return failed();
    // All of them: a name that also points inside is refused, whichever address would be picked.
    for (const a of addresses) {
      const why = this.denial(a.address, port);
      if (why) return { ok: false, refused: true, reason: `${host} resolves to ${a.address}, ${why}` };
    }
    const first = addresses[0]!;
    return { ok: true, url, address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  /** Sends one request to a checked address; a refused URL is never contacted. */
  async send(raw: string, request: OutboundRequest): Promise<OutboundResult> {
    const deadline = Date.now() + request.timeoutMs;
    const resolved = await this.resolve(raw, request.timeoutMs);
    if (!resolved.ok) {
      return resolved.refused
        ? { outcome: 'refused', reason: resolved.reason }
        : { outcome: 'failed', reason: resolved.reason };
    }
    return post(resolved, request, Math.max(1, deadline - Date.now()));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A lookup that answers the already checked address, whatever name is asked. */
function pinned(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** Our words for a connection that gave no HTTP answer. */
function failureReason(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code.startsWith('HPE_')) return 'the answer was not HTTP';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/.test(code))
    return 'TLS handshake failed';
  return 'could not connect';
}

function post(target: ResolvedUrl, request: OutboundRequest, remainingMs: number): Promise<OutboundResult> {
  const { url } = target;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    // Called from events only, after the request and the timer exist.
    function finish(result: OutboundResult): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    }
    let req: http.ClientRequest;
    try {
      req = client.request(
        url,
        {
          method: request.method ?? 'POST',
          headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
          // A fresh connection to the pinned address each time: no pooled socket to another address.
          agent: false,
          lookup: pinned(target.address, target.family),
        },
        (res) => {
          finish({ outcome: 'answered', statusCode: res.statusCode ?? 0 });
          res.destroy(); // the body is the receiver's business, not ours
        },
      );
    } catch (err) {
      // e.g. a header value Node will not send; nothing went out
      settled = true;
      resolve({ outcome: 'failed', reason: 'could not send the request', detail: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      finish({ outcome: 'failed', reason: `no answer within ${seconds(request.timeoutMs)}` });
      req.destroy();
    }, remainingMs);
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({ outcome: 'failed', reason: failureReason(err), detail: err.message }),
    );
    req.end(request.body);
  });
}
