import { randomUUID } from 'node:crypto';
import type { EventBus } from '../core/bus.js';
import type { Logger } from '../core/logger.js';
import { OutboundUrlPolicy } from '../core/outbound-url.js';
import type { MetaRecord, Store, WebhookDeliveryRecord } from '../core/store/store.js';
import type { MetaEventType } from '../core/domain.js';
import { CHANNEL, type MetaEventMessage } from '../core/bus/channels.js';
import { systemClock, type Clock } from './clock.js';
import {
  buildHookPayload,
  encodeHookBody,
  type HookPayload,
  type PlacedContainer,
} from './webhook-payload.js';
import { exponentialBackoff, webhookHeaders, type RetryPolicy } from './webhook-signing.js';

export interface WebhookDispatcherOptions {
  store: Store;
  /** Where metaEvents subscribers listen; every event is published whether or not a meta has webhooks. */
  bus?: EventBus | undefined;
  /** @default systemClock */
  clock?: Clock | undefined;
  /** @default exponentialBackoff() (1 s doubling to 5 min, 10 attempts) */
  policy?: RetryPolicy | undefined;
  /** Per request: resolution, connection and the answer's headers. @default 5000 */
  timeoutMs?: number | undefined;
  /** How often the outbox is scanned for due entries (also those written by other gateways). @default 5000 */
  pollMs?: number | undefined;
  /** Finished entries (delivered or abandoned) older than this are deleted. @default 7 days */
  retainMs?: number | undefined;
  /** Parallel requests at most. @default 8 */
  concurrency?: number | undefined;
  /**
   * Where deliveries may go; checked again at every attempt, after resolving the host, and the
   * request goes to the address that was checked.
   * @default new OutboundUrlPolicy() (public addresses only; it knows no agents)
   */
  urlPolicy?: OutboundUrlPolicy | undefined;
  /** Told the result of every attempt (the gateway counts them on /metrics). */
  onAttempt?: ((result: 'delivered' | 'failed' | 'refused') => void) | undefined;
  logger?: Logger | undefined;
}

/**
 * Webhook delivery through a durable outbox. `emit` writes one outbox entry per webhook of the meta
 * (before anything is sent), publishes the event on the bus, and wakes the delivery loop. The loop,
 * running only on the leader (`start`/`stop`), sends every due entry with a timeout, records the
 * attempt, and schedules the next one with backoff; on start it picks up what earlier processes left.
 */
export class WebhookDispatcher {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly urlPolicy: OutboundUrlPolicy;
  private running = false;
  private cancelTimer: (() => void) | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private nextDueAt: number | undefined;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.policy = options.policy ?? exponentialBackoff();
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.pollMs = options.pollMs ?? 5000;
    this.concurrency = options.concurrency ?? 8;
    this.urlPolicy = options.urlPolicy ?? new OutboundUrlPolicy();
  }

  /** Records and announces one meta event; delivery happens in the background. */
  async emit(
    event: MetaEventType,
    meta: MetaRecord,
    containers: readonly PlacedContainer[],
  ): Promise<{ payload: HookPayload; deliveries: WebhookDeliveryRecord[] }> {
    const now = this.clock.now();
    const payload = buildHookPayload(event, meta, containers, now);
    const deliveries: WebhookDeliveryRecord[] = [];
    for (const [index, hook] of meta.webhooks.entries()) {
      // Each receiver's body carries its own secret only (v1 sent every hook's secret to every hook).
      const body = encodeHookBody(payload, hook.secretToken ?? '', index);
      const record: WebhookDeliveryRecord = {
        id: this.nextId(now),
        metaId: meta.id,
        groupId: meta.groupId,
        event,
        url: hook.url,
        secretToken: hook.secretToken,
        body,
        attempts: 0,
        delivered: false,
        nextAttemptAt: new Date(now).toISOString(),
        createdAt: new Date(now).toISOString(),
      };
      await this.store.create('webhookDeliveries', record.id, record);
      deliveries.push(record);
    }
    if (this.options.bus) {
      const message: MetaEventMessage = {
        event,
        timestamp: payload.Timestamp,
        groupId: meta.groupId,
        metaId: meta.id,
        payload,
        payloadJson: encodeHookBody(payload).trimEnd(),
      };
      try {
        await this.options.bus.publish(CHANNEL.metaEvent, message);
      } catch (err) {
        this.options.logger?.warn({ err, metaId: meta.id, event }, 'could not publish meta event');
      }
    }
    if (deliveries.length > 0) this.kick();
    return { payload, deliveries };
  }

  private seq = 0;

  /** Ids sort in creation order (time, then sequence within this process), so ties keep emit order. */
  private nextId(now: number): string {
    this.seq = (this.seq + 1) % 36 ** 4;
    return `${now.toString(36).padStart(9, '0')}${this.seq.toString(36).padStart(4, '0')}-${randomUUID()}`;
  }

  /** Newest first. */
  async deliveries(metaId: string, first: number): Promise<WebhookDeliveryRecord[]> {
    const all = await this.store.list('webhookDeliveries');
    return all
      .filter((d) => d.metaId === metaId)
      .sort((a, b) => byCreation(b, a))
      .slice(0, Math.max(0, first));
  }

  /** Starts delivering (this gateway became the leader): due entries first, then as they fall due. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.kick();
  }

  /** Stops delivering; an attempt in flight finishes. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.ticking;
  }

  /** Delivers everything due now and waits for it (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.ticking) await this.ticking;
    await this.tick();
  }

  private kick(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.ticking = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.tick();
      } while (this.again && this.running);
    } finally {
      this.ticking = undefined;
      this.scheduleNext();
    }
  }

  private scheduleNext(): void {
    if (!this.running) return;
    const now = this.clock.now();
    const wait = Math.min(this.pollMs, Math.max(0, (this.nextDueAt ?? Infinity) - now));
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimeout(() => {
      this.cancelTimer = undefined;
      this.kick();
    }, wait);
  }

  private async tick(): Promise<void> {
    let pending: WebhookDeliveryRecord[];
    try {
      const all = await this.store.list('webhookDeliveries');
      pending = all.filter((d) => !d.delivered && d.attempts < this.policy.maxAttempts);
      const horizon = this.clock.now() - (this.options.retainMs ?? 7 * 24 * 3600 * 1000);
      const expired = all.filter(
        (d) =>
          (d.delivered || d.attempts >= this.policy.maxAttempts) &&
          Date.parse(d.lastAttemptAt ?? d.createdAt) < horizon,
      );
      if (expired.length > 0) {
        await this.store.deleteMany(
          'webhookDeliveries',
          expired.map((d) => d.id),
        );
      }
    } catch (err) {
      this.options.logger?.warn({ err }, 'could not read the webhook outbox');
      return;
    }
    const now = this.clock.now();
    this.nextDueAt = Infinity;
    // One queue per URL, oldest first, up to its first entry not yet due: a receiver gets its events
    // in order even across failures. Different receivers go in parallel.
    const byUrl = new Map<string, WebhookDeliveryRecord[]>();
    const blocked = new Set<string>();
    for (const d of pending.sort(byCreation)) {
      if (blocked.has(d.url)) continue;
      const dueAt = Date.parse(d.nextAttemptAt);
      if (dueAt > now) {
        blocked.add(d.url);
        this.nextDueAt = Math.min(this.nextDueAt, dueAt);
        continue;
      }
      const list = byUrl.get(d.url) ?? [];
      list.push(d);
      byUrl.set(d.url, list);
    }
    const queues = [...byUrl.values()];
    const workers = Array.from({ length: Math.min(this.concurrency, queues.length) }, async () => {
      for (let queue = queues.shift(); queue; queue = queues.shift()) {
        for (const record of queue) {
          const ok = await this.attempt(record);
          // A receiver that just failed gets the rest of its queue on the next attempt, in order.
          if (!ok) break;
        }
      }
    });
    await Promise.all(workers);
  }

  private async attempt(record: WebhookDeliveryRecord): Promise<boolean> {
    // Only our own words are recorded: what the receiver said beyond its status is not ours to show.
    const result = await this.urlPolicy.send(record.url, {
      headers: webhookHeaders(record.body, record.secretToken),
      body: record.body,
      timeoutMs: this.timeoutMs,
    });
    let statusCode: number | undefined;
    let error: string | undefined;
    switch (result.outcome) {
      case 'answered':
        statusCode = result.statusCode;
        if (statusCode < 200 || statusCode >= 300) error = `answered ${statusCode}`;
        break;
      case 'refused':
        error = `refused: ${result.reason}`;
        break;
      case 'failed':
        error = result.reason;
        break;
    }
    const now = this.clock.now();
    const delivered = error === undefined;
    this.options.onAttempt?.(delivered ? 'delivered' : result.outcome === 'refused' ? 'refused' : 'failed');
    const updated = await this.store.update('webhookDeliveries', record.id, (current) => {
      if (!current || current.delivered) return current;
      const attempts = current.attempts + 1;
      return {
        ...current,
        attempts,
        statusCode,
        delivered,
        error,
        lastAttemptAt: new Date(now).toISOString(),
        nextAttemptAt: delivered
          ? current.nextAttemptAt
          : new Date(now + this.policy.delayMs(attempts)).toISOString(),
      };
    });
    if (!delivered) {
      const log = this.options.logger;
      const context = {
        url: record.url,
        metaId: record.metaId,
        event: record.event,
        attempts: updated?.attempts,
        error,
        ...(result.outcome === 'failed' && result.detail ? { detail: result.detail } : {}),
      };
      if ((updated?.attempts ?? 0) >= this.policy.maxAttempts)
        log?.error(context, 'webhook delivery abandoned');
      else log?.warn(context, 'webhook delivery failed; will retry');
      if (updated && updated.attempts < this.policy.maxAttempts) {
        const at = Date.parse(updated.nextAttemptAt);
        this.nextDueAt = Math.min(this.nextDueAt ?? Infinity, at);
      }
    }
    return delivered;
  }
}

function byCreation(a: WebhookDeliveryRecord, b: WebhookDeliveryRecord): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
