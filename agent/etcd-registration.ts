/**
 * Keeps this node registered in etcd v3: the key `<prefix>/<clusterName>/nodes/<key>` holding
 * humpback-agent's `{"key", "data"}` value, on a lease of DOCKER_CLUSTER_TTL seconds that the client
 * keeps alive, rewritten every heartbeat, put again on a new lease when the old one is lost, revoked
 * on close. etcd trouble is logged and retried, never thrown: the REST API does not depend on it.
 */
import type { Etcd3, Lease } from 'etcd3';
import type { NodeRegistrar, RegistrationState } from '../core/discovery.js';
import { openEtcdClient, withDeadline } from '../core/etcd.js';
import type { Logger } from '../core/logger.js';
import { encodeNodeValue, type NodeData } from '../core/node-data.js';

export interface EtcdRegistrationOptions {
  /** `host:port[,host:port]`. */
  connectionString: string;
  /** The key, e.g. `/humpback/center/nodes/<key>`. */
  path: string;
  /** The node key (the path's last component, and `key` in its value). */
  key: string;
  /** Fresh node data; when it fails, the last good data is published again. */
  data: () => Promise<NodeData>;
  heartbeatMs: number;
  /** The lease's TTL (DOCKER_CLUSTER_TTL). */
  ttlSeconds: number;
  log: Logger;
}

export class EtcdRegistration implements NodeRegistrar {
  private readonly client: Etcd3;
  private lease: Lease | undefined;
  private state: RegistrationState = { phase: 'connecting' };
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private lastData: NodeData | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: EtcdRegistrationOptions) {
    this.client = openEtcdClient(opts.connectionString);
    this.log = opts.log.child({ etcdKey: opts.path });
  }

  start(): void {
    this.enqueue(() => this.put());
    this.timer = setInterval(() => this.enqueue(() => this.put()), this.opts.heartbeatMs);
    this.timer.unref();
  }

  status(): RegistrationState {
    return this.state;
  }

  async close(): Promise<void> {
    if (this.state.phase === 'closed') return;
    this.state = { phase: 'closed' };
    clearInterval(this.timer);
    await Promise.race([this.queue, new Promise((r) => setTimeout(r, 2000))]);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) {
      // Revoking the lease deletes the key at once (no TTL wait for the gateways).
      await withDeadline(lease.revoke(), 2000, 'revoke').catch((err: unknown) =>
        this.log.warn({ err: String(err) }, 'could not revoke the lease; it expires by itself'),
      );
    }
    this.client.close();
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: unknown) => {
      if (this.state.phase === 'closed') return;
      if (this.state.phase !== 'disconnected') this.state = { phase: 'disconnected', since: new Date() };
      this.log.warn({ err: String(err) }, 'etcd registration failed; retrying at the next heartbeat');
    });
  }

  private async value(): Promise<Buffer> {
    try {
      this.lastData = await this.opts.data();
    } catch (err) {
      if (!this.lastData) throw err;
      this.log.warn({ err: String(err) }, 'node data unavailable; publishing the last good data');
    }
    return encodeNodeValue(this.opts.key, this.lastData!);
  }

  /** Writes the value on the current lease, or on a new one when there is none. */
  private async put(): Promise<void> {
    if (this.state.phase === 'closed') return;
    const value = await this.value();
    let lease = this.lease;
    if (!lease) {
      lease = this.client.lease(this.opts.ttlSeconds);
      this.lease = lease;
      lease.on('lost', (err) => {
        if (this.lease !== lease) return;
        this.lease = undefined;
        if (this.state.phase === 'closed') return;
        this.state = { phase: 'disconnected', since: new Date() };
        this.log.warn({ err: String(err) }, 'etcd lease lost; registering again');
        this.enqueue(() => this.put());
      });
    }
    try {
      await withDeadline(lease.put(this.opts.path).value(value).exec(), this.opts.heartbeatMs + 3000, 'put');
    } catch (err) {
      if (this.lease === lease) this.lease = undefined;
      lease.release();
      throw err;
    }
    const now = new Date();
    this.state =
      this.state.phase === 'registered'
        ? { ...this.state, refreshedAt: now }
        : { phase: 'registered', since: now, refreshedAt: now };
  }
}
