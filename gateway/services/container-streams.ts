/**
 * Live logs and stats of containers: one engine stream per container (a following log stream, a
 * stats stream) however many clients watch it, shared by every subscriber on this gateway and closed
 * when the last one leaves. A log subscriber first gets the lines it asked for (tail/since, one
 * request that does not follow), then the shared stream's new lines after them.
 */
import type { ContainerStats, ContainerStreamService, LogLine } from '../../core/services.js';
import { badInput, notFound } from '../../core/errors.js';
import type { ServiceDeps } from './container-service.js';
import { callAgent, usableNode } from './container-service.js';

/** A subscriber that falls this far behind loses its oldest lines or samples. */
const MAX_QUEUED = 10_000;
/** The most lines a log subscriber may ask for before the live ones. */
export const MAX_LOG_TAIL = 10_000;
/** Lines before the live ones when neither tail nor since is given. */
const DEFAULT_TAIL = 100;

/** One subscriber's values: bounded, ended by the feed or returned by the subscriber. */
export class StreamQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private done = false;

  constructor(private readonly onReturn: () => void) {}

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return;
    }
    if (this.items.length >= MAX_QUEUED) this.items.shift();
    this.items.push(value);
  }

  /** Replaces what is queued (before anyone reads): the log history goes in front of the live lines. */
  rewrite(fn: (queued: T[]) => T[]): void {
    this.items = fn(this.items);
  }

  /** The feed ended: what is queued is still read, then the iterator ends. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.items = [];
    this.end();
    this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** One engine stream and its subscribers. */
class Feed<T> {
  private readonly listeners = new Set<StreamQueue<T>>();
  private readonly ac = new AbortController();
  ended = false;
  readonly opened: Promise<void>;

  constructor(
    open: (signal: AbortSignal) => Promise<AsyncIterable<T>>,
    private readonly onEnd: () => void,
  ) {
    this.opened = open(this.ac.signal).then((source) => {
      void this.pump(source);
    });
    this.opened.catch(() => this.finish());
  }

  attach(): StreamQueue<T> {
    const q: StreamQueue<T> = new StreamQueue<T>(() => {
      this.listeners.delete(q);
      if (this.listeners.size === 0) this.finish();
    });
    this.listeners.add(q);
    return q;
  }

  private async pump(source: AsyncIterable<T>): Promise<void> {
    try {
      for await (const v of source) for (const l of this.listeners) l.push(v);
    } catch {
      // Cut (the last subscriber left) or the agent's stream failed: the subscribers see it end.
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.ac.abort();
    for (const l of this.listeners) l.end();
    this.listeners.clear();
    this.onEnd();
  }
}

/** Docker's RFC 3339 time (a fraction of up to 9 digits, trailing zeros dropped) as a sortable key. */
export function timeKey(at: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(at);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}` : at;
}

interface Counter {
  open: number;
  opened: number;
}

export class ContainerStreams implements ContainerStreamService {
  private readonly logFeeds = new Map<string, Feed<LogLine>>();
  private readonly statsFeeds = new Map<string, Feed<ContainerStats>>();
  private readonly counters = { logs: { open: 0, opened: 0 }, stats: { open: 0, opened: 0 } };

  constructor(private readonly deps: ServiceDeps) {}

  counts(): { logs: Counter; stats: Counter } {
    return { logs: { ...this.counters.logs }, stats: { ...this.counters.stats } };
  }

  private target(id: string) {
    const container = this.deps.cache.findContainer(id);
    if (!container) throw notFound('container', id);
    return { container, ...usableNode(this.deps, container.nodeId) };
  }

  /** The feed of `id` in `feeds`, started when there is none (or the last one ended). */
  private async feed<T>(
    feeds: Map<string, Feed<T>>,
    counter: Counter,
    id: string,
    open: (signal: AbortSignal) => Promise<AsyncIterable<T>>,
  ): Promise<StreamQueue<T>> {
    let feed = feeds.get(id);
    if (!feed || feed.ended) {
      counter.opened++;
      counter.open++;
      const created: Feed<T> = new Feed<T>(open, () => {
        counter.open--;
        if (feeds.get(id) === created) feeds.delete(id);
      });
      feed = created;
      feeds.set(id, created);
    }
    const q = feed.attach();
    try {
      await feed.opened;
    } catch (err) {
      void q.return();
      throw err;
    }
    return q;
  }

  async stats(id: string): Promise<AsyncIterableIterator<ContainerStats>> {
    const { container, node, agent } = this.target(id);
    return this.feed(this.statsFeeds, this.counters.stats, container.id, (signal) =>
      callAgent(this.deps, node, () => agent.statsStream(container.id, signal)),
    );
  }

  async logs(
    id: string,
    from: { tail?: number | undefined; since?: string | undefined },
  ): Promise<AsyncIterableIterator<LogLine>> {
    const tail = from.tail ?? (from.since ? undefined : DEFAULT_TAIL);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0 || tail > MAX_LOG_TAIL)) {
      throw badInput(`tail must be a whole number between 0 and ${MAX_LOG_TAIL}`, 'tail');
    }
    const since = from.since ? Date.parse(from.since) / 1000 : undefined;
    const { container, node, agent } = this.target(id);
    // Live first, so no line printed while the history is read is missed; the live lines the history
    // has already are dropped by time.
    const live = await this.feed(this.logFeeds, this.counters.logs, container.id, (signal) =>
      callAgent(this.deps, node, () => agent.logLines(container.id, { tail: 0, follow: true }, signal)),
    );
    const history: LogLine[] = [];
    try {
      if (tail !== 0) {
        const ac = new AbortController();
        const lines = await callAgent(this.deps, node, () =>
          agent.logLines(container.id, { tail, since, follow: false }, ac.signal),
        );
        for await (const l of lines) history.push(l);
      }
    } catch (err) {
      void live.return();
      throw err;
    }
    const last = history.length ? timeKey(history[history.length - 1]!.at) : undefined;
    live.rewrite((queued) => [...history, ...queued.filter((l) => !last || timeKey(l.at) > last)]);
    return live;
  }
}
