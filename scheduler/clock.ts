/**
 * Time as the scheduler sees it. Passed in everywhere, so tests of migration delays, recovery passes
 * and webhook backoff run in milliseconds.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** The real clock. Timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** A real clock whose delays are divided by `factor` (tests: 1 s of policy becomes 1 ms). */
export function scaledClock(factor: number): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms / factor),
  };
}
