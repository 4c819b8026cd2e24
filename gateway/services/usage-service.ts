import type { UsageService } from '../../core/services.js';
import type { Store } from '../../core/store/store.js';
import { usageSeries, type UsageRange, type UsageSample, type UsageSubject } from '../../core/store/usage.js';

/** Reads the usage history the leader's UsageRecorder writes. */
export class StoreUsageService implements UsageService {
  constructor(private readonly store: Store) {}

  async history(subject: UsageSubject, range: UsageRange): Promise<UsageSample[]> {
    // The store keeps only the range's span (and expires what is not written), so all of it is wanted.
    const [points] = await this.store.usageHistory([usageSeries(subject)], range, 0);
    return points ?? [];
  }

  async latest(subjects: readonly UsageSubject[], maxAgeMs: number): Promise<Array<UsageSample | undefined>> {
    const series = subjects.map(usageSeries);
    const points = await this.store.usageHistory(series, 'HOUR', Date.now() - maxAgeMs);
    return points.map((p) => p[p.length - 1]);
  }
}
