import { describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig, loadGatewayConfig } from '../../core/config.js';

const token = 'a-secret-of-16-chars+';

describe('agent config', () => {
  it('applies Humpback defaults', () => {
    const c = loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token });
    expect(c.dockerEndpoint).toBe('unix:///var/run/docker.sock');
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 8500 });
    expect(c.clusterEnabled).toBe(false);
    expect(c.clusterName).toBe('humpback/center');
    expect(c.heartbeatSeconds).toBe(10);
    expect(c.portsRange).toBeUndefined();
  });

  it('parses good values', () => {
    const c = loadAgentConfig({
      HUMPBACK_AGENT_TOKEN: token,
      DOCKER_ENDPOINT: 'tcp://10.0.0.5:2375',
      DOCKER_NODE_HTTPADDR: '127.0.0.1:9500',
      DOCKER_CLUSTER_ENABLED: 'TRUE',
      DOCKER_CLUSTER_URIS: 'zk://10.0.0.1:2181,10.0.0.2:2181/humpback',
      DOCKER_CLUSTER_NAME: '/prod/center/',
      DOCKER_CLUSTER_HEARTBEAT: '3',
      DOCKER_CONTAINER_PORTS_RANGE: '30000 - 32000',
    });
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 9500 });
    expect(c.clusterEnabled).toBe(true);
    expect(c.clusterUris).toEqual({
      backend: 'zk',
      connectionString: '10.0.0.1:2181,10.0.0.2:2181',
      prefix: '/humpback',
    });
    expect(c.clusterName).toBe('prod/center');
    expect(c.heartbeatSeconds).toBe(3);
    expect(c.portsRange).toEqual({ from: 30000, to: 32000 });
    expect(loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token, DOCKER_AGENT_IPADDR: ' 10.0.0.7' }).ipAddress).toBe(
      '10.0.0.7',
    );
  });

  it.each([
    ['DOCKER_ENDPOINT', 'docker.sock'],
    ['DOCKER_NODE_HTTPADDR', '0.0.0.0:99999'],
    ['DOCKER_NODE_HTTPADDR', 'localhost'],
    ['DOCKER_CLUSTER_ENABLED', 'maybe'],
    ['DOCKER_CLUSTER_URIS', 'http://zk:2181'],
    ['DOCKER_CLUSTER_URIS', 'zk://zk'],
    ['DOCKER_CLUSTER_HEARTBEAT', '0'],
    ['DOCKER_CLUSTER_HEARTBEAT', 'ten'],
    ['DOCKER_CLUSTER_HEARTBEAT', '8x'],
    ['DOCKER_CLUSTER_HEARTBEAT', '500ms'],
    ['DOCKER_CLUSTER_TTL', '-5s'],
    ['DOCKER_API_VERSION', 'latest'],
    ['DOCKER_CONTAINER_PORTS_RANGE', '32000-30000'],
    ['DOCKER_CONTAINER_PORTS_RANGE', '1-70000'],
    ['DOCKER_CLUSTER_NAME', 'has space'],
    ['HUMPBACK_AGENT_TOKEN', 'short'],
    ['HUMPBACK_AGENT_TOKEN_PREVIOUS', 'short'],
    ['HUMPBACK_AGENT_TOKEN_PREVIOUS', token],
    ['HUMPBACK_AGENT_ADDRESSES', 'node1,has space'],
    ['HUMPBACK_AGENT_ADDRESSES', 'node1:70000'],
    ['HUMPBACK_AGENT_ADDRESSES', 'http://node1'],
    ['DOCKER_AGENT_IPADDR', '10.0.0.300'],
  ])('names %s when it is %j', (variable, value) => {
    const env = { HUMPBACK_AGENT_TOKEN: token, [variable]: value };
    expect(() => loadAgentConfig(env)).toThrow(ConfigError);
    expect(() => loadAgentConfig(env)).toThrow(new RegExp(`^${variable}: expected `));
  });

  it('takes the previous token during a rotation, and more addresses for the token challenge', () => {
    const c = loadAgentConfig({
      HUMPBACK_AGENT_TOKEN: token,
      HUMPBACK_AGENT_TOKEN_PREVIOUS: 'the-old-secret-of-16-chars',
      HUMPBACK_AGENT_ADDRESSES: ' Node1.Example.com, 203.0.113.5:18500,[fd00::5] ',
    });
    expect(c.previousAgentToken).toBe('the-old-secret-of-16-chars');
    expect(c.advertisedAddresses).toEqual(['node1.example.com', '203.0.113.5:18500', '[fd00::5]']);
    const plain = loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token });
    expect(plain.previousAgentToken).toBeUndefined();
    expect(plain.advertisedAddresses).toBeUndefined();
  });

  it('refuses a previous token equal to the current one, without echoing it', () => {
    let message = '';
    try {
      loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token, HUMPBACK_AGENT_TOKEN_PREVIOUS: token });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^HUMPBACK_AGENT_TOKEN_PREVIOUS: expected .*different from HUMPBACK_AGENT_TOKEN/);
    expect(message).not.toContain(token);
  });

  it('refuses to run without a token', () => {
    expect(() => loadAgentConfig({})).toThrow(/^HUMPBACK_AGENT_TOKEN: expected .*refuses/);
  });

  it("takes Humpback v1's names and Go durations", () => {
    const c = loadAgentConfig({
      HUMPBACK_AGENT_TOKEN: token,
      DOCKER_CLUSTER_HEARTBEAT: '8s',
      DOCKER_CLUSTER_TTL: '1m30s',
      DOCKER_API_VERSION: '1.41',
    });
    expect([c.heartbeatSeconds, c.clusterTtlSeconds, c.dockerApiVersion]).toEqual([8, 90, 'v1.41']);
    expect(
      loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token, DOCKER_CLUSTER_HEARTBEAT: '1500ms' }).heartbeatSeconds,
    ).toBe(1.5);
    expect(loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token }).clusterTtlSeconds).toBe(30);
  });

  it('takes etcd:// and says in one line that consul:// is not supported', () => {
    const c = loadAgentConfig({
      HUMPBACK_AGENT_TOKEN: token,
      DOCKER_CLUSTER_ENABLED: 'true',
      DOCKER_CLUSTER_URIS: 'etcd://10.0.0.1:2379,10.0.0.2:2379/humpback',
    });
    expect(c.clusterUris).toEqual({
      backend: 'etcd',
      connectionString: '10.0.0.1:2379,10.0.0.2:2379',
      prefix: '/humpback',
    });
    expect(() =>
      loadGatewayConfig({ HUMPBACK_AGENT_TOKEN: token, DOCKER_CLUSTER_URIS: 'consul://10.0.0.1:8500' }),
    ).toThrow(
      /^DOCKER_CLUSTER_URIS: expected .*consul:\/\/ is not supported: no Consul server is packaged for Debian.*, got "consul:\/\/10\.0\.0\.1:8500"$/,
    );
  });

  it('says in one line what a bad duration should look like', () => {
    expect(() => loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token, DOCKER_CLUSTER_HEARTBEAT: '8x' })).toThrow(
      /^DOCKER_CLUSTER_HEARTBEAT: expected a duration of at least 1 s, in seconds \(45\) or Go's form \(8s, 1m, 1m30s\), got "8x"$/,
    );
  });

  it('asks for ZooKeeper when the cluster is enabled', () => {
    expect(() => loadAgentConfig({ HUMPBACK_AGENT_TOKEN: token, DOCKER_CLUSTER_ENABLED: '1' })).toThrow(
      /^DOCKER_CLUSTER_URIS: /,
    );
  });
});

describe('gateway config', () => {
  it('applies defaults', () => {
    const c = loadGatewayConfig({ HUMPBACK_AGENT_TOKEN: token });
    expect(c.listen.port).toBe(8100);
    expect(c.redisUrl).toBeUndefined();
    expect(c.migrateDelaySeconds).toBe(45);
    expect(c.recoveryIntervalSeconds).toBe(120);
    expect(c.removeDelaySeconds).toBe(0);
    expect(c.adminPassword).toBeUndefined();
    expect(c.webhookAllow).toEqual([]);
    expect(c.trustedProxies).toEqual([]);
  });

  it("takes humpback-center's names and durations, ours first", () => {
    const v1 = loadGatewayConfig({
      HUMPBACK_AGENT_TOKEN: token,
      CENTER_LISTEN_PORT: ':8589',
      CENTER_CLUSTER_MIGRATEDELAY: '45s',
      CENTER_CLUSTER_RECOVERYINTERVAL: '1m',
      CENTER_CLUSTER_REMOVEDELAY: '8s',
      DOCKER_CLUSTER_TTL: '35s',
    });
    expect([
      v1.listen,
      v1.migrateDelaySeconds,
      v1.recoveryIntervalSeconds,
      v1.removeDelaySeconds,
      v1.clusterTtlSeconds,
    ]).toEqual([{ host: '0.0.0.0', port: 8589 }, 45, 60, 8, 35]);
    const both = loadGatewayConfig({
      HUMPBACK_AGENT_TOKEN: token,
      HUMPBACK_LISTEN: '127.0.0.1:8100',
      CENTER_LISTEN_PORT: '8589',
      CENTER_MIGRATE_DELAY: '10',
      CENTER_CLUSTER_MIGRATEDELAY: '45s',
    });
    expect([both.listen, both.migrateDelaySeconds]).toEqual([{ host: '127.0.0.1', port: 8100 }, 10]);
  });

  it('reads the ranges webhooks may reach', () => {
    const c = loadGatewayConfig({
      HUMPBACK_AGENT_TOKEN: token,
      HUMPBACK_WEBHOOK_ALLOW: ' 10.20.0.0/16, 127.0.0.1 ,fd00::/8',
    });
    expect(c.webhookAllow).toEqual(['10.20.0.0/16', '127.0.0.1/32', 'fd00::/8']);
  });

  it('reads HUMPBACK_TRUSTED_PROXIES as address/prefix ranges', () => {
    const c = loadGatewayConfig({
      HUMPBACK_AGENT_TOKEN: token,
      HUMPBACK_TRUSTED_PROXIES: '10.0.0.2, 192.168.0.0/16,FD00::/8,::1',
    });
    expect(c.trustedProxies).toEqual(['10.0.0.2/32', '192.168.0.0/16', 'fd00::/8', '::1/128']);
  });

  it.each([
    ['HUMPBACK_REDIS_URL', 'localhost:6379'],
    ['HUMPBACK_ADMIN_PASSWORD', 'short'],
    ['CENTER_MIGRATE_DELAY', '-1'],
    ['CENTER_RECOVERY_INTERVAL', '0'],
    ['CENTER_REMOVE_DELAY', '1.5'],
    ['CENTER_CLUSTER_MIGRATEDELAY', '45 seconds'],
    ['CENTER_CLUSTER_RECOVERYINTERVAL', '0s'],
    ['CENTER_CLUSTER_REMOVEDELAY', 'soon'],
    ['CENTER_LISTEN_PORT', ':99999'],
    ['DOCKER_CLUSTER_TTL', '1h-'],
    ['HUMPBACK_LISTEN', ':x'],
    ['HUMPBACK_WEBHOOK_ALLOW', '10.0.0.0/33'],
    ['HUMPBACK_WEBHOOK_ALLOW', 'intranet.example.com'],
    ['HUMPBACK_WEBHOOK_ALLOW', '10.0.0.0/8,,192.168.0.0/16'],
    ['HUMPBACK_TRUSTED_PROXIES', '10.0.0.0/33'],
    ['HUMPBACK_TRUSTED_PROXIES', '10.0.0.1,,10.0.0.2'],
    ['HUMPBACK_TRUSTED_PROXIES', 'proxy.example.com'],
    ['HUMPBACK_TRUSTED_PROXIES', '::1/129'],
  ])('names %s when it is %j', (variable, value) => {
    expect(() => loadGatewayConfig({ HUMPBACK_AGENT_TOKEN: token, [variable]: value })).toThrow(
      new RegExp(`^${variable}: expected `),
    );
  });
});
