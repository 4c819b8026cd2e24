import { randomBytes } from 'node:crypto';
import type { AuditEntry, Store } from '../core/store/store.js';
import type { AuditService } from './services.js';

/** The audit log in the store. Entry ids sort by time, so `before` pages back through it. */
export class StoreAuditService implements AuditService {
  private last = 0;
  private seq = 0;

  constructor(
    private readonly store: Store,
    /** Milliseconds since the epoch. @default Date.now */
    private readonly now: () => number = Date.now,
  ) {}

  async record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    const at = this.now();
    this.seq = at === this.last ? this.seq + 1 : 0;
    this.last = at;
    // time (ms, base 36, fixed width) + a per-millisecond sequence + randomness across gateways
    const id = `${at.toString(36).padStart(9, '0')}-${this.seq.toString(36).padStart(3, '0')}-${randomBytes(3).toString('hex')}`;
    await this.store.appendAudit({ ...entry, id, at: new Date(at).toISOString() });
  }

  list(options: { limit: number; before?: string | undefined }): Promise<AuditEntry[]> {
    return this.store.listAudit(options);
  }
}
