import { attemptDelayMs, type AttemptLimit, type AttemptOutcome } from './store.js';

interface Counter {
  count: number;
  /** When the last attempt was counted (ms since the epoch). */
  at: number;
  /** When the key is forgotten. */
  expiresAt: number;
}

/** Sweep expired keys once the map has grown by this many since the last sweep. */
const SWEEP_EVERY = 1024;

/**
 * `Store.countAttempt` and `settleAttempt` in memory, for the stores of one process (the embedded
 * store; test fakes). Each call runs in one synchronous step, so attempts cannot interleave. Keys
 * expire like the Redis ones; expired keys are swept as the map grows, so it holds only live keys.
 */
export class AttemptCounters {
  private readonly counters = new Map<string, Counter>();
  private sweepAt = SWEEP_EVERY;

  count(limits: readonly AttemptLimit[], now: number): AttemptOutcome {
    let retryAfterMs = 0;
    for (const limit of limits) {
      const counter = this.live(limit.key, now);
      if (!counter) continue;
      const until = counter.at + attemptDelayMs(limit, counter.count);
      retryAfterMs = Math.max(retryAfterMs, until - now);
    }
    if (retryAfterMs > 0) return { outcome: 'wait', retryAfterMs };
    const counts = limits.map((limit) => {
      const count = (this.live(limit.key, now)?.count ?? 0) + 1;
      const expiresAt = now + attemptDelayMs(limit, count) + limit.windowMs;
      this.counters.set(limit.key, { count, at: now, expiresAt });
      return count;
    });
    if (this.counters.size >= this.sweepAt) this.sweep(now);
    return { outcome: 'counted', counts };
  }

  settle(keys: { reset: readonly string[]; release: readonly string[] }): void {
    for (const key of keys.reset) this.counters.delete(key);
    for (const key of keys.release) {
      const counter = this.counters.get(key);
      if (!counter) continue;
      if (counter.count <= 1) this.counters.delete(key);
      else counter.count -= 1;
    }
  }

  /** Keys held (for tests of the sweep). */
  get size(): number {
    return this.counters.size;
  }

  private live(key: string, now: number): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.expiresAt <= now) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  private sweep(now: number): void {
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
    this.sweepAt = this.counters.size + SWEEP_EVERY;
  }
}
