import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  OutboundUrlPolicy,
  addressKind,
  cidrContains,
  formatIpv4,
  parseCidr,
  parseIp,
  unwrapIpv4,
  type OutboundUrlPolicyOptions,
} from '../../core/outbound-url.js';

/** A policy that knows no own addresses unless told, so results do not depend on this machine. */
const policy = (options: OutboundUrlPolicyOptions = {}): OutboundUrlPolicy =>
  new OutboundUrlPolicy({ ownAddresses: () => [], ...options });

const lookupOf =
  (answers: Record<string, string[]>) =>
  async (host: string): Promise<LookupAddress[]> => {
    const list = answers[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('IP addresses and ranges', () => {
  it('parses IPv4 and every IPv6 notation', () => {
    expect(parseIp('10.1.2.3')).toEqual({ family: 4, value: 0x0a010203n });
    expect(parseIp('::')).toEqual({ family: 6, value: 0n });
    expect(parseIp('::1')).toEqual({ family: 6, value: 1n });
    expect(parseIp('[2001:db8::1]')).toEqual({ family: 6, value: 0x20010db8000000000000000000000001n });
    expect(parseIp('2001:db8:0:0:0:0:0:1')).toEqual(parseIp('2001:db8::1'));
    expect(parseIp('::ffff:127.0.0.1')).toEqual(parseIp('::ffff:7f00:1'));
    expect(parseIp('fe80::1%eth0')).toEqual(parseIp('fe80::1'));
    for (const bad of ['', 'localhost', '1.2.3', '256.1.1.1', '1::2::3', '12345::', '::g']) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });

  it('parses CIDR ranges, masking host bits, and tests membership', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 4, value: 0x0a000000n, bits: 8 });
    expect(parseCidr('192.0.2.7')).toEqual({ family: 4, value: 0xc0000207n, bits: 32 });
    expect(parseCidr('fd00::/8')?.bits).toBe(8);
    for (const bad of ['10.0.0.0/33', '::/129', 'example.com/8', '10.0.0.0/', '/8', '10.0.0.0/8/8']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
    const ten = parseCidr('10.0.0.0/8')!;
    expect(cidrContains(ten, parseIp('10.255.0.1')!)).toBe(true);
    expect(cidrContains(ten, parseIp('11.0.0.1')!)).toBe(false);
    expect(cidrContains(ten, parseIp('::ffff:10.0.0.1')!)).toBe(false); // families differ; unwrap first
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('8.8.8.8')!)).toBe(true);
  });

  it('unwraps the IPv4 address that mapped, translated, compatible and NAT64 forms carry', () => {
    for (const form of [
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:0:127.0.0.1',
      '::127.0.0.1',
      '64:ff9b::7f00:1',
    ]) {
      const v4 = unwrapIpv4(parseIp(form)!);
      expect(v4.family, form).toBe(4);
      expect(formatIpv4(v4.value), form).toBe('127.0.0.1');
    }
    expect(unwrapIpv4(parseIp('::1')!).family).toBe(6);
    expect(unwrapIpv4(parseIp('2001:db8::1')!).family).toBe(6);
  });

  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['::10.0.0.1', 'private'],
  ])('%s is %s', (address, kind) => {
    expect(addressKind(parseIp(address)!)).toBe(kind);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.0.1',
    '192.169.0.1',
    '11.0.0.1',
    '223.255.255.255',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    'fbff::1',
    'fe7f::1',
  ])('%s is public', (address) => {
    expect(addressKind(parseIp(address)!)).toBeUndefined();
  });
});

describe('URL checks', () => {
  it.each([
    ['ftp://hooks.example.com/x', 'http or https only, not ftp'],
    ['file:///etc/passwd', 'http or https only, not file'],
    ['gopher://hooks.example.com:70/', 'http or https only, not gopher'],
    ['ws://hooks.example.com/', 'http or https only, not ws'],
    ['javascript:alert(1)', 'http or https only, not javascript'],
    ['hooks.example.com/x', 'not a URL'],
    ['http://', 'not a URL'],
    ['http://user@hooks.example.com/', 'credentials in the URL (user:password@) are not allowed'],
    ['http://user:pass@hooks.example.com/', 'credentials in the URL (user:password@) are not allowed'],
    ['https://:pass@hooks.example.com/', 'credentials in the URL (user:password@) are not allowed'],
  ])('refuses %s', (url, reason) => {
    expect(policy().checkUrl(url)).toEqual({ ok: false, refused: true, reason });
  });

  it.each([
    ['http://127.0.0.1:8500/', '127.0.0.1 is a loopback address'],
    // What the URL parser turns into 127.0.0.1 is judged as 127.0.0.1.
    ['http://2130706433/', '127.0.0.1 is a loopback address'],
    ['http://0x7f.1/', '127.0.0.1 is a loopback address'],
    ['http://127.1/', '127.0.0.1 is a loopback address'],
    ['http://[::1]/', '::1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is a loopback address (IPv4 127.0.0.1)'],
    ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe is a link-local address (IPv4 169.254.169.254)'],
    ['http://169.254.169.254/latest/meta-data', '169.254.169.254 is a link-local address'],
    ['https://10.0.0.5/', '10.0.0.5 is a private address'],
    ['https://172.20.1.1/', '172.20.1.1 is a private address'],
    ['https://192.168.1.10/', '192.168.1.10 is a private address'],
    ['https://100.100.100.100/', '100.100.100.100 is a shared (carrier-grade NAT) address'],
    ['http://[fd00::1]/', 'fd00::1 is a private address'],
    ['http://[fe80::1]/', 'fe80::1 is a link-local address'],
    ['http://0.0.0.0:8100/', '0.0.0.0 is an unspecified address'],
    ['http://[::]/', ':: is an unspecified address'],
    ['http://224.0.0.251/', '224.0.0.251 is a multicast address'],
    ['http://[ff02::1]/', 'ff02::1 is a multicast address'],
    ['http://255.255.255.255/', '255.255.255.255 is the broadcast address'],
  ])('refuses %s: %s', (url, reason) => {
    expect(policy().checkUrl(url)).toEqual({ ok: false, refused: true, reason });
  });

  it('accepts public addresses and names (names are judged once resolved)', () => {
    expect(policy().checkUrl('https://8.8.8.8/hook')).toMatchObject({ ok: true, host: '8.8.8.8', port: 443 });
    expect(policy().checkUrl('http://[2001:db8::1]:8080/')).toMatchObject({
      ok: true,
      host: '2001:db8::1',
      port: 8080,
    });
    expect(policy().checkUrl('http://hooks.example.com/x')).toMatchObject({ ok: true, port: 80 });
  });
});

describe('the deny list', () => {
  it("refuses the agents' addresses: a node's IP at every port, an API address at its port", () => {
    const p = policy({
      agentAddresses: () => ['203.0.113.7', '198.51.100.2:8500', 'agent.example.com:8500'],
    });
    expect(p.denial('203.0.113.7', 22)).toBe("an agent's address");
    expect(p.denial('::ffff:203.0.113.7', 80)).toBe("an agent's address (IPv4 203.0.113.7)");
    expect(p.denial('198.51.100.2', 8500)).toBe("an agent's address");
    expect(p.denial('198.51.100.2', 8080)).toBeUndefined();
    expect(p.denial('203.0.113.8', 80)).toBeUndefined();
  });

  it("refuses the gateway's own addresses", () => {
    const p = policy({ ownAddresses: () => ['203.0.113.50', '2001:db8::50', 'fe80::1'] });
    expect(p.denial('203.0.113.50', 80)).toBe('an address of this gateway');
    expect(p.denial('::ffff:203.0.113.50', 80)).toBe('an address of this gateway (IPv4 203.0.113.50)');
    expect(p.denial('2001:db8::50', 80)).toBe('an address of this gateway');
    expect(p.denial('203.0.113.51', 80)).toBeUndefined();
    // by default: this machine's interfaces, of which loopback is one
    expect(new OutboundUrlPolicy().denial('127.0.0.1', 80)).toBe('a loopback address');
  });

  it('lets an allowed range through loopback, private, shared, link-local and own addresses', () => {
    const p = policy({
      allow: ['127.0.0.1', '10.20.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fd00::/8', '203.0.113.50/32'],
      ownAddresses: () => ['203.0.113.50'],
    });
    expect(p.denial('127.0.0.1', 80)).toBeUndefined();
    expect(p.denial('127.0.0.2', 80)).toBe('a loopback address');
    expect(p.denial('10.20.3.4', 80)).toBeUndefined();
    expect(p.denial('::ffff:10.20.3.4', 80)).toBeUndefined();
    expect(p.denial('10.21.0.1', 80)).toBe('a private address');
    expect(p.denial('100.64.1.1', 80)).toBeUndefined();
    expect(p.denial('169.254.1.1', 80)).toBeUndefined();
    expect(p.denial('fd00::5', 80)).toBeUndefined();
    expect(p.denial('fc00::5', 80)).toBe('a private address');
    expect(p.denial('203.0.113.50', 80)).toBeUndefined();
  });

  it('never lets an allowed range reach agents, unspecified, multicast or broadcast addresses', () => {
    const p = policy({ allow: ['0.0.0.0/0', '::/0'], agentAddresses: () => ['10.0.0.2'] });
    expect(p.denial('10.0.0.2', 80)).toBe("an agent's address");
    expect(p.denial('10.0.0.3', 80)).toBeUndefined();
    expect(p.denial('0.0.0.0', 80)).toBe('an unspecified address');
    expect(p.denial('::', 80)).toBe('an unspecified address');
    expect(p.denial('224.0.0.1', 80)).toBe('a multicast address');
    expect(p.denial('ff02::1', 80)).toBe('a multicast address');
    expect(p.denial('255.255.255.255', 80)).toBe('the broadcast address');
    expect(p.denial('::ffff:255.255.255.255', 80)).toBe('the broadcast address (IPv4 255.255.255.255)');
  });

  it('refuses to start with a range it cannot read', () => {
    expect(() => policy({ allow: ['10.0.0.0/40'] })).toThrow(/not a CIDR range/);
  });
});

describe('resolution', () => {
  it('checks every address a name resolves to and uses the first', async () => {
    const p = policy({
      lookup: lookupOf({
        'public.test': ['198.51.100.10', '2001:db8::10'],
        'mixed.test': ['198.51.100.10', '127.0.0.1'],
        'inside.test': ['::ffff:10.0.0.1'],
        localhost: ['127.0.0.1', '::1'],
      }),
    });
    expect(await p.resolve('https://public.test/hook')).toMatchObject({
      ok: true,
      address: '198.51.100.10',
      family: 4,
    });
    expect(await p.resolve('http://mixed.test/')).toEqual({
      ok: false,
      refused: true,
      reason: 'mixed.test resolves to 127.0.0.1, a loopback address',
    });
    expect(await p.resolve('http://inside.test/')).toEqual({
      ok: false,
      refused: true,
      reason: 'inside.test resolves to ::ffff:10.0.0.1, a private address (IPv4 10.0.0.1)',
    });
    expect(await p.resolve('http://localhost:8500/')).toMatchObject({ refused: true });
    expect(await p.resolve('http://missing.test/')).toEqual({
      ok: false,
      refused: false,
      reason: 'could not resolve missing.test',
    });
  });

  it('does not resolve a URL that is refused as written, nor an address literal', async () => {
    const asked: string[] = [];
    const p = policy({
      lookup: async (host) => {
        asked.push(host);
        return [{ address: '198.51.100.10', family: 4 }];
      },
    });
    expect(await p.resolve('ftp://files.test/')).toMatchObject({ ok: false, refused: true });
    expect(await p.resolve('http://user:pw@files.test/')).toMatchObject({ ok: false, refused: true });
    expect(await p.resolve('http://198.51.100.20/')).toMatchObject({ ok: true, address: '198.51.100.20' });
    expect(asked).toEqual([]);
  });

  it('gives up on a resolver that does not answer in time', async () => {
    const p = policy({ lookup: () => new Promise<never>(() => undefined) });
    expect(await p.resolve('http://slow.test/', 20)).toEqual({
      ok: false,
      refused: false,
      reason: 'could not resolve slow.test',
    });
  });

  it('never sends to a refused URL', async () => {
    const asked: string[] = [];
    const p = policy({
      lookup: async (host) => {
        asked.push(host);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const request = { headers: {}, body: '{}', timeoutMs: 1000 };
    expect(await p.send('http://127.0.0.1:9/', request)).toEqual({
      outcome: 'refused',
      reason: '127.0.0.1 is a loopback address',
    });
    expect(await p.send('http://hook.test:9/', request)).toEqual({
      outcome: 'refused',
      reason: 'hook.test resolves to 127.0.0.1, a loopback address',
    });
    expect(asked).toEqual(['hook.test']);
  });
});

describe('sending to a checked address', () => {
  // Real servers on loopback, which this policy allows as HUMPBACK_WEBHOOK_ALLOW=127.0.0.1 would.
  const servers: Array<Server | NetServer> = [];
  const listen = async <S extends Server | NetServer>(server: S): Promise<number> => {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      if ('closeAllConnections' in s) s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
  const allowed = policy({
    allow: ['127.0.0.1'],
    lookup: lookupOf({ 'hook.test': ['127.0.0.1'] }),
  });
  const request = (timeoutMs = 2000) => ({ headers: { 'X-Test': '1' }, body: '{"a":1}', timeoutMs });

  it('connects to the resolved address with the name as Host, and reports the status only', async () => {
    const seen: Array<{ host?: string; test?: string; body: string }> = [];
    const port = await listen(
      createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ host: req.headers.host, test: req.headers['x-test'] as string, body });
          res.statusCode = 503;
          res.end('words of the receiver');
        });
      }),
    );
    // Resolved once, by us: the connection does not ask again (a second answer could differ).
    let lookups = 0;
    const counting = policy({
      allow: ['127.0.0.1'],
      lookup: async () => {
        lookups += 1;
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    expect(await counting.send(`http://hook.test:${port}/x`, request())).toEqual({
      outcome: 'answered',
      statusCode: 503,
    });
    expect(lookups).toBe(1);
    expect(seen).toEqual([{ host: `hook.test:${port}`, test: '1', body: '{"a":1}' }]);
  });

  it('sends nothing when a header cannot be sent', async () => {
    let calls = 0;
    const port = await listen(createServer((_req, res) => res.end(String(++calls))));
    const bad = { headers: { 'X-Humpback-Token': 'a\nb' }, body: '{}', timeoutMs: 1000 };
    expect(await allowed.send(`http://127.0.0.1:${port}/`, bad)).toMatchObject({
      outcome: 'failed',
      reason: 'could not send the request',
    });
    expect(calls).toBe(0);
  });

  it('says "no answer within" for a receiver that hangs', async () => {
    const port = await listen(createServer(() => undefined));
    expect(await allowed.send(`http://127.0.0.1:${port}/`, request(100))).toEqual({
      outcome: 'failed',
      reason: 'no answer within 0.1 s',
    });
  });

  it('says "connection refused" for a closed port and "not HTTP" for another protocol', async () => {
    const closed = await listen(createNetServer());
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    expect(await allowed.send(`http://127.0.0.1:${closed}/`, request())).toMatchObject({
      outcome: 'failed',
      reason: 'connection refused',
    });
    const port = await listen(createNetServer((socket) => socket.resume().end('SSH-2.0-OpenSSH_9.2\r\n')));
    expect(await allowed.send(`http://127.0.0.1:${port}/`, request())).toMatchObject({
      outcome: 'failed',
      reason: 'the answer was not HTTP',
    });
  });
});
