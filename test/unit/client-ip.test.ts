import { describe, expect, it } from 'vitest';
import {
  addressThrottleKey,
  normalizeAddress,
  resolveClientAddress,
  trustedProxyList,
} from '../../gateway/graphql/client-ip.js';

const trusted = trustedProxyList(['10.0.0.2/32', '192.168.0.0/16', 'fd00::/8']);

describe('client address behind trusted proxies', () => {
  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(resolveClientAddress('203.0.113.5', '198.51.100.1', trusted)).toBe('203.0.113.5');
    expect(resolveClientAddress('203.0.113.5', undefined, trusted)).toBe('203.0.113.5');
  });

  it('is the right-most address that is not a trusted proxy', () => {
    expect(resolveClientAddress('10.0.0.2', '198.51.100.1', trusted)).toBe('198.51.100.1');
    // the client made up the first entry; two proxies added the rest
    expect(resolveClientAddress('10.0.0.2', '1.2.3.4, 198.51.100.1, 192.168.3.3', trusted)).toBe(
      '198.51.100.1',
    );
    expect(resolveClientAddress('10.0.0.2', ['1.2.3.4', '198.51.100.1'], trusted)).toBe('198.51.100.1');
    expect(resolveClientAddress('::ffff:10.0.0.2', '2001:DB8::1', trusted)).toBe('2001:db8::1');
    expect(resolveClientAddress('fd00::7', '198.51.100.9', trusted)).toBe('198.51.100.9');
  });

  it('stops at an entry that is not an address, and at the far end of the chain', () => {
    expect(resolveClientAddress('10.0.0.2', 'evil, 192.168.1.1', trusted)).toBe('192.168.1.1');
    expect(resolveClientAddress('10.0.0.2', 'not-an-address', trusted)).toBe('10.0.0.2');
    expect(resolveClientAddress('10.0.0.2', '192.168.1.1', trusted)).toBe('192.168.1.1');
    expect(resolveClientAddress(undefined, '198.51.100.1', trusted)).toBe('unknown');
  });

  it('normalizes addresses', () => {
    expect(normalizeAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('FE80::1')).toBe('fe80::1');
    expect(normalizeAddress('fe80::1%eth0')).toBeUndefined();
    expect(normalizeAddress('1.2.3.4:80')).toBeUndefined();
  });

  it('counts IPv6 clients by their /64 and IPv4 clients by their address', () => {
    expect(addressThrottleKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressThrottleKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressThrottleKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressThrottleKey('::1')).toBe('0:0:0:0::/64');
    expect(addressThrottleKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressThrottleKey('198.51.100.7')).toBe('198.51.100.7');
    expect(addressThrottleKey('unknown')).toBe('unknown');
  });
});
