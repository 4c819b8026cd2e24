import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../core/outbound-url.js';

/**
 * The client's address for login throttling: the peer's address, or when the peer is a trusted
 * proxy (HUMPBACK_TRUSTED_PROXIES) the right-most address of X-Forwarded-For that is not one. Only
 * trusted proxies are believed, so a client cannot choose its own address by sending the header.
 *
 * `config` is the gateway's configuration; one without `trustedProxies` (a server built in a test
 * from a partial config) trusts no proxy.
 */
export function clientAddress(request: Pick<IncomingMessage, 'socket' | 'headers'>, config: object): string {
  const ranges =
    'trustedProxies' in config && Array.isArray(config.trustedProxies)
      ? (config.trustedProxies as readonly string[])
      : [];
  return resolveClientAddress(
    request.socket.remoteAddress,
    request.headers['x-forwarded-for'],
    trustedProxyList(ranges),
  );
}

/**
 * Walks X-Forwarded-For from the right, starting at the peer: each hop added by a trusted proxy is
 * believed, and the first address that is not a trusted proxy is the client. An entry that is not an
 * address ends the walk at the last address believed. 'unknown' when the peer has no address.
 */
export function resolveClientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: readonly Cidr[],
): string {
  let client = normalizeAddress(peer);
  if (client === undefined) return 'unknown';
  if (forwardedFor === undefined || !isTrusted(trusted, client)) return client;
  const hops = [forwardedFor].flat().join(',').split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!.trim());
    if (hop === undefined) break;
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}

const lists = new WeakMap<readonly string[], readonly Cidr[]>();

/** The `address/prefix` ranges of GatewayConfig.trustedProxies, parsed once per list. */
export function trustedProxyList(ranges: readonly string[]): readonly Cidr[] {
  let list = lists.get(ranges);
  if (!list) {
    list = ranges.flatMap((r) => parseCidr(r) ?? []);
    lists.set(ranges, list);
  }
  return list;
}

function isTrusted(list: readonly Cidr[], address: string): boolean {
  const ip = parseIp(address);
  return ip !== undefined && list.some((c) => cidrContains(c, ip));
}

/** A plain IPv4 or lower-case IPv6 address (IPv4-mapped IPv6 as IPv4); undefined for anything else. */
export function normalizeAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value);
  const address = mapped ? mapped[1]! : value;
  const family = isIP(address);
  if (family === 4) return address;
  if (family === 6 && !address.includes('%')) return address.toLowerCase();
  return undefined;
}

/**
 * What login attempts of a client are counted under: its IPv4 address, or the /64 of its IPv6
 * address (one host usually has a whole /64 to pick addresses from). Anything else as it is.
 */
export function addressThrottleKey(client: string): string {
  const ip = isIP(client) === 6 ? parseIp(client) : undefined;
  if (!ip) return client;
  const high = ip.value >> 64n;
  return `${[48n, 32n, 16n, 0n].map((shift) => ((high >> shift) & 0xffffn).toString(16)).join(':')}::/64`;
}
