import { randomUUID } from 'node:crypto';
import type { EventBus } from '../core/bus.js';
import { CHANNEL, type MetaEventMessage, type NodeStatusMessage } from '../core/bus/channels.js';
import type { NodeStatus, NotificationEvent } from '../core/domain.js';
import type { Logger } from '../core/logger.js';
import { OutboundUrlPolicy } from '../core/outbound-url.js';
import type { MetaRecord, NodeRecord, NotificationDeliveryRecord, Store } from '../core/store/store.js';
import { systemClock, type Clock } from './clock.js';
import { exponentialBackoff, webhookHeaders, type RetryPolicy } from './webhook-signing.js';

/** Sends one mail (gateway/leader/smtp-mailer.ts over nodemailer; tests may pass their own). */
export interface Mailer {
  send(mail: { to: string; subject: string; text: string }): Promise<void>;
}

export interface NotifierOptions {
  store: Store;
  bus: EventBus;
  /** A node's status as the cluster cache has it now. */
  nodeStatus: (nodeId: string) => NodeStatus | undefined;
  /** How long a node stays down before NODE_DOWN goes out (a blip says nothing). */
  downDelayMs: number;
  /** After this gateway starts leading, nodes coming and going are not told for this long. @default 60_000 */
  graceMs?: number | undefined;
  /** Email channels are refused without one (HUMPBACK_SMTP_URL unset). */
  mailer?: Mailer | undefined;
  /** Where webhook channels may go (as meta webhooks). @default public addresses only */
  urlPolicy?: OutboundUrlPolicy | undefined;
  /** @default systemClock */
  clock?: Clock | undefined;
  /** @default exponentialBackoff() (1 s doubling to 5 min, 10 attempts) */
  policy?: RetryPolicy | undefined;
  /** How often the outbox is scanned. @default 5000 */
  pollMs?: number | undefined;
  /** Per attempt. @default 10_000 */
  timeoutMs?: number | undefined;
  logger?: Logger | undefined;
}

const isDown = (s: NodeStatus | null | undefined): boolean => s === 'UNHEALTHY' || s === 'DISCONNECTED';

/** The webhook body (and, pretty-printed, the mail's text). */
export interface NotificationBody {
  event: NotificationEvent;
  at: string;
  subject: string;
  node?: { id: string; name: string; ip: string } | undefined;
  meta?: { id: string; groupId: string; name: string } | undefined;
  message?: string | undefined;
}

/**
 * Notifications, on the leader: NODE_DOWN when a node has been UNHEALTHY or DISCONNECTED for
 * `downDelayMs` (and NODE_UP when one that was told down is HEALTHY again), after a start-up grace so a
 * new leader does not announce every node it finds; MIGRATION for every MigrateMetaEvent;
 * RECOVERY_FAILED and META_FAILED when the scheduler reports them (`notify`). Each notification is
 * written to a durable outbox, one entry per channel that wants the event, then delivered with retries
 * and backoff like meta webhooks: webhooks signed with the channel's secret token, mails over SMTP.
 */
export class Notifier {
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;
  private readonly urlPolicy: OutboundUrlPolicy;
  private running = false;
  private graceUntil = 0;
  private unsubscribe: Array<() => Promise<void>> = [];
  private readonly downTimers = new Map<string, () => void>();
  /** Nodes told down (so their return is told). */
  private readonly toldDown = new Set<string>();
  private timer: (() => void) | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: NotifierOptions) {
    this.clock = o.clock ?? systemClock;
    this.policy = o.policy ?? exponentialBackoff();
    this.urlPolicy = o.urlPolicy ?? new OutboundUrlPolicy();
  }

  /** This gateway leads: follow node status and meta events, deliver the outbox. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.graceUntil = this.clock.now() + (this.o.graceMs ?? 60_000);
    this.unsubscribe.push(
      await this.o.bus.subscribe(CHANNEL.nodeStatus, (m) => this.onNodeStatus(m as NodeStatusMessage)),
      await this.o.bus.subscribe(CHANNEL.metaEvent, (m) => this.onMetaEvent(m as MetaEventMessage)),
    );
    this.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const cancel of this.downTimers.values()) cancel();
    this.downTimers.clear();
    this.timer?.();
    for (const off of this.unsubscribe.splice(0)) await off();
    await this.ticking;
  }

  private onNodeStatus(m: NodeStatusMessage): void {
    const { node } = m;
    if (isDown(node.status) && !isDown(m.previousStatus) && !this.downTimers.has(node.id)) {
      const wait = Math.max(this.o.downDelayMs, this.graceUntil - this.clock.now());
      this.downTimers.set(
        node.id,
        this.clock.setTimeout(() => {
          this.downTimers.delete(node.id);
          if (!this.running || !isDown(this.o.nodeStatus(node.id))) return;
          this.toldDown.add(node.id);
          void this.notify('NODE_DOWN', {
            node,
            message: `node ${node.name} (${node.ip}) is ${node.status}`,
          });
        }, wait),
      );
    } else if (node.status === 'HEALTHY') {
      this.downTimers.get(node.id)?.();
      this.downTimers.delete(node.id);
      if (this.toldDown.delete(node.id))
        void this.notify('NODE_UP', { node, message: `node ${node.name} (${node.ip}) is HEALTHY again` });
    }
  }

  private onMetaEvent(m: MetaEventMessage): void {
    if (m.event !== 'MigrateMetaEvent') return;
    const base = (m.payload as { MetaBase?: { Config?: { Name?: string } } } | null)?.MetaBase;
    void this.notify('MIGRATION', {
      meta: { id: m.metaId, groupId: m.groupId, name: base?.Config?.Name ?? m.metaId },
      message: `instances of meta ${base?.Config?.Name ?? m.metaId} were moved off a lost node`,
    });
  }

  /** Writes the notification to the outbox for every channel that wants it, and delivers it. */
  async notify(
    event: NotificationEvent,
    about: { node?: NodeRecord; meta?: Pick<MetaRecord, 'id' | 'groupId' | 'name'>; message?: string },
  ): Promise<void> {
    try {
      const channels = (await this.o.store.list('notificationChannels')).filter((c) =>
        c.events.includes(event),
      );
      if (channels.length === 0) return;
      const at = new Date(this.clock.now()).toISOString();
      const what = about.node
        ? `node ${about.node.name} (${about.node.ip})`
        : about.meta
          ? `meta ${about.meta.name}`
          : '';
      const subject = `Humpback ${event}: ${what}`.trim();
      const body: NotificationBody = {
        event,
        at,
        subject,
        node: about.node && { id: about.node.id, name: about.node.name, ip: about.node.ip },
        meta: about.meta && { id: about.meta.id, groupId: about.meta.groupId, name: about.meta.name },
        message: about.message,
      };
      const text = JSON.stringify(body);
      for (const channel of channels) {
        const record: NotificationDeliveryRecord = {
          id: `${this.clock.now().toString(36).padStart(9, '0')}-${randomUUID()}`,
          channelId: channel.id,
          kind: channel.kind,
          target: channel.target,
          secretToken: channel.secretToken,
          event,
          subject,
          body: text,
          attempts: 0,
          delivered: false,
          nextAttemptAt: at,
          createdAt: at,
        };
        await this.o.store.create('notificationDeliveries', record.id, record);
      }
      this.kick();
    } catch (err) {
      this.o.logger?.error({ err, event }, 'could not record a notification');
    }
  }

  private kick(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.timer?.();
    this.ticking = (async () => {
      try {
        do {
          this.again = false;
          await this.deliverDue();
        } while (this.again && this.running);
      } finally {
        this.ticking = undefined;
        if (this.running) this.timer = this.clock.setTimeout(() => this.kick(), this.o.pollMs ?? 5000);
      }
    })();
  }

  private async deliverDue(): Promise<void> {
    let due: NotificationDeliveryRecord[];
    try {
      const now = this.clock.now();
      const all = await this.o.store.list('notificationDeliveries');
      const horizon = now - 7 * 24 * 3600 * 1000;
      const finished = all.filter(
        (d) => (d.delivered || d.attempts >= this.policy.maxAttempts) && Date.parse(d.createdAt) < horizon,
      );
      if (finished.length > 0)
        await this.o.store.deleteMany(
          'notificationDeliveries',
          finished.map((d) => d.id),
        );
      due = all
        .filter(
          (d) => !d.delivered && d.attempts < this.policy.maxAttempts && Date.parse(d.nextAttemptAt) <= now,
        )
        .sort((a, b) => a.id.localeCompare(b.id));
    } catch (err) {
      this.o.logger?.warn({ err }, 'could not read the notification outbox');
      return;
    }
    for (const d of due) await this.attempt(d);
  }

  private async send(d: NotificationDeliveryRecord): Promise<string | undefined> {
    if (d.kind === 'email') {
      if (!this.o.mailer) return 'no SMTP server (set HUMPBACK_SMTP_URL)';
      try {
        await this.o.mailer.send({ to: d.target, subject: d.subject, text: mailText(d.body) });
        return undefined;
      } catch (err) {
        this.o.logger?.warn({ err, to: d.target }, 'notification mail failed');
        return `the SMTP server refused or failed: ${(err as Error).message}`;
      }
    }
    const result = await this.urlPolicy.send(d.target, {
      headers: webhookHeaders(d.body, d.secretToken),
      body: d.body,
      timeoutMs: this.o.timeoutMs ?? 10_000,
    });
    switch (result.outcome) {
      case 'answered':
        return result.statusCode >= 200 && result.statusCode < 300
          ? undefined
          : `answered ${result.statusCode}`;
      case 'refused':
        return `refused: ${result.reason}`;
      case 'failed':
        return result.reason;
    }
  }

  private async attempt(d: NotificationDeliveryRecord): Promise<void> {
    const error = await this.send(d);
    const now = this.clock.now();
    const updated = await this.o.store.update('notificationDeliveries', d.id, (current) => {
      if (!current || current.delivered) return current;
      const attempts = current.attempts + 1;
      return {
        ...current,
        attempts,
        delivered: error === undefined,
        error,
        lastAttemptAt: new Date(now).toISOString(),
        nextAttemptAt: new Date(
          now + (error === undefined ? 0 : this.policy.delayMs(attempts)),
        ).toISOString(),
      };
    });
    if (error !== undefined) {
      this.o.logger?.warn(
        { channel: d.channelId, event: d.event, attempts: updated?.attempts, error },
        'notification delivery failed',
      );
      // Due again before the next poll: come back for it then.
      const next = updated ? Date.parse(updated.nextAttemptAt) - now : undefined;
      if (next !== undefined && next < (this.o.pollMs ?? 5000) && updated!.attempts < this.policy.maxAttempts)
        this.clock.setTimeout(() => this.kick(), next);
    }
  }
}

function mailText(body: string): string {
  const b = JSON.parse(body) as NotificationBody;
  const lines = [b.subject, '', b.message ?? '', '', `event: ${b.event}`, `at: ${b.at}`];
  if (b.node) lines.push(`node: ${b.node.name} (${b.node.ip}), id ${b.node.id}`);
  if (b.meta) lines.push(`meta: ${b.meta.name}, id ${b.meta.id}, group ${b.meta.groupId}`);
  return lines.join('\n');
}
