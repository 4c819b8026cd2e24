import zookeeper from 'node-zookeeper-client';
import type { Client, Event } from 'node-zookeeper-client';
import type { Logger } from '../../core/logger.js';
import { call, isZkCode, openZookeeperClient } from '../../core/zookeeper.js';
import { decodeNodeValue, type NodeRegistration } from '../../core/node-data.js';
import type { DiscoveryListener, NodeDiscovery } from '../../core/discovery.js';

/**
 * Cluster-mode discovery: watches `<prefix>/<clusterName>/nodes` in ZooKeeper, where every agent
 * keeps an ephemeral znode whose value is humpback-agent's `{"key","data": base64 NodeData}`.
 * Reports nodes appearing or changing (`nodeUp`), their znode going away (`nodeDown`: the agent's
 * session expired), and the gateway's own connection (`connection`): while it is down nothing can be
 * concluded about the nodes, so the scheduler freezes migrations.
 */
export type { DiscoveryListener };

export interface ZookeeperDiscoveryOptions {
  /** `host:port,host:port`. */
  connectionString: string;
  /** The nodes folder, e.g. `/humpback/center/nodes` (core/zookeeper.ts nodesPath). */
  path: string;
  listener: DiscoveryListener;
  /** @default 10_000 */
  sessionTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
}

/** How many znodes the listing reads at a time. */
const READ_BATCH = 500;

export class ZookeeperDiscovery implements NodeDiscovery {
  private client: Client | undefined;
  private readonly known = new Map<string, NodeRegistration>();
  private readonly sessionTimeoutMs: number;
  private closed = false;
  private connected = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: ZookeeperDiscoveryOptions) {
    this.sessionTimeoutMs = o.sessionTimeoutMs ?? 10_000;
  }

  /**
   * Connects and starts watching; resolves after the first listing, or rejects if ZooKeeper is not
   * reached within the session timeout. Once connected, the first listing may take longer than that
   * (thousands of znodes on a busy ZooKeeper): it is waited for, each of its requests with its own
   * deadline.
   */
  async start(): Promise<void> {
    const first = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        if (!this.connected) reject(new Error(`ZooKeeper ${this.o.connectionString} unreachable`));
      }, this.sessionTimeoutMs);
      this.connect(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await first;
  }

  /** The nodes currently registered. */
  nodes(): NodeRegistration[] {
    return [...this.known.values()];
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain.catch(() => undefined);
    this.client?.close();
    this.client = undefined;
  }

  private connect(onFirstList?: () => void): void {
    const client = openZookeeperClient(this.o.connectionString, this.sessionTimeoutMs, 1000, this.o.logger);
    this.client = client;
    client.on('state', (s) => {
      if (this.client !== client || this.closed) return;
      if (s === zookeeper.State.SYNC_CONNECTED) {
        this.setConnected(true);
        this.enqueue(async () => {
          await this.list();
          onFirstList?.();
          onFirstList = undefined;
        });
      } else if (s === zookeeper.State.DISCONNECTED) {
        this.o.logger?.warn({ path: this.o.path }, 'discovery lost ZooKeeper; migrations are held');
        this.setConnected(false);
      } else if (s === zookeeper.State.EXPIRED) {
        // A new session sees the nodes afresh; what changed meanwhile is reconciled by the listing.
        this.setConnected(false);
        client.close();
        this.connect(onFirstList);
      }
    });
    client.connect();
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.o.listener.connection(connected);
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err: unknown) => {
      this.o.logger?.warn({ err: String(err), path: this.o.path }, 'discovery listing failed; retrying');
      if (!this.closed) setTimeout(() => this.enqueue(() => this.list()), 1000).unref();
    });
  }

  /** Lists the children (re-arming the watch) and reads every new or changed one. */
  private async list(): Promise<void> {
    const client = this.client;
    if (!client || this.closed) return;
    await call<string>((cb) => client.mkdirp(this.o.path, cb), this.sessionTimeoutMs);
    const children = await call<string[]>(
      (cb) =>
        client.getChildren(
          this.o.path,
          (event: Event) => {
            if (event.getType() === zookeeper.Event.NODE_CHILDREN_CHANGED) this.enqueue(() => this.list());
          },
          cb,
        ),
      this.sessionTimeoutMs,
    );
    const present = new Set(children);
    for (const key of [...this.known.keys()]) {
      if (!present.has(key)) {
        this.known.delete(key);
        this.o.listener.nodeDown(key);
      }
    }
    // Bounded batches: 5,000 reads at once queue behind each other past their deadlines on a busy
    // ZooKeeper (and the first listing then fails and starts over).
    const fresh = children.filter((k) => !this.known.has(k));
    const t0 = performance.now();
    for (let i = 0; i < fresh.length; i += READ_BATCH) {
      if (this.closed || this.client !== client) return;
      await Promise.all(fresh.slice(i, i + READ_BATCH).map((k) => this.read(k)));
    }
    if (fresh.length >= READ_BATCH)
      this.o.logger?.info(
        { path: this.o.path, znodes: fresh.length, ms: Math.round(performance.now() - t0) },
        'discovery read the new znodes',
      );
  }

  /** Reads one node's value and watches it for changes. */
  private async read(key: string): Promise<void> {
    const client = this.client;
    if (!client || this.closed) return;
    let data: Buffer | undefined;
    try {
      data = await call<Buffer>(
        (cb) =>
          client.getData(
            `${this.o.path}/${key}`,
            (event: Event) => {
              if (event.getType() === zookeeper.Event.NODE_DATA_CHANGED) this.enqueue(() => this.read(key));
            },
            (err, value) => cb(err, value as Buffer),
          ),
        this.sessionTimeoutMs,
      );
    } catch (err) {
      if (isZkCode(err, zookeeper.Exception.NO_NODE)) return; // gone meanwhile: the listing says so
      throw err;
    }
    try {
      const registration = decodeNodeValue(data);
      this.known.set(key, registration);
      this.o.listener.nodeUp(registration);
    } catch (err) {
      this.o.logger?.warn({ key, err: String(err) }, 'ignoring a znode that is not a Humpback node');
    }
  }
}
