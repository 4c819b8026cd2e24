import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadAgentConfig, loadGatewayConfig, type GatewayConfig } from '../../core/config.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import { startGateway, type RunningGateway, type StartGatewayOptions } from '../../gateway/main.js';
import { waitFor, type TestEngine } from '../helpers/test-env.js';

export const AGENT_TOKEN = 'test-agent-token-0123456789';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

/** Temporary directories, removed by cleanup(). */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** An agent in this process for one test engine, on 127.0.0.1 and a free port. */
export async function startTestAgent(
  engine: TestEngine,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<RunningAgent & { address: string }> {
  const config = loadAgentConfig({
    DOCKER_ENDPOINT: engine.dockerEndpoint,
    DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
    HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
    HUMPBACK_DATA_DIR: dataDir,
    DOCKER_AGENT_IPADDR: engine.ip,
    ...env,
  });
  const agent = await startAgent(config);
  return Object.assign(agent, { address: new URL(agent.url).host });
}

export function gatewayConfig(env: Record<string, string>): GatewayConfig {
  return loadGatewayConfig({
    HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
    HUMPBACK_LISTEN: '127.0.0.1:0',
    HUMPBACK_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...env,
  });
}

/** A gateway with short watcher intervals so tests do not wait on defaults. */
export function startTestGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  return startGateway({
    watcher: { healthIntervalMs: 300, failureThreshold: 2, checkTimeoutMs: 2000, eventRetryWait: () => 200 },
    webUi: false,
    ...options,
  });
}

export interface GraphQLResponse<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A GraphQL client over HTTP (queries, mutations) and graphql-ws (subscriptions). */
export class TestClient {
  token: string | undefined;
  private ws: Client | undefined;

  constructor(readonly url: string) {}

  async raw<T>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GraphQLResponse<T>;
  }

  /** Data, or throws with the errors' codes and messages. */
  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const result = await this.raw<T>(query, variables);
    if (result.errors?.length) {
      const err = new Error(result.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
      Object.assign(err, { codes: result.errors.map((e) => e.extensions?.code) });
      throw err;
    }
    return result.data as T;
  }

  /** The first error's code (or undefined when it succeeded). */
  async errorCode(query: string, variables: Record<string, unknown> = {}): Promise<string | undefined> {
    const result = await this.raw(query, variables);
    return result.errors?.[0]?.extensions?.code;
  }

  async login(username = 'admin', password = ADMIN_PASSWORD): Promise<void> {
    const data = await this.request<{ login: { token: string } }>(
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
      { u: username, p: password },
    );
    this.token = data.login.token;
  }

  /** Subscribes; the recorder collects every payload. Resolves once the server acknowledged. */
  async subscribe<T>(query: string, variables: Record<string, unknown> = {}): Promise<Recorder<T>> {
    if (!this.ws) {
      let acked!: () => void;
      const ack = new Promise<void>((resolve) => (acked = resolve));
      this.ws = createClient({
        url: this.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${this.token}` },
        lazy: false,
        retryAttempts: 0,
        on: { connected: () => acked() },
      });
      await ack;
    }
    const recorder = new Recorder<T>();
    recorder.stop = this.ws.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.data) recorder.push(value.data as T);
          if (value.errors) recorder.errors.push(value.errors);
        },
        error: (err) => recorder.errors.push(err),
        complete: () => undefined,
      },
    );
    // graphql-ws gives no "subscribed" signal; the server registers the listener right after it
    // receives the message, which a round trip over HTTP afterwards reliably outlasts.
    await this.raw('{ me { id } }');
    return recorder;
  }

  async close(): Promise<void> {
    await this.ws?.dispose();
    this.ws = undefined;
  }
}

/** Collects values; `next` waits (with a deadline) for one that matches. */
export class Recorder<T> {
  readonly seen: T[] = [];
  readonly errors: unknown[] = [];
  stop: () => void = () => undefined;
  private waiters: Array<{ test: (m: T) => boolean; resolve: (m: T) => void }> = [];

  push(value: T): void {
    this.seen.push(value);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(value)) return true;
      w.resolve(value);
      return false;
    });
  }

  next(test: (m: T) => boolean, timeoutMs = 10_000, what = 'a matching event'): Promise<T> {
    const found = this.seen.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no ${what} within ${timeoutMs} ms (saw ${JSON.stringify(this.seen).slice(0, 1500)})`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
}

/** A container that prints a line, then idles and exits promptly on SIGTERM. */
export function idleContainer(name: string, image: string): Record<string, unknown> {
  return {
    name,
    image,
    networkMode: 'none',
    command: ['sh', '-c', 'echo hello-from-$HOSTNAME; trap "exit 0" TERM; while true; do sleep 1; done'],
    hostname: 'hbtest',
  };
}

/** Waits until `count` of the group's nodes are HEALTHY; resolves to them. */
export function healthyNodes(
  client: TestClient,
  groupId: string,
  count = 1,
): Promise<Array<{ id: string; ip: string }>> {
  return waitFor(
    async () => {
      const { nodes } = await client.request<{ nodes: Array<{ id: string; ip: string; status: string }> }>(
        'query($g: ID) { nodes(groupId: $g) { id ip status } }',
        { g: groupId },
      );
      const healthy = nodes.filter((n) => n.status === 'HEALTHY');
      return healthy.length >= count ? healthy : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200, description: `${count} healthy node(s) in group ${groupId}` },
  );
}
