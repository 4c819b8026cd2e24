/**
 * Keeps this node registered in ZooKeeper: an ephemeral znode `<prefix>/<clusterName>/nodes/<key>`
 * holding humpback-agent's `{"key", "data"}` value, refreshed every heartbeat, recreated after a
 * session expiry, deleted on close. ZooKeeper trouble is logged and retried, never thrown: the REST
 * API does not depend on it.
 */
import zookeeper from 'node-zookeeper-client';
import type { Client, Stat } from 'node-zookeeper-client';
import type { Logger } from '../core/logger.js';
import { encodeNodeValue, type NodeData } from '../core/node-data.js';
import { call, openZookeeperClient } from '../core/zookeeper.js';

import type { NodeRegistrar, RegistrationState } from '../core/discovery.js';

export type { RegistrationState };

export interface ZookeeperRegistrationOptions {
  /** `host:port[,host:port]`. */
  connectionString: string;
  /** The znode, e.g. `/humpback/center/nodes/<key>`. */
  path: string;
  /** The node key (the znode's last component, and `key` in its value). */
  key: string;
  /** Fresh node data; when it fails, the last good data is published again. */
  data: () => Promise<NodeData>;
  heartbeatMs: number;
  /** @default three heartbeats, between 4 s and 30 s */
  sessionTimeoutMs?: number | undefined;
  log: Logger;
}

type Code = number;
const isCode = (err: unknown, code: Code): boolean =>
  typeof (err as { getCode?: () => number } | null)?.getCode === 'function' &&
  (err as { getCode(): number }).getCode() === code;

export class ZookeeperRegistration implements NodeRegistrar {
  private client: Client | undefined;
  private state: RegistrationState = { phase: 'connecting' };
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private lastData: NodeData | undefined;
  private readonly sessionTimeoutMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: ZookeeperRegistrationOptions) {
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? Math.min(30_000, Math.max(4_000, opts.heartbeatMs * 3));
    this.log = opts.log.child({ znode: opts.path });
  }

  /** Connects in the background and keeps the registration up until close(). */
  start(): void {
    this.connect();
    this.timer = setInterval(() => this.enqueue('refresh', () => this.refresh()), this.opts.heartbeatMs);
    this.timer.unref();
  }

  status(): RegistrationState {
    return this.state;
  }

  /** The current ZooKeeper session's id and password (diagnostics; tests use it to expire the session). */
  session(): { id: Buffer; password: Buffer } | undefined {
    const c = this.connected();
    return c ? { id: c.getSessionId(), password: c.getSessionPassword() } : undefined;
  }

  /** Deletes the znode (if ZooKeeper answers within a few seconds) and disconnects. */
  async close(): Promise<void> {
    if (this.state.phase === 'closed') return;
    // Registered, or registered and then cut off (the client queues the delete until it is back, for
    // a few seconds); a session that never registered, or expired, has no znode to delete.
    const mayHoldZnode = this.state.phase === 'registered' || this.state.phase === 'disconnected';
    this.state = { phase: 'closed' };
    clearInterval(this.timer);
    await Promise.race([this.queue, delay(2000)]);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (mayHoldZnode) {
      try {
        await this.call<void>((cb) => client.remove(this.opts.path, -1, cb), 3000);
        this.log.info('znode removed');
      } catch (err) {
        if (!isCode(err, zookeeper.Exception.NO_NODE))
          this.log.warn({ err: String(err) }, 'could not remove the znode');
      }
    }
    client.close();
  }

  private connect(): void {
    const client = openZookeeperClient(this.opts.connectionString, this.sessionTimeoutMs, 1000, this.log);
    this.client = client;
    client.on('state', (s) => {
      if (this.client !== client || this.state.phase === 'closed') return;
      if (s === zookeeper.State.SYNC_CONNECTED) {
        this.log.info('connected to ZooKeeper');
        this.enqueue('register', () => this.register());
      } else if (s === zookeeper.State.DISCONNECTED) {
        this.log.warn('lost ZooKeeper; reconnecting');
        this.state = { phase: 'disconnected', since: new Date() };
      } else if (s === zookeeper.State.EXPIRED) {
        // An expired session is dead for good: its ephemeral node is gone; start a new session.
        this.log.warn('ZooKeeper session expired; registering again with a new session');
        this.state = { phase: 'connecting' };
        client.close();
        this.connect();
      }
    });
    client.connect();
  }

  private enqueue(what: string, fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => {
      this.log.warn({ err: String(err) }, `ZooKeeper ${what} failed; will retry`);
    });
  }

  private connected(): Client | undefined {
    const c = this.client;
    if (!c || this.state.phase === 'closed') return undefined;
    return c.getState() === zookeeper.State.SYNC_CONNECTED ? c : undefined;
  }

  private async value(): Promise<Buffer> {
    try {
      this.lastData = await this.opts.data();
    } catch (err) {
      if (!this.lastData) throw err;
      this.log.warn({ err: String(err) }, 'node data unavailable; publishing the last known');
    }
    return encodeNodeValue(this.opts.key, this.lastData!);
  }

  private async register(): Promise<void> {
    const client = this.connected();
    if (!client) return;
    const value = await this.value();
    const parent = this.opts.path.slice(0, this.opts.path.lastIndexOf('/'));
    await this.call<string>((cb) => client.mkdirp(parent, cb));
    try {
      await this.call<string>((cb) =>
        client.create(this.opts.path, value, zookeeper.CreateMode.EPHEMERAL, cb),
      );
    } catch (err) {
      if (!isCode(err, zookeeper.Exception.NODE_EXISTS)) throw err;
      const stat = await this.call<Stat>((cb) => client.exists(this.opts.path, cb));
      if (stat && stat.ephemeralOwner.equals(client.getSessionId())) {
        await this.call<Stat>((cb) => client.setData(this.opts.path, value, -1, cb));
      } else {
        // Left by an earlier session of ours (or a node with the same key file): take it over.
        this.log.warn('znode held by another session; replacing it');
        await this.call<void>((cb) => client.remove(this.opts.path, -1, cb)).catch((e: unknown) => {
          if (!isCode(e, zookeeper.Exception.NO_NODE)) throw e;
        });
        await this.call<string>((cb) =>
          client.create(this.opts.path, value, zookeeper.CreateMode.EPHEMERAL, cb),
        );
      }
    }
    const now = new Date();
    this.state = { phase: 'registered', since: now, refreshedAt: now };
    this.log.info('registered in ZooKeeper');
  }

  private async refresh(): Promise<void> {
    const client = this.connected();
    if (!client) return;
    if (this.state.phase !== 'registered') return this.register();
    const value = await this.value();
    try {
      await this.call<Stat>((cb) => client.setData(this.opts.path, value, -1, cb));
      this.state = { ...this.state, refreshedAt: new Date() };
    } catch (err) {
      if (!isCode(err, zookeeper.Exception.NO_NODE)) throw err;
      this.log.warn('znode vanished; registering again');
      await this.register();
    }
  }

  private call<T>(
    fn: (cb: (err: unknown, result: T) => void) => void,
    timeoutMs = this.sessionTimeoutMs,
  ): Promise<T> {
    return call(fn, timeoutMs);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
