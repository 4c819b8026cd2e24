import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

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
  trusted: BlockList,
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

const lists = new WeakMap<readonly string[], BlockList>();

/** A BlockList of `address/prefix` ranges (GatewayConfig.trustedProxies), built once per list. */
export function trustedProxyList(ranges: readonly string[]): BlockList {
  let list = lists.get(ranges);
  if (!list) {
    list = new BlockList();
    for (const range of ranges) {
      const [address = '', prefix = ''] = range.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      list.addSubnet(address, Number(prefix || (family === 'ipv6' ? 128 : 32)), family);
    }
    lists.set(ranges, list);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
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
  if (isIP(client) !== 6) return client;
  return `${expandIPv6(client).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in hex without leading zeros. */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const part = (s: string | undefined): string[] => {
    if (!s) return [];
    const groups = s.split(':');
    const last = groups[groups.length - 1]!;
    if (last.includes('.')) {
      // an embedded IPv4 address is the last two groups
      const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
      groups.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    return groups.map((g) => parseInt(g, 16).toString(16));
  };
  const left = part(head);
  const right = part(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right];
}
