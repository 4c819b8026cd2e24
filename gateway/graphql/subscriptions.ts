import {
  createSourceEventStream,
  execute,
  Kind,
  visit,
  BREAK,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { EventBus } from '../../core/bus.js';
import type { Logger } from '../../core/logger.js';
import { serializeResult } from './ws-transport.js';
import {
  CHANNEL,
  routesOf,
  type Channel,
  type ChannelListener,
  type ChannelMessage,
} from '../../core/bus/channels.js';

/** A listener's buffer limit: a subscriber that falls this far behind loses its oldest events. */
const MAX_QUEUED = 10_000;

/**
 * An async iterator fed by push(); what a GraphQL subscription resolver returns. Bounded: a slow
 * consumer drops its oldest messages rather than growing without limit.
 */
export class PushIterator<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private done = false;
  dropped = 0;

  constructor(private readonly onReturn: () => void) {}

  push(value: T): void {
    if (this.done) return;
    const resolve = this.waiting;
    if (resolve) {
      this.waiting = undefined;
      resolve({ value, done: false });
      return;
    }
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(value);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift() as T, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.end();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
    this.onReturn();
  }
}

type MessageListener = (message: unknown) => void;

/** One channel's listeners: those that test every message, and those routed by a key (routesOf). */
class ChannelListeners {
  readonly all = new Set<MessageListener>();
  readonly routed = new Map<string, Set<MessageListener>>();

  add(listener: MessageListener, routeKey: string | undefined): () => void {
    if (routeKey === undefined) {
      this.all.add(listener);
      return () => this.all.delete(listener);
    }
    let set = this.routed.get(routeKey);
    if (!set) this.routed.set(routeKey, (set = new Set()));
    set.add(listener);
    const target = set;
    return () => {
      target.delete(listener);
      if (target.size === 0 && this.routed.get(routeKey) === target) this.routed.delete(routeKey);
    };
  }

  get size(): number {
    let n = this.all.size;
    for (const set of this.routed.values()) n += set.size;
    return n;
  }
}

/**
 * Subscribes once per channel to the bus and fans each message out to the in-memory listeners that
 * accept it: those listening by route key (a node, meta or group) see only the messages carrying it.
 */
export class SubscriptionHub implements ChannelListener {
  private readonly listeners = new Map<Channel, ChannelListeners>();
  private readonly unsubscribes: Array<() => Promise<void>> = [];
  private started: Promise<void> | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly logger?: Logger,
  ) {}

  /** Subscribes to every channel on the bus; idempotent. */
  start(): Promise<void> {
    this.started ??= (async () => {
      for (const channel of Object.values(CHANNEL)) {
        const listeners = this.channel(channel);
        const unsubscribe = await this.bus.subscribe(channel, (message) => {
          this.deliver(channel, listeners.all, message);
          if (listeners.routed.size === 0) return;
          for (const key of routesOf(channel, message as ChannelMessage[typeof channel])) {
            const set = listeners.routed.get(key);
            if (set) this.deliver(channel, set, message);
          }
        });
        this.unsubscribes.push(unsubscribe);
      }
    })();
    return this.started;
  }

  /** How many in-memory listeners are attached (all channels). */
  get listenerCount(): number {
    let n = 0;
    for (const listeners of this.listeners.values()) n += listeners.size;
    return n;
  }

  /** Messages of `channel` that pass `filter` (of those carrying `routeKey`), until the iterator is returned. */
  listen<C extends Channel>(
    channel: C,
    filter: (message: ChannelMessage[C]) => boolean,
    routeKey?: string,
  ): AsyncIterableIterator<ChannelMessage[C]> {
    // listen() before start() resolved: the listener is kept, start() attaches the channel
    const listeners = this.channel(channel);
    const iterator = new PushIterator<ChannelMessage[C]>(() => remove());
    const remove = listeners.add((message: unknown): void => {
      const typed = message as ChannelMessage[C];
      if (filter(typed)) iterator.push(typed);
    }, routeKey);
    return iterator;
  }

  private channel(channel: Channel): ChannelListeners {
    let listeners = this.listeners.get(channel);
    if (!listeners) this.listeners.set(channel, (listeners = new ChannelListeners()));
    return listeners;
  }

  private deliver(channel: Channel, set: Set<MessageListener>, message: unknown): void {
    for (const listener of set) {
      try {
        listener(message);
      } catch (err) {
        this.logger?.error({ err, channel }, 'subscription listener failed');
      }
    }
  }

  async close(): Promise<void> {
    const unsubscribes = this.unsubscribes.splice(0);
    await Promise.all(unsubscribes.map((u) => u()));
    this.listeners.clear();
  }
}

type SubscribeFn = (args: ExecutionArgs) => Promise<AsyncGenerator<ExecutionResult> | ExecutionResult>;

/**
 * One result of a shared execution as every client of it receives it: serialised once, and whatever a
 * transport derives from that JSON (a whole WebSocket frame per subscription id) made once too.
 */
export class SharedResult {
  private text: string | undefined;
  private readonly derived = new Map<string, object>();

  constructor(readonly result: ExecutionResult) {}

  get json(): string {
    return (this.text ??= serializeResult(this.result));
  }

  /** `make(json)` for the first client that asks with `key`, the same value for the others. */
  shared<T extends object>(key: string, make: (json: string) => T): T {
    const known = this.derived.get(key);
    if (known !== undefined) return known as T;
    const value = make(this.json);
    this.derived.set(key, value);
    return value;
  }
}

/** Where a client's results go when the transport can take them directly. */
export interface SubscriptionSink {
  next(result: SharedResult): void;
  /**
   * Puts the client in a group instead: sinks of one execution whose `join` gives the same group are
   * handed each result once, through the group's `next` (a transport writing the same frame to all
   * their sockets); `next` is then not called. `leave` when the client detaches.
   */
  join?(): { shared: SinkGroup; leave(): void };
}

export interface SinkGroup {
  next(result: SharedResult): void;
}

interface Listener {
  /** Absent for a client served through a group. */
  deliver: ((result: SharedResult) => void) | undefined;
  end(): void;
}

interface SharedExecution {
  /** Resolves once the source stream exists; an ExecutionResult means it failed to start. */
  ready: Promise<ExecutionResult | undefined>;
  source: AsyncIterator<SharedResult> | undefined;
  listeners: Set<Listener>;
  /** The groups of the listeners that joined one, with how many joined each. */
  groups: Map<SinkGroup, number>;
  /** The listeners served one by one (no group): a result is not walked past every grouped one. */
  direct: Set<Listener>;
}

/** An iterator that yields nothing and ends when the execution ends: results go to a sink instead. */
class SinkIterator implements AsyncIterableIterator<ExecutionResult> {
  private done = false;
  private waiting: ((r: IteratorResult<ExecutionResult>) => void) | undefined;

  constructor(private readonly onReturn: () => void) {}

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.done) {
      this.done = true;
      this.waiting?.({ value: undefined, done: true });
      this.waiting = undefined;
      this.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    void this.return();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }
}

/**
 * Whether the operation's variables reach only its root fields' arguments: then they only choose
 * which events come (a subscription's arguments are read by its `subscribe`, never by its resolver:
 * resolvers/subscription.resolver.ts), and one event's result is the same whatever their values.
 */
export function variablesOnlyChooseEvents(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): boolean {
  let used = false;
  const find = { Variable: () => ((used = true), BREAK) };
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return false;
    for (const directive of selection.directives ?? []) visit(directive, find);
    if (selection.selectionSet) visit(selection.selectionSet, find);
  }
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, find);
  return !used;
}

/** An execution's results: each event of its source stream mapped by `result`. */
class EventResults implements AsyncIterator<SharedResult> {
  constructor(
    private readonly events: AsyncIterator<unknown>,
    private readonly result: (event: unknown) => Promise<SharedResult>,
  ) {}

  async next(): Promise<IteratorResult<SharedResult>> {
    const event = await this.events.next();
    if (event.done) return { value: undefined, done: true };
    return { value: await this.result(event.value), done: false };
  }

  // (Forwarded at once: the event stream's listener goes even while a next() waits for an event.)
  async return(): Promise<IteratorResult<SharedResult>> {
    await this.events.return?.();
    return { value: undefined, done: true };
  }
}

/**
 * Runs each distinct subscription once per gateway and hands every result to all the clients that
 * asked for it, serialised once. Callers give the key: clients with the same key must be entitled to
 * exactly the same results (same document, operation name and variables, and the same access scope).
 *
 * Executions may also share their results per event: those given the same `resultKey` (the key less
 * the variables, when the variables only choose the events: `variablesOnlyChooseEvents`) execute an
 * event they all receive once (a cluster view and the node pages get one result of each event of a
 * node, not one each). Their events are the source streams' own values (graphql's
 * createSourceEventStream), each executed as graphql's subscribe would map it (resultOfEvent).
 */
export class SharedSubscriptions {
  private readonly executions = new Map<string, SharedExecution>();
  /** Per event (the bus's message, the same object for every listener), its results by result key. */
  private readonly byEvent = new WeakMap<object, Map<string, Promise<SharedResult>>>();
  /** Documents' operations compiled for their events (the documents are the ws server's, cached). */
  private readonly compiledQueries = new WeakMap<DocumentNode, Map<string, CompiledQuery | undefined>>();

  constructor(
    private readonly run: SubscribeFn,
    /** Applied once per result before it is fanned out (error masking). */
    private readonly transform: (result: ExecutionResult) => ExecutionResult = (r) => r,
    private readonly logger?: Logger,
    /** Told once per result how many clients it was handed to (a metric counted per client is costly). */
    private readonly delivered?: (count: number) => void,
  ) {}

  /** How many distinct executions are running. */
  get size(): number {
    return this.executions.size;
  }

  /** How many clients are attached to the execution of `key`. */
  listenersOf(key: string): number {
    return this.executions.get(key)?.listeners.size ?? 0;
  }

  /**
   * Attaches a client to the execution of `key`, starting it with `args` if needed. With a sink, the
   * results go to the sink and the returned iterator only tells when the execution ends; without one,
   * the iterator yields them. An ExecutionResult means the subscription could not start.
   */
  async subscribe(
    key: string,
    args: ExecutionArgs,
    sink?: SubscriptionSink,
    resultKey?: string,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    let execution = this.executions.get(key);
    if (!execution) {
      const created: SharedExecution = {
        ready: Promise.resolve(undefined),
        source: undefined,
        listeners: new Set(),
        groups: new Map(),
        direct: new Set(),
      };
      execution = created;
      this.executions.set(key, created);
      created.ready = this.start(key, created, args, resultKey);
    }
    const failed = await execution.ready;
    if (failed) return this.transform(failed);
    // it ended meanwhile
    if (this.executions.get(key) !== execution) return this.subscribe(key, args, sink, resultKey);
    const target = execution;
    let leave: (() => void) | undefined;
    const detach = (): void => {
      target.listeners.delete(listener);
      target.direct.delete(listener);
      leave?.();
      if (target.listeners.size === 0 && this.executions.get(key) === target) {
        this.executions.delete(key);
        void target.source?.return?.();
      }
    };
    let listener: Listener;
    let iterator: AsyncIterableIterator<ExecutionResult>;
    if (sink) {
      const idle = new SinkIterator(detach);
      const membership = sink.join?.();
      if (membership) leave = this.joinGroup(target, membership);
      listener = {
        deliver: membership ? undefined : (result) => sink.next(result),
        end: () => void idle.return(),
      };
      iterator = idle;
    } else {
      const push = new PushIterator<ExecutionResult>(detach);
      listener = { deliver: (shared) => push.push(shared.result), end: () => void push.return() };
      iterator = push;
    }
    target.listeners.add(listener);
    if (listener.deliver) target.direct.add(listener);
    return iterator;
  }

  /** Counts the listener in its group; returns the leave that undoes it. */
  private joinGroup(
    execution: SharedExecution,
    membership: { shared: SinkGroup; leave(): void },
  ): () => void {
    const group = membership.shared;
    execution.groups.set(group, (execution.groups.get(group) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      membership.leave();
      const n = (execution.groups.get(group) ?? 1) - 1;
      if (n > 0) execution.groups.set(group, n);
      else execution.groups.delete(group);
    };
  }

  private async start(
    key: string,
    execution: SharedExecution,
    args: ExecutionArgs,
    resultKey: string | undefined,
  ): Promise<ExecutionResult | undefined> {
    let source: AsyncIterator<SharedResult>;
    try {
      if (resultKey === undefined) {
        const result = await this.run(args);
        if (!(Symbol.asyncIterator in result)) {
          this.executions.delete(key);
          return result;
        }
        source = this.resultsOf(result[Symbol.asyncIterator]());
      } else {
        const events = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in events)) {
          this.executions.delete(key);
          return events;
        }
        const compiled = this.compiled(args);
        source = new EventResults(events[Symbol.asyncIterator](), (event) =>
          this.resultOfEvent(event, resultKey, args, compiled),
        );
      }
    } catch (err) {
      this.executions.delete(key);
      throw err;
    }
    execution.source = source;
    void this.pump(key, execution, source);
    return undefined;
  }

  /** The run's results, each made a SharedResult. */
  private resultsOf(results: AsyncIterator<ExecutionResult>): AsyncIterator<SharedResult> {
    return {
      next: async () => {
        const next = await results.next();
        return next.done ? next : { value: new SharedResult(this.transform(next.value)), done: false };
      },
      return: async () => {
        await results.return?.();
        return { value: undefined, done: true };
      },
    };
  }

  /**
   * `event`'s result for the executions of `resultKey`: executed by the first that asks, as graphql-jit
   * code compiled once per document and operation (graphql-js for what graphql-jit cannot compile).
   */
  private resultOfEvent(
    event: unknown,
    resultKey: string,
    args: ExecutionArgs,
    compiled: CompiledQuery | undefined,
  ): Promise<SharedResult> {
    const run = async (): Promise<SharedResult> =>
      new SharedResult(
        this.transform(
          await (compiled
            ? compiled.query(event, args.contextValue, args.variableValues ?? {})
            : execute({ ...args, rootValue: event })),
        ),
      );
    if (typeof event !== 'object' || event === null) return run();
    let results = this.byEvent.get(event);
    if (!results) this.byEvent.set(event, (results = new Map()));
    let result = results.get(resultKey);
    if (!result) results.set(resultKey, (result = run()));
    return result;
  }

  private compiled(args: ExecutionArgs): CompiledQuery | undefined {
    let byOperation = this.compiledQueries.get(args.document);
    if (!byOperation) this.compiledQueries.set(args.document, (byOperation = new Map()));
    const name = args.operationName ?? '';
    if (!byOperation.has(name)) {
      let compiled: CompiledQuery | undefined;
      try {
        const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
        if (isCompiledQuery(result)) compiled = result;
      } catch {
        // graphql-js runs it
      }
      byOperation.set(name, compiled);
    }
    return byOperation.get(name);
  }

  private async pump(
    key: string,
    execution: SharedExecution,
    source: AsyncIterator<SharedResult>,
  ): Promise<void> {
    try {
      for (;;) {
        const next = await source.next();
        if (next.done) break;
        const value = next.value;
        for (const group of execution.groups.keys()) {
          try {
            group.next(value);
          } catch (err) {
            this.logger?.error({ err }, 'subscription delivery failed');
          }
        }
        for (const listener of execution.direct) {
          try {
            listener.deliver?.(value);
          } catch (err) {
            this.logger?.error({ err }, 'subscription delivery failed');
          }
        }
        this.delivered?.(execution.listeners.size);
      }
    } catch (err) {
      this.logger?.error({ err }, 'shared subscription failed');
    } finally {
      if (this.executions.get(key) === execution) this.executions.delete(key);
      for (const listener of [...execution.listeners]) listener.end();
    }
  }
}
