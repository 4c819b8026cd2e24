import zookeeper from 'node-zookeeper-client';
import type { Client, Event } from 'node-zookeeper-client';
import type { Logger } from '../../core/logger.js';
import { call, isZkCode, openZookeeperClient } from '../../core/zookeeper.js';
import { LeadershipState } from './leadership.js';
import { type Leadership } from '../../core/leadership.js';

export interface ZookeeperLeadershipOptions {
  connectionString: string;
  /** Election folder, e.g. `/humpback/center/leader`. */
  path: string;
  /** The session timeout is how long a dead leader holds on. @default 10_000 */
  sessionTimeoutMs?: number | undefined;
  /** Written into the candidate znode (for operators). */
  id?: string | undefined;
  logger?: Logger | undefined;
}

/**
 * Leader election with ephemeral sequential znodes (the ZooKeeper recipe): every gateway creates
 * `<path>/candidate-<seq>`; the lowest sequence leads; each other candidate watches the one just
 * before it, so a leader's death wakes exactly one follower. A gateway that loses its connection steps
 * down at once (it cannot know whether its session survives); a dead leader's znode goes when its
 * session expires, so a follower takes over within the session timeout.
 */
export class ZookeeperLeadership implements Leadership {
  private readonly state: LeadershipState;
  private readonly sessionTimeoutMs: number;
  private client: Client | undefined;
  private candidate: string | undefined;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: ZookeeperLeadershipOptions) {
    this.state = new LeadershipState(o.logger);
    this.sessionTimeoutMs = o.sessionTimeoutMs ?? 10_000;
  }

  /** Connects and campaigns; resolves once this gateway knows whether it leads. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`ZooKeeper ${this.o.connectionString} unreachable`)),
        this.sessionTimeoutMs,
      );
      this.connect(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  isLeader(): boolean {
    return this.state.value;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.state.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client && this.candidate) {
      await call<void>((cb) => client.remove(this.candidate!, -1, cb), 3000).catch(() => undefined);
    }
    this.state.set(false);
    client?.close();
  }

  private connect(onDecided?: () => void): void {
    const client = openZookeeperClient(this.o.connectionString, this.sessionTimeoutMs, 500, this.o.logger);
    this.client = client;
    this.candidate = undefined;
    client.on('state', (s) => {
      if (this.client !== client || this.closed) return;
      if (s === zookeeper.State.SYNC_CONNECTED) {
        this.enqueue(async () => {
          await this.campaign();
          onDecided?.();
          onDecided = undefined;
        });
      } else if (s === zookeeper.State.DISCONNECTED) {
        if (this.state.value) this.o.logger?.warn('lost ZooKeeper; stepping down');
        this.state.set(false);
      } else if (s === zookeeper.State.EXPIRED) {
        this.state.set(false);
        client.close();
        this.connect(onDecided);
      }
    });
    client.connect();
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err: unknown) => {
      this.o.logger?.warn({ err: String(err) }, 'leader election step failed; retrying');
      if (!this.closed) setTimeout(() => this.enqueue(() => this.campaign()), 1000).unref();
    });
  }

  private async campaign(): Promise<void> {
    const client = this.client;
    if (!client || this.closed) return;
    const t = this.sessionTimeoutMs;
    await call<string>((cb) => client.mkdirp(this.o.path, cb), t);
    if (this.candidate) {
      const stat = await call((cb) => client.exists(this.candidate!, cb), t);
      if (!stat) this.candidate = undefined;
    }
    if (!this.candidate) {
      this.candidate = await call<string>(
        (cb) =>
          client.create(
            `${this.o.path}/candidate-`,
            Buffer.from(this.o.id ?? ''),
            zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
            cb,
          ),
        t,
      );
    }
    const children = (await call<string[]>((cb) => client.getChildren(this.o.path, cb), t))
      .filter((c) => c.startsWith('candidate-'))
      .sort();
    const mine = this.candidate.slice(this.candidate.lastIndexOf('/') + 1);
    const position = children.indexOf(mine);
    if (position < 0) {
      this.candidate = undefined;
      return this.campaign();
    }
    if (position === 0) {
      if (!this.state.value) this.o.logger?.info({ candidate: mine }, 'elected leader');
      this.state.set(true);
      return;
    }
    this.state.set(false);
    const predecessor = `${this.o.path}/${children[position - 1]}`;
    try {
      const stat = await call(
        (cb) =>
          client.exists(
            predecessor,
            (event: Event) => {
              if (event.getType() === zookeeper.Event.NODE_DELETED) this.enqueue(() => this.campaign());
            },
            cb,
          ),
        t,
      );
      if (!stat) return this.campaign();
    } catch (err) {
      if (!isZkCode(err, zookeeper.Exception.NO_NODE)) throw err;
      return this.campaign();
    }
  }
}
