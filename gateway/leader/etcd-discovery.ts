import type { Etcd3, Watcher } from 'etcd3';
import type { DiscoveryListener, NodeDiscovery } from '../../core/discovery.js';
import { openEtcdClient, withDeadline } from '../../core/etcd.js';
import type { Logger } from '../../core/logger.js';
import { decodeNodeValue, type NodeRegistration } from '../../core/node-data.js';

export interface EtcdDiscoveryOptions {
  /** `host:port,host:port`. */
  connectionString: string;
  /** The nodes folder, e.g. `/humpback/center/nodes` (core/discovery.ts nodesPath). */
  path: string;
  listener: DiscoveryListener;
  /** How long start() waits for etcd. @default 10_000 */
  startTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
}

/**
 * Cluster-mode discovery on etcd v3: lists `<path>/` and watches it from the listing's revision on,
 * so no change between the two is missed. A put is a node up (or changed), a delete (the agent's
 * lease expired or was revoked) a node down; while the watch is disconnected, migrations are held.
 */
export class EtcdDiscovery implements NodeDiscovery {
  private readonly client: Etcd3;
  private readonly known = new Map<string, NodeRegistration>();
  private watcher: Watcher | undefined;
  private connected = false;
  private closed = false;

  constructor(private readonly o: EtcdDiscoveryOptions) {
    this.client = openEtcdClient(o.connectionString);
  }

  async start(): Promise<void> {
    const dir = `${this.o.path}/`;
    const listing = await withDeadline(
      this.client.getAll().prefix(dir).exec(),
      this.o.startTimeoutMs ?? 10_000,
      `listing ${dir} on ${this.o.connectionString}`,
    );
    for (const kv of listing.kvs) this.put(kv.key.toString(), kv.value);
    const next = (BigInt(listing.header.revision) + 1n).toString();
    this.watcher = await this.client.watch().prefix(dir).startRevision(next).create();
    this.watcher
      .on('put', (kv) => this.put(kv.key.toString(), kv.value))
      .on('delete', (kv) => this.remove(kv.key.toString()))
      .on('connected', () => this.setConnected(true))
      .on('disconnected', (err) => {
        this.o.logger?.warn(
          { err: String(err), path: this.o.path },
          'discovery lost etcd; migrations are held',
        );
        this.setConnected(false);
      })
      .on('error', (err) => this.o.logger?.warn({ err: String(err), path: this.o.path }, 'etcd watch error'));
    this.setConnected(true);
  }

  nodes(): NodeRegistration[] {
    return [...this.known.values()];
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  private keyOf(path: string): string {
    return path.slice(this.o.path.length + 1);
  }

  private put(path: string, value: Buffer): void {
    if (this.closed) return;
    const key = this.keyOf(path);
    try {
      const registration = decodeNodeValue(value);
      this.known.set(key, registration);
      this.o.listener.nodeUp(registration);
    } catch (err) {
      this.o.logger?.warn({ err: String(err), key: path }, 'unreadable node registration; ignored');
    }
  }

  private remove(path: string): void {
    if (this.closed) return;
    const key = this.keyOf(path);
    if (!this.known.delete(key)) return;
    this.o.listener.nodeDown(key);
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.o.listener.connection(connected);
  }
}
