import { randomUUID } from 'node:crypto';
import type { EventBus } from '../core/bus.js';
import { ErrorCode, HumpbackError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MetaRecord, NodeRecord, Store } from '../core/store/store.js';
import type { MetaEventType, NodeStatus } from '../core/domain.js';
import type { Leadership } from '../core/leadership.js';
import type { ContainerAction } from '../core/domain.js';
import { CHANNEL, type NodeStatusMessage } from '../core/bus/channels.js';
import { systemClock, type Clock } from './clock.js';
import { KeyedQueue } from './meta-queue.js';
import { MigrationTracker } from './migration.js';
import { Reconciler, type ClusterView, type ContainerSink, type SchedulerAgent } from './reconciler.js';
import type { PlacedContainer } from './webhook-payload.js';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.js';

/** Bus channels between gateways: mutations taken by a follower run on the leader. */
export const SCHEDULER_CHANNEL = {
  command: 'humpback:scheduler-command',
  reply: 'humpback:scheduler-reply',
} as const;

/** Work on one meta. Runs on the leader, in the meta's queue. */
export type MetaCommand =
  | { op: 'reconcile'; metaId: string; event: MetaEventType }
  | { op: 'upgrade'; metaId: string; imageTag: string }
  | { op: 'operate'; metaId: string; action: ContainerAction }
  | { op: 'remove'; metaId: string; meta: MetaRecord };

interface CommandMessage {
  id: string;
  origin: string;
  command: MetaCommand;
}

type ReplyMessage =
  | { id: string; ok: true; meta?: MetaRecord | undefined }
  | { id: string; ok: false; code: string; message: string };

/** Settings-collection ids of removed metas: their containers on lost nodes go when those return. */
const TOMBSTONE = 'scheduler:removed-meta:';

export interface SchedulerOptions {
  store: Store;
  cluster: ClusterView;
  sink?: ContainerSink | undefined;
  agentFor: (node: NodeRecord) => SchedulerAgent;
  bus?: EventBus | undefined;
  /** Only the leader reconciles, migrates and delivers webhooks. @default always the leader */
  leadership?: Leadership | undefined;
  /** @default systemClock */
  clock?: Clock | undefined;
  /** CENTER_MIGRATE_DELAY in seconds. @default 45 */
  migrateDelaySeconds?: number | undefined;
  /** CENTER_RECOVERY_INTERVAL in seconds. @default 120 */
  recoveryIntervalSeconds?: number | undefined;
  /** CENTER_REMOVE_DELAY in seconds. @default 0 */
  removeDelaySeconds?: number | undefined;
  /** How long a follower waits for the leader to run a forwarded mutation. @default 60_000 */
  forwardTimeoutMs?: number | undefined;
  webhooks?: Omit<WebhookDispatcherOptions, 'store' | 'bus' | 'clock' | 'logger'> | undefined;
  /**
   * Told when a pass leaves a meta short with a new reason: RECOVERY_FAILED for a recovery or
   * migration pass, META_FAILED for one a user's change started (notifications).
   */
  onFailure?:
    ((event: 'RECOVERY_FAILED' | 'META_FAILED', meta: MetaRecord, message: string) => void) | undefined;
  /**
   * Resolves when the cluster view reflects the engines (the node watcher's first check of every
   * node, bounded): awaited before the first pass of a new leader.
   */
  viewReady?: (() => Promise<void>) | undefined;
  logger?: Logger | undefined;
}

/**
 * The cluster center: per-meta queues over the reconciler, migration of lost nodes, the recovery
 * pass, webhook events, and forwarding of mutations from followers to the leader.
 */
export class Scheduler {
  readonly reconciler: Reconciler;
  readonly migration: MigrationTracker;
  readonly dispatcher: WebhookDispatcher;
  readonly queue = new KeyedQueue();
  private readonly clock: Clock;
  private readonly origin = randomUUID();
  /** Metas whose instances are being migrated: mutations answer META_BUSY. */
  private readonly migrating = new Set<string>();
  /** Commands forwarded to the leader, waiting for its reply (or for this gateway to lead). */
  private readonly waiting = new Map<string, { command?: MetaCommand; resolve: (r: ReplyMessage) => void }>();
  private readonly unsubscribe: Array<() => Promise<void> | void> = [];
  private cancelRecovery: (() => void) | undefined;
  private leader = false;
  private closed = false;

  constructor(private readonly o: SchedulerOptions) {
    this.clock = o.clock ?? systemClock;
    this.migration = new MigrationTracker({
      clock: this.clock,
      delayMs: (o.migrateDelaySeconds ?? 45) * 1000,
      onMigrate: (nodeId) => void this.migrateNode(nodeId),
      onReturn: (nodeId) => void this.nodeReturned(nodeId),
    });
    this.reconciler = new Reconciler({
      store: o.store,
      cluster: o.cluster,
      sink: o.sink,
      agentFor: o.agentFor,
      clock: this.clock,
      isMigrated: (id) => this.migration.isMigrated(id),
      removeDelayMs: (o.removeDelaySeconds ?? 0) * 1000,
      logger: o.logger,
    });
    this.dispatcher = new WebhookDispatcher({
      ...o.webhooks,
      store: o.store,
      bus: o.bus,
      clock: this.clock,
      logger: o.logger,
    });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Subscribes to node status and forwarded commands, and follows leadership. */
  async start(): Promise<void> {
    const bus = this.o.bus;
    if (bus) {
      this.unsubscribe.push(
        await bus.subscribe(CHANNEL.nodeStatus, (m) => {
          const msg = m as NodeStatusMessage;
          this.nodeStatus(msg.node.id, msg.node.status);
        }),
      );
      this.unsubscribe.push(
        await bus.subscribe(SCHEDULER_CHANNEL.command, (m) => void this.onCommand(m as CommandMessage)),
      );
      this.unsubscribe.push(
        await bus.subscribe(SCHEDULER_CHANNEL.reply, (m) => {
          const reply = m as ReplyMessage;
          this.waiting.get(reply.id)?.resolve(reply);
        }),
      );
    }
    const leadership = this.o.leadership;
    if (leadership) {
      this.unsubscribe.push(leadership.onChange((leader) => void this.setLeader(leader)));
      await this.setLeader(leadership.isLeader());
    } else {
      await this.setLeader(true);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.setLeader(false);
    for (const u of this.unsubscribe.splice(0)) await u();
    for (const w of this.waiting.values())
      w.resolve({ id: '', ok: false, code: ErrorCode.INTERNAL_SERVER_ERROR, message: 'scheduler closed' });
    await this.queue.idle();
  }

  /** Feed node status changes here when no bus carries them. */
  nodeStatus(nodeId: string, status: NodeStatus | undefined): void {
    if (this.leader) this.migration.nodeStatus(nodeId, status);
  }

  /** Discovery lost its own connection: hold migrations. */
  freezeMigrations(): void {
    this.migration.freeze();
  }

  thawMigrations(): void {
    this.migration.thaw();
  }

  /** META_BUSY while the meta's instances are being migrated. */
  assertNotBusy(meta: MetaRecord): void {
    if (this.migrating.has(meta.id)) {
      throw new HumpbackError(
        ErrorCode.META_BUSY,
        `meta ${meta.name} is migrating instances off a lost node; try again when it is done`,
        { metaId: meta.id },
      );
    }
  }

  /**
   * Runs a command on the leader (here, in the meta's queue, or forwarded over the bus) and waits for
   * it. A follower without a bus, or whose leader does not answer in time, leaves the work to the
   * leader's next pass (the desired state is in the store already).
   */
  async execute(command: MetaCommand): Promise<MetaRecord | undefined> {
    if (this.leader) return this.runLocal(command);
    const bus = this.o.bus;
    if (!bus) return undefined;
    const id = randomUUID();
    const reply = new Promise<ReplyMessage | undefined>((resolve) => {
      const cancel = this.clock.setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, this.o.forwardTimeoutMs ?? 60_000);
      this.waiting.set(id, {
        command,
        resolve: (r) => {
          cancel();
          this.waiting.delete(id);
          resolve(r);
        },
      });
    });
    await bus.publish(SCHEDULER_CHANNEL.command, {
      id,
      origin: this.origin,
      command,
    } satisfies CommandMessage);
    const answer = await reply;
    if (!answer) {
      this.o.logger?.warn(
        { command: command.op, metaId: command.metaId },
        'leader did not answer; it will catch up',
      );
      return undefined;
    }
    if (!answer.ok) throw new HumpbackError(answer.code as ErrorCode, answer.message);
    return answer.meta;
  }

  /** One recovery pass over every meta (recreate missing, remove surplus, clean removed metas). */
  async recoveryPass(): Promise<void> {
    const metas = await this.o.store.list('metas');
    await Promise.all(
      metas
        .filter((m) => m.recovery !== false)
        .map((m) =>
          this.runLocal({ op: 'reconcile', metaId: m.id, event: 'RecoveryMetaEvent' }).catch(() => undefined),
        ),
    );
    await this.cleanRemovedMetas();
  }

  private async setLeader(leader: boolean): Promise<void> {
    if (this.closed && leader) return;
    if (leader === this.leader) return;
    this.leader = leader;
    if (!leader) {
      this.cancelRecovery?.();
      this.cancelRecovery = undefined;
      this.migration.close();
      this.reconciler.close();
      await this.dispatcher.stop();
      this.o.logger?.info('scheduler: follower');
      return;
    }
    this.o.logger?.info('scheduler: leader; reconciling every meta');
    for (const node of this.o.cluster.listNodes()) {
      // A node lost under the previous leader keeps the time it has already waited.
      const since = node.statusSince ? Date.parse(node.statusSince) : NaN;
      this.migration.nodeStatus(node.id, node.status, Number.isNaN(since) ? undefined : since);
    }
    this.dispatcher.start();
    this.scheduleRecovery();
    this.runForwarded();
    // Take over whatever a previous leader left half done, from what the engines run now.
    void (async () => {
      await this.o.viewReady?.();
      if (this.leader) await this.recoveryPass();
    })().catch((err) => this.o.logger?.error({ err }, 'first recovery pass failed'));
  }

  private scheduleRecovery(): void {
    const ms = (this.o.recoveryIntervalSeconds ?? 120) * 1000;
    this.cancelRecovery = this.clock.setTimeout(() => {
      if (!this.leader) return;
      void this.recoveryPass()
        .catch((err) => this.o.logger?.error({ err }, 'recovery pass failed'))
        .finally(() => {
          if (this.leader) this.scheduleRecovery();
        });
    }, ms);
  }

  private async onCommand(message: CommandMessage): Promise<void> {
    if (!this.leader || !this.o.bus) return;
    // Pub/sub channels may be shared with other deployments on the same Redis: answer only for
    // metas (or, for a removal, groups) this deployment's store knows.
    const { command } = message;
    const known =
      command.op === 'remove'
        ? await this.o.store.get('groups', command.meta.groupId)
        : await this.o.store.get('metas', command.metaId);
    if (!known) return;
    await this.o.bus.publish(SCHEDULER_CHANNEL.reply, await this.answer(message.id, command));
  }

  private async answer(id: string, command: MetaCommand): Promise<ReplyMessage> {
    try {
      return { id, ok: true, meta: await this.runLocal(command) };
    } catch (err) {
      const code = err instanceof HumpbackError ? err.code : ErrorCode.INTERNAL_SERVER_ERROR;
      return { id, ok: false, code, message: (err as Error).message };
    }
  }

  /**
   * Commands this gateway forwarded to a leader that is gone: now that it leads, it runs them itself
   * instead of leaving their callers to wait out forwardTimeoutMs. Should the old leader's reply
   * still come, the first answer wins.
   */
  private runForwarded(): void {
    for (const [id, w] of this.waiting) {
      if (w.command) void this.answer(id, w.command).then(w.resolve);
    }
  }

  private runLocal(command: MetaCommand): Promise<MetaRecord | undefined> {
    return this.queue.run(command.metaId, () => this.apply(command));
  }

  private async apply(command: MetaCommand): Promise<MetaRecord | undefined> {
    const { store } = this.o;
    switch (command.op) {
      case 'reconcile': {
        const meta = await store.get('metas', command.metaId);
        if (!meta) return undefined;
        const result = await this.reconciler.reconcile(meta);
        const recorded = await this.recordFailure(meta.id, result.failures);
        const failure = recorded?.lastFailure;
        if (failure && failure.message !== meta.lastFailure?.message) {
          const recovering = command.event === 'RecoveryMetaEvent' || command.event === 'MigrateMetaEvent';
          this.o.onFailure?.(recovering ? 'RECOVERY_FAILED' : 'META_FAILED', recorded, failure.message);
        }
        const changed = result.created.length + result.removed.length > 0;
        // Recovery and migration only speak when they did something; user operations always do.
        if (changed || (command.event !== 'RecoveryMetaEvent' && command.event !== 'MigrateMetaEvent')) {
          await this.emit(command.event, recorded ?? meta);
        }
        return recorded ?? meta;
      }
      case 'upgrade': {
        const meta = await store.get('metas', command.metaId);
        if (!meta) return undefined;
        const next = await this.reconciler.upgrade(meta, command.imageTag);
        const saved = await store.update('metas', meta.id, (current) =>
          current
            ? {
                ...current,
                config: next.config,
                image: next.image,
                imageTag: next.imageTag,
                updatedAt: next.updatedAt,
              }
            : current,
        );
        if (saved) await this.emit('UpgradeMetaEvent', saved);
        return saved;
      }
      case 'operate': {
        const meta = await store.get('metas', command.metaId);
        if (!meta) return undefined;
        await this.reconciler.operate(meta, command.action);
        await this.emit('OperateMetaEvent', meta);
        return meta;
      }
      case 'remove': {
        const placed = await this.reconciler.placed(command.metaId);
        await this.reconciler.removeAll(command.metaId);
        await this.emit('RemoveMetaEvent', command.meta, placed);
        return command.meta;
      }
    }
  }

  /** Keeps the meta's lastFailure in step with the last pass (set on failures, cleared without). */
  private async recordFailure(metaId: string, failures: readonly string[]): Promise<MetaRecord | undefined> {
    const message =
      failures.length === 0
        ? undefined
        : failures.length === 1
          ? failures[0]!
          : `${failures[0]!} (and ${failures.length - 1} more)`;
    const current = await this.o.store.get('metas', metaId);
    if (!current || current.lastFailure?.message === message) return current;
    const lastFailure = message ? { message, at: new Date(this.clock.now()).toISOString() } : undefined;
    return this.o.store.update('metas', metaId, (m) => (m ? { ...m, lastFailure } : m));
  }

  private async emit(event: MetaEventType, meta: MetaRecord, placed?: PlacedContainer[]): Promise<void> {
    try {
      await this.dispatcher.emit(event, meta, placed ?? (await this.reconciler.placed(meta.id)));
    } catch (err) {
      this.o.logger?.error({ err, metaId: meta.id, event }, 'could not record meta event');
    }
  }

  /** The metas with an instance on a node, by the cluster cache. */
  private metasOnNode(nodeId: string): Set<string> {
    return new Set(
      this.o.cluster
        .containersOfNode(nodeId)
        .map((c) => c.metaId)
        .filter((id): id is string => !!id),
    );
  }

  /** A lost node's delay passed: recreate its instances elsewhere, one meta at a time each. */
  private async migrateNode(nodeId: string): Promise<void> {
    if (!this.leader) return;
    const metaIds = this.metasOnNode(nodeId);
    this.o.logger?.info({ nodeId, metas: metaIds.size }, 'migrating instances off a lost node');
    await Promise.all(
      [...metaIds].map(async (metaId) => {
        this.migrating.add(metaId);
        try {
          await this.runLocal({ op: 'reconcile', metaId, event: 'MigrateMetaEvent' });
        } catch (err) {
          this.o.logger?.error({ err, metaId, nodeId }, 'migration failed; recovery will retry');
        } finally {
          this.migrating.delete(metaId);
        }
      }),
    );
  }

  /** A migrated node came back: its stale copies go. */
  private async nodeReturned(nodeId: string): Promise<void> {
    if (!this.leader) return;
    const metaIds = this.metasOnNode(nodeId);
    await Promise.all(
      [...metaIds].map((metaId) =>
        this.runLocal({ op: 'reconcile', metaId, event: 'RecoveryMetaEvent' }).catch((err) =>
          this.o.logger?.error({ err, metaId, nodeId }, 'cleanup after a node returned failed'),
        ),
      ),
    );
    await this.cleanRemovedMetas();
  }

  /** Records that a meta was removed, so copies on lost nodes are removed when they come back. */
  async tombstone(metaId: string): Promise<void> {
    await this.o.store.put('settings', TOMBSTONE + metaId, {
      id: TOMBSTONE + metaId,
      value: new Date(this.clock.now()).toISOString(),
    });
  }

  private async cleanRemovedMetas(): Promise<void> {
    const settings = await this.o.store.list('settings');
    for (const s of settings) {
      if (!s.id.startsWith(TOMBSTONE)) continue;
      const metaId = s.id.slice(TOMBSTONE.length);
      const left = this.o.cluster.containersOfMeta(metaId);
      if (left.length === 0) {
        await this.o.store.delete('settings', s.id);
        continue;
      }
      await this.queue.run(metaId, () => this.reconciler.removeAll(metaId));
    }
  }
}
