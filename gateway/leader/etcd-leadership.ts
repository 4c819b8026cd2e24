import { randomUUID } from 'node:crypto';
import type { Campaign, Etcd3 } from 'etcd3';
import { openEtcdClient, withDeadline } from '../../core/etcd.js';
import type { Leadership } from '../../core/leadership.js';
import type { Logger } from '../../core/logger.js';
import { LeadershipState } from './leadership.js';

export interface EtcdLeadershipOptions {
  connectionString: string;
  /** The cluster's folder, e.g. `/humpback/center`; the election lives under it. */
  path: string;
  /** The lease TTL: how long a dead leader holds on (DOCKER_CLUSTER_TTL). */
  ttlSeconds: number;
  /** Written as the candidate's value (for operators). @default a random UUID */
  id?: string | undefined;
  /** After a failed campaign. @default 1000 */
  retryMs?: number | undefined;
  logger?: Logger | undefined;
}

/**
 * Leader election with etcd3's election recipe (a key per candidate on its own lease; the oldest
 * leads). A campaign that fails (lease lost, etcd gone) steps down at once and campaigns again.
 */
export class EtcdLeadership implements Leadership {
  private readonly state: LeadershipState;
  private readonly client: Etcd3;
  private campaign: Campaign | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly o: EtcdLeadershipOptions) {
    this.state = new LeadershipState(o.logger);
    this.client = openEtcdClient(o.connectionString);
  }

  /** Campaigns; resolves once this gateway knows whether it leads. */
  async start(): Promise<void> {
    const election = this.client.namespace(`${this.o.path}/`).election('leader', this.o.ttlSeconds);
    // Whether anyone leads right now decides whether waiting for 'elected' is waiting for ever.
    const leader = await withDeadline(election.leader(), 10_000, `election on ${this.o.connectionString}`);
    const elected = this.run();
    if (leader === undefined) await withDeadline(elected, 10_000, 'campaign');
  }

  private run(): Promise<void> {
    const election = this.client.namespace(`${this.o.path}/`).election('leader', this.o.ttlSeconds);
    const campaign = election.campaign(this.o.id ?? randomUUID());
    this.campaign = campaign;
    return new Promise<void>((resolve) => {
      campaign.on('elected', () => {
        if (this.closed || this.campaign !== campaign) return;
        this.state.set(true);
        resolve();
      });
      campaign.on('error', (err) => {
        if (this.closed || this.campaign !== campaign) return;
        this.o.logger?.warn(
          { err: String(err) },
          'etcd campaign failed; stepping down and campaigning again',
        );
        this.state.set(false);
        this.campaign = undefined;
        this.retry = setTimeout(() => void this.run(), this.o.retryMs ?? 1000);
        this.retry.unref();
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
    clearTimeout(this.retry);
    const campaign = this.campaign;
    this.campaign = undefined;
    if (campaign) await withDeadline(campaign.resign(), 3000, 'resign').catch(() => undefined);
    this.state.set(false);
    this.client.close();
  }
}
