import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createConnection, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../core/config.js';
import { AgentClient } from '../../agent/client.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import {
  dockerFor,
  engineNamed,
  loadTestEnv,
  waitFor,
  type TestEngine,
  removeContainersNamed,
} from '../helpers/test-env.js';
import {
  AGENT_TOKEN,
  TempDirs,
  TestClient,
  gatewayConfig,
  idleContainer,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

/** Every byte a listener received, as text, and how many HTTP requests were among them. */
interface Listener {
  address: string;
  received(): string;
  requests(): number;
  close(): Promise<void>;
}

/** Records every byte of every connection into `sink`. */
function record(socket: Socket, sink: Buffer[]): void {
  socket.on('data', (chunk: Buffer) => sink.push(chunk));
}

const requestCount = (text: string): number =>
  // A request line follows the previous body directly on a kept-alive connection: no `^`.
  (text.match(/(GET|POST|PUT|DELETE) \/\S* HTTP\/1\.1\r\n/g) ?? []).length;

async function listen(server: Server | HttpServer, port = 0): Promise<string> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A plain HTTP listener that pretends to be an agent as well as it can without the token: it answers
 * the challenge with a made-up proof and everything else with 200 `{}`.
 */
async function fakeAgent(): Promise<Listener> {
  const bytes: Buffer[] = [];
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/auth/challenge') {
        res.end(JSON.stringify({ Address: 'x', Proofs: [randomBytes(32).toString('hex')] }));
      } else res.end('{}');
    });
  });
  server.on('connection', (socket: Socket) => record(socket, bytes));
  const address = await listen(server);
  const received = (): string => Buffer.concat(bytes).toString('latin1');
  return {
    address,
    received,
    requests: () => requestCount(received()),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP relay to a real agent: forwards every byte both ways, recording what the gateway sends.
 * `target` may be given later (`relay.target = ...`); `port` reuses a port.
 */
async function tcpRelay(
  target: string,
  port = 0,
  bytes: Buffer[] = [],
): Promise<Listener & { target: string }> {
  const sockets = new Set<Socket>();
  const relay = { target };
  const server = createTcpServer((client) => {
    const [host, targetPort] = relay.target.split(':');
    const upstream = createConnection({ host: host!, port: Number(targetPort) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    record(client, bytes);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const address = await listen(server, port);
  const received = (): string => Buffer.concat(bytes).toString('latin1');
  return Object.assign(relay, {
    address,
    received,
    requests: () => requestCount(received()),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/**
 * An HTTP relay that passes the gateway's challenge to a real agent with the address rewritten to the
 * agent's own (which the agent signs), and hands the agent's genuine proof back.
 */
async function provingRelay(
  agentUrl: string,
  agentAddress: string,
): Promise<Listener & { proofs(): number }> {
  const bytes: Buffer[] = [];
  let proofs = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const forwarded =
          req.url === '/v1/auth/challenge'
            ? JSON.stringify({ ...(JSON.parse(body) as object), Address: agentAddress })
            : body;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (req.headers.authorization) headers['authorization'] = req.headers.authorization;
        const answer = await fetch(`${agentUrl}${req.url}`, {
          method: req.method ?? 'GET',
          headers,
          ...(forwarded && req.method !== 'GET' ? { body: forwarded } : {}),
        });
        const text = await answer.text();
        if (req.url === '/v1/auth/challenge' && answer.ok && text.includes('"Proofs"')) proofs++;
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(text);
      })().catch(() => res.destroy());
    });
  });
  server.on('connection', (socket: Socket) => record(socket, bytes));
  const address = await listen(server);
  const received = (): string => Buffer.concat(bytes).toString('latin1');
  return {
    address,
    received,
    requests: () => requestCount(received()),
    proofs: () => proofs,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface NodeView {
  id: string;
  ip: string;
  status: string;
  apiAddr: string;
}

/**
 * The gateway sends the agent token only to agents that proved they hold it: listeners and relays
 * added as group servers never see it, real agents keep working, and the token can be rotated.
 */
describe('agent token proof', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const NEW_TOKEN = `rotated-agent-token-${suffix}-0123456789`;
  const agents: RunningAgent[] = [];
  const listeners: Listener[] = [];
  const logLines: string[] = [];
  let agent1: RunningAgent & { address: string };
  let gateway: RunningGateway | undefined;
  let client: TestClient;
  let groupId: string;

  const containerPrefix = `hbproof-${suffix}`;

  async function nodes(): Promise<NodeView[]> {
    const data = await client.request<{ nodes: NodeView[] }>(
      'query($g: ID!) { nodes(groupId: $g) { id ip status apiAddr } }',
      { g: groupId },
    );
    return data.nodes;
  }

  async function addServer(address: string): Promise<void> {
    await client.request('mutation($g: ID!, $a: String!) { addServer(groupId: $g, address: $a) { id } }', {
      g: groupId,
      a: address,
    });
  }

  /** Creates a container on the node through the gateway, then removes it. */
  async function roundTrip(nodeId: string, what: string): Promise<void> {
    const { createContainer } = await client.request<{ createContainer: { id: string; state: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id state } }',
      { n: nodeId, c: idleContainer(`${containerPrefix}-${what}`, env.image) },
    );
    expect(createContainer.state).toBe('RUNNING');
    await client.request('mutation($id: ID!) { removeContainer(id: $id, force: true) }', {
      id: createContainer.id,
    });
  }

  function agentWith(engine: TestEngine, env2: Record<string, string>): Promise<RunningAgent> {
    return startAgent(
      loadAgentConfig({
        DOCKER_ENDPOINT: engine.dockerEndpoint,
        DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
        DOCKER_AGENT_IPADDR: engine.ip,
        ...env2,
      }),
    );
  }

  beforeAll(async () => {
    agent1 = await startTestAgent(engineNamed(env, 'n1'), tmp.make('hb-proof-n1-'));
    agents.push(agent1);
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-proof-gw-') }),
      logger,
    });
    client = new TestClient(gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `hbproof-${suffix}`, clusterMode: false, servers: [agent1.address] } },
    );
    groupId = createGroup.id;
    await waitFor(async () => (await nodes()).some((n) => n.status === 'HEALTHY'), {
      timeoutMs: 15_000,
      description: 'the real agent HEALTHY',
    });
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    for (const l of listeners) await l.close().catch(() => undefined);
    await removeContainersNamed(env, ['n1', 'n2'], containerPrefix);
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('never sends the token to a listener added as a server, while the real agent keeps working', async () => {
    const fake = await fakeAgent();
    listeners.push(fake);
    await addServer(fake.address);
    // The gateway keeps asking it (each health check is a challenge) and never gets further.
    await waitFor(() => fake.requests() >= 5, { timeoutMs: 15_000, description: '5 requests' });
    const node1 = (await nodes()).find((n) => n.status === 'HEALTHY')!;
    await roundTrip(node1.id, 'beside-fake');
    await waitFor(() => fake.requests() >= 7, { timeoutMs: 15_000, description: '7 requests' });

    const seen = fake.received();
    expect(seen).not.toContain(AGENT_TOKEN);
    expect(seen.toLowerCase()).not.toContain('authorization');
    // Challenges, and nothing else.
    expect(seen.match(/POST \/v1\/auth\/challenge HTTP\/1\.1\r\n/g)?.length).toBe(fake.requests());
    // It is not a node, and the one real node is still the only one.
    const list = await nodes();
    expect(list.map((n) => n.apiAddr)).toEqual([agent1.address]);
    const reason = await gateway!.core.pool
      .get(fake.address)
      .ping()
      .then(
        () => 'answered',
        (err: Error & { extensions?: { code?: string } }) => `${err.extensions?.code}: ${err.message}`,
      );
    expect(reason).toMatch(
      new RegExp(
        `^NODE_UNAVAILABLE: .*the agent at ${fake.address.replace(/\./g, '\\.')} could not prove it holds HUMPBACK_AGENT_TOKEN \\(its proof does not match`,
      ),
    );
    expect(fake.received()).not.toContain(AGENT_TOKEN);
  });

  it('refuses a relay that forwards the challenge to a real agent as it is', async () => {
    const relay = await tcpRelay(agent1.address);
    listeners.push(relay);
    await addServer(relay.address);
    await waitFor(() => relay.requests() >= 5, { timeoutMs: 15_000, description: '5 relayed requests' });
    expect(relay.received()).not.toContain(AGENT_TOKEN);
    expect(relay.received()).toMatch(/POST \/v1\/auth\/challenge HTTP\/1\.1\r\n/);
    expect(relay.received().toLowerCase()).not.toContain('authorization');
    expect((await nodes()).map((n) => n.apiAddr)).toEqual([agent1.address]);
    await expect(gateway!.core.pool.get(relay.address).ping()).rejects.toMatchObject({
      extensions: { code: 'NODE_UNAVAILABLE' },
      message: expect.stringContaining(
        `could not prove it holds HUMPBACK_AGENT_TOKEN (it does not answer for ${relay.address}`,
      ),
    });
  });

  it("refuses a relay that hands back the real agent's proof for the agent's own address", async () => {
    const relay = await provingRelay(agent1.url, agent1.address);
    listeners.push(relay);
    await addServer(relay.address);
    // The agent did sign (for its own address) and the relay passed the proof on: still refused.
    await waitFor(() => relay.proofs() >= 5, { timeoutMs: 15_000, description: '5 genuine proofs relayed' });
    expect(relay.received()).not.toContain(AGENT_TOKEN);
    expect(relay.received().toLowerCase()).not.toContain('authorization');
    expect((await nodes()).map((n) => n.apiAddr)).toEqual([agent1.address]);
    await expect(gateway!.core.pool.get(relay.address).ping()).rejects.toMatchObject({
      extensions: { code: 'NODE_UNAVAILABLE' },
      message: expect.stringContaining('its proof does not match'),
    });
    expect(logLines.join('')).toContain(`"address":"${relay.address}"`);
    expect(logLines.join('')).toMatch(/agent not verified/);
    // The real agent behind it works as before.
    const node1 = (await nodes()).find((n) => n.apiAddr === agent1.address)!;
    expect(node1.status).toBe('HEALTHY');
    await roundTrip(node1.id, 'beside-relay');
  });

  describe('rotating the token', () => {
    const n2 = engineNamed(env, 'n2');
    const n2Data = tmp.make('hb-proof-n2-');
    let rotating: RunningAgent;
    let address: string;
    let nodeId: string;

    it('an agent with the new token and the previous one serves the gateway that still has the old one', async () => {
      rotating = await agentWith(n2, {
        HUMPBACK_AGENT_TOKEN: NEW_TOKEN,
        HUMPBACK_AGENT_TOKEN_PREVIOUS: AGENT_TOKEN,
        HUMPBACK_DATA_DIR: n2Data,
      });
      agents.push(rotating);
      address = new URL(rotating.url).host;
      await addServer(address);
      const node = await waitFor(
        async () => (await nodes()).find((n) => n.apiAddr === address && n.status === 'HEALTHY'),
        { timeoutMs: 15_000, description: 'the rotating agent HEALTHY' },
      );
      nodeId = node.id;
      expect(node.ip).toBe(n2.ip);
      await roundTrip(nodeId, 'rotating-old');
    });

    it('and a gateway that has the new token at the same time', async () => {
      const next = await startTestGateway({
        config: gatewayConfig({
          HUMPBACK_DATA_DIR: tmp.make('hb-proof-gw2-'),
          HUMPBACK_AGENT_TOKEN: NEW_TOKEN,
        }),
      });
      const nextClient = new TestClient(next.url);
      try {
        await nextClient.login();
        const { createGroup } = await nextClient.request<{ createGroup: { id: string } }>(
          'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
          { input: { name: `hbproof-new-${suffix}`, clusterMode: false, servers: [address] } },
        );
        await waitFor(
          async () => {
            const data = await nextClient.request<{ nodes: NodeView[] }>(
              'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id } }',
              { g: createGroup.id },
            );
            return data.nodes.length === 1;
          },
          { timeoutMs: 15_000, description: 'HEALTHY through the gateway with the new token' },
        );
        // The old gateway is still served all along.
        await roundTrip(nodeId, 'rotating-both');
      } finally {
        await nextClient.close();
        await next.close();
      }
    });

    it('an agent that no longer takes the old token is NODE_UNAVAILABLE to the old gateway, saying why', async () => {
      const events = await client.subscribe<{ nodeStatusChanged: { node: { id: string; status: string } } }>(
        'subscription($g: ID) { nodeStatusChanged(groupId: $g) { node { id status } } }',
        { g: groupId },
      );
      // The rotation finished on the agent (previous token dropped) but this gateway was missed.
      await rotating.close();
      const port = Number(address.split(':')[1]);
      rotating = await agentWith(n2, {
        HUMPBACK_AGENT_TOKEN: NEW_TOKEN,
        HUMPBACK_DATA_DIR: n2Data,
        DOCKER_NODE_HTTPADDR: `127.0.0.1:${port}`,
      });
      agents.push(rotating);
      await events.next(
        (e) => e.nodeStatusChanged.node.id === nodeId && e.nodeStatusChanged.node.status === 'UNHEALTHY',
        15_000,
        'UNHEALTHY after the token changed',
      );
      events.stop();
      await expect(gateway!.core.pool.get(address).ping()).rejects.toMatchObject({
        extensions: { code: 'NODE_UNAVAILABLE' },
        message: expect.stringContaining(
          `the agent at ${address} could not prove it holds HUMPBACK_AGENT_TOKEN (its proof does not match`,
        ),
      });
      expect(
        await client.errorCode(
          'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
          { n: nodeId, c: idleContainer(`${containerPrefix}-refused`, env.image) },
        ),
      ).toBe('NODE_UNAVAILABLE');
      // The watcher says why, once, and keeps the node UNHEALTHY while it cannot prove.
      const line = await waitFor(
        () => logLines.find((l) => l.includes('agent not verified') && l.includes(address)),
        { timeoutMs: 10_000, description: 'the watcher logging the reason' },
      );
      expect(line).toContain('its proof does not match');
      expect((await nodes()).find((n) => n.id === nodeId)?.status).toBe('UNHEALTHY');
      const containers = await dockerFor(n2).listContainers({
        all: true,
        filters: { name: [`${containerPrefix}-refused`] },
      });
      expect(containers).toEqual([]);
    });
  });
});

/**
 * What the proof costs: one challenge before the first request, none per request while it is fresh,
 * another once it is older than proofTtlMs or after a connection failure. A TCP forwarder in front of
 * the agent counts them; the agent signs for the forwarder's address because HUMPBACK_AGENT_ADDRESSES
 * names it (as an operator does for a NAT or proxy address).
 */
describe('agent token proof: cost', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const bytes: Buffer[] = [];
  let relay: (Listener & { target: string }) | undefined;
  let agent: RunningAgent | undefined;

  afterAll(async () => {
    await relay?.close();
    await agent?.close();
    tmp.cleanup();
  });

  it('proves once per connection or proof lifetime, not per request', async () => {
    relay = await tcpRelay('127.0.0.1:1', 0, bytes);
    const engine = engineNamed(env, 'n3');
    agent = await startAgent(
      loadAgentConfig({
        DOCKER_ENDPOINT: engine.dockerEndpoint,
        DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
        HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
        HUMPBACK_DATA_DIR: tmp.make('hb-proof-cost-'),
        HUMPBACK_AGENT_ADDRESSES: relay.address,
      }),
    );
    relay.target = new URL(agent.url).host;
    let now = 1_000_000;
    const client = new AgentClient({
      address: relay.address,
      token: AGENT_TOKEN,
      proofTtlMs: 60_000,
      now: () => now,
    });
    const challenges = (): number =>
      Buffer.concat(bytes).toString('latin1').split('POST /v1/auth/challenge HTTP/1.1').length - 1;
    const requests = (): number => requestCount(Buffer.concat(bytes).toString('latin1'));

    await Promise.all([client.ping(), client.ping(), client.ping()]);
    for (let i = 0; i < 10; i++) await client.listContainers();
    expect(challenges()).toBe(1);
    expect(requests()).toBe(14);

    now += 60_000;
    await client.ping();
    expect(challenges()).toBe(2);

    // The forwarder goes away (a connection failure), then comes back on the same port.
    const port = Number(relay.address.split(':')[1]);
    await relay.close();
    await expect(client.ping()).rejects.toMatchObject({ name: 'AgentUnreachableError' });
    relay = await tcpRelay(relay.target, port, bytes);
    await client.ping();
    await client.ping();
    expect(challenges()).toBe(3);
  });
});
