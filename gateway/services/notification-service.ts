import { randomUUID } from 'node:crypto';
import { NotificationEvent } from '../../core/domain.js';
import { badInput } from '../../core/errors.js';
import type { NotificationService } from '../../core/services.js';
import type { NotificationChannelRecord, Store } from '../../core/store/store.js';

const KINDS = ['webhook', 'email'] as const;
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

/** Notification channels in the store; the leader's Notifier reads them when something happens. */
export class StoreNotificationService implements NotificationService {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async list(): Promise<NotificationChannelRecord[]> {
    const all = await this.store.list('notificationChannels');
    return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async add(input: {
    kind: string;
    target: string;
    events: readonly NotificationEvent[];
    secretToken?: string | undefined;
  }): Promise<NotificationChannelRecord> {
    const kind = input.kind.trim().toLowerCase();
    if (!(KINDS as readonly string[]).includes(kind))
      throw badInput(`kind must be webhook or email, not "${input.kind}"`, 'kind');
    const target = input.target.trim();
    if (kind === 'email' && !EMAIL.test(target))
      throw badInput(`target must be an email address for an email channel, not "${input.target}"`, 'target');
    if (kind === 'webhook' && !isHttpUrl(target))
      throw badInput(`target must be an http(s) URL for a webhook channel, not "${input.target}"`, 'target');
    if (input.events.length === 0) throw badInput('events must name at least one event', 'events');
    const unknown = input.events.filter((e) => !(e in NotificationEvent));
    if (unknown.length > 0) throw badInput(`events: unknown ${unknown.join(', ')}`, 'events');
    if (input.secretToken !== undefined && kind !== 'webhook')
      throw badInput('secretToken is only for webhook channels', 'secretToken');
    const record: NotificationChannelRecord = {
      id: randomUUID(),
      kind: kind as NotificationChannelRecord['kind'],
      target,
      events: [...new Set(input.events)],
      secretToken: input.secretToken || undefined,
      createdAt: this.now().toISOString(),
    };
    await this.store.create('notificationChannels', record.id, record);
    return record;
  }

  remove(id: string): Promise<boolean> {
    return this.store.delete('notificationChannels', id);
  }
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
