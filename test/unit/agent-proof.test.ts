import type os from 'node:os';
import { describe, expect, it } from 'vitest';
import { agentAddress, agentProof, ownAddresses, proofKey, verifyAgentProof } from '../../agent/auth.js';

const TOKEN = 'proof-test-token-0123456789';
const NONCE = 'bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2U';

function iface(address: string, family: 'IPv4' | 'IPv6', internal = false): os.NetworkInterfaceInfo {
  const base = { address, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null };
  return family === 'IPv4' ? { ...base, family } : { ...base, family, scopeid: 0 };
}

const interfaces = (): NodeJS.Dict<os.NetworkInterfaceInfo[]> => ({
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  eth0: [iface('10.0.0.5', 'IPv4'), iface('fd00::5', 'IPv6')],
});

describe('agent token proof', () => {
  it('binds the token, the nonce and the address', async () => {
    const key = await proofKey(TOKEN);
    const proof = agentProof(key, NONCE, '10.0.0.5:8500');
    expect(proof).toMatch(/^[0-9a-f]{64}$/);
    expect(agentProof(key, NONCE, '10.0.0.5:8500')).toBe(proof);
    expect(agentProof(key, `${NONCE}x`, '10.0.0.5:8500')).not.toBe(proof);
    expect(agentProof(key, NONCE, '10.0.0.6:8500')).not.toBe(proof);
    expect(agentProof(await proofKey(`${TOKEN}x`), NONCE, '10.0.0.5:8500')).not.toBe(proof);
    // The key is not the token itself: an HMAC keyed by the raw token does not match.
    expect(key.toString('utf8')).not.toBe(TOKEN);
  });

  it('verifies when one of the proofs matches (current or previous token), and ignores junk', async () => {
    const key = await proofKey(TOKEN);
    const other = await proofKey('another-token-0123456789');
    const good = agentProof(key, NONCE, '127.0.0.1:8500');
    const foreign = agentProof(other, NONCE, '127.0.0.1:8500');
    expect(verifyAgentProof(key, NONCE, '127.0.0.1:8500', [good])).toBe(true);
    expect(verifyAgentProof(key, NONCE, '127.0.0.1:8500', [foreign, good])).toBe(true);
    expect(verifyAgentProof(key, NONCE, '127.0.0.1:8500', [foreign])).toBe(false);
    expect(verifyAgentProof(key, NONCE, '127.0.0.1:8501', [good])).toBe(false);
    expect(verifyAgentProof(key, NONCE, '127.0.0.1:8500', [])).toBe(false);
    expect(verifyAgentProof(key, NONCE, '127.0.0.1:8500', [42, null, 'zz', good.toUpperCase()])).toBe(false);
  });

  it('writes addresses in one form', () => {
    expect(agentAddress('Node1.Example.COM', 8500)).toBe('node1.example.com:8500');
    expect(agentAddress('::1', 8500)).toBe('[::1]:8500');
    expect(agentAddress('[FD00::5]', 1)).toBe('[fd00::5]:1');
  });
});

describe('the addresses an agent signs for', () => {
  it('listening on every address: interfaces, hostname, localhost, DOCKER_AGENT_IPADDR', () => {
    const set = ownAddresses({
      listenHost: '0.0.0.0',
      port: 8500,
      ipAddress: '203.0.113.9',
      interfaces,
      hostname: () => 'Node1',
    });
    expect([...set].sort()).toEqual(
      ['10.0.0.5:8500', '127.0.0.1:8500', '203.0.113.9:8500', 'localhost:8500', 'node1:8500'].sort(),
    );
  });

  it('on :: also the IPv6 interface addresses', () => {
    const set = ownAddresses({ listenHost: '::', port: 8500, interfaces, hostname: () => 'n' });
    expect(set.has('[fd00::5]:8500')).toBe(true);
    expect(set.has('[::1]:8500')).toBe(true);
    expect(set.has('10.0.0.5:8500')).toBe(true);
  });

  it('listening on one address: only that one (and localhost for a loopback one)', () => {
    const loopback = ownAddresses({
      listenHost: '127.0.0.1',
      port: 4100,
      ipAddress: '10.0.0.5',
      interfaces,
      hostname: () => 'node1',
    });
    expect([...loopback].sort()).toEqual(['127.0.0.1:4100', 'localhost:4100']);
    const one = ownAddresses({ listenHost: '10.0.0.5', port: 8500, interfaces, hostname: () => 'node1' });
    expect([...one]).toEqual(['10.0.0.5:8500']);
  });

  it('adds HUMPBACK_AGENT_ADDRESSES, with the listen port unless they name one', () => {
    const set = ownAddresses({
      listenHost: '10.0.0.5',
      port: 8500,
      extra: ['node1.example.com', '203.0.113.5:18500', '[fd00::9]'],
    });
    expect([...set].sort()).toEqual(
      ['10.0.0.5:8500', '203.0.113.5:18500', '[fd00::9]:8500', 'node1.example.com:8500'].sort(),
    );
  });
});
