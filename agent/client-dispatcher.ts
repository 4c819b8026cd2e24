/**
 * How AgentClient's requests reach the agents: one HTTP/1.1 connection (an undici Client) per request
 * in flight to an agent, kept alive between requests, as undici's global Agent does it, without what
 * it costs at thousands of agents. The global Agent keeps a Pool per origin, and each Pool a
 * 2,048-slot request queue (16 KB) that a pool without a connection limit never uses (it always has
 * a connection to give): 80 MB at 5,000 agents. A Pool hands a request only to a connection that
 * emitted `drain`, which a Client does an event-loop turn after its response ended (so that a server
 * closing the connection against its word is seen first), so a caller's next request, made as soon
 * as the answer is read, went to a second connection: a Pool of a node had two for its checks, and
 * every connection a burst ever opened (start-up: the challenge, node info, the container list and
 * the event stream at once) stayed open while the agent kept it (agent/main.ts: 65 s).
 */
import type { Duplex } from 'node:stream';
import { Client, Dispatcher, buildConnector } from 'undici';

/**
 * An undici dispatcher for many origins, one Client per connection. A request goes to a connection
 * of its origin whose request is done (the Client sends it once it is free), or to a new one: the
 * event stream, in flight for as long as it is open, never holds up the JSON calls to the same agent,
 * and a slow call (a pull) never holds up a check. Of the connections a burst opened, one stays open
 * once idle (the next call reuses it); the others close. A connection the agent closed goes, Client
 * and all.
 */
export class AgentDispatcher extends Dispatcher {
  /** Each origin's connections, in the order they were opened. */
  private readonly origins = new Map<string, Client[]>();
  /** Requests in flight (dispatched, neither complete nor failed) by connection; none: absent. */
  private readonly inFlight = new Map<Client, number>();
  /** The connections with an open socket. */
  private readonly connected = new Set<Client>();
  /** One connector for every Client (the Pools made one each, with a TLS session cache each). */
  private readonly connector = buildConnector({});

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    // request() and fetch() give the URL's origin (`http://host:port`), as the Clients' URLs have it.
    const origin = typeof options.origin === 'string' ? options.origin : String(options.origin?.origin);
    let clients = this.origins.get(origin);
    if (!clients) this.origins.set(origin, (clients = []));
    let client = clients.find((c) => !this.inFlight.has(c));
    if (!client) {
      client = new Client(origin, { connect: this.connector })
        .on('drain', this.onDrain)
        .on('connect', this.onConnect)
        .on('disconnect', this.onDisconnect)
        .on('connectionError', this.onConnectionError);
      clients.push(client);
    }
    this.inFlight.set(client, (this.inFlight.get(client) ?? 0) + 1);
    client.dispatch(options, new Settling(handler, this, client));
    // There is always a connection to be had (a new one), so callers never wait for `drain`.
    return true;
  }

  /** A request of `client` completed or failed. */
  settled(client: Client): void {
    const n = (this.inFlight.get(client) ?? 1) - 1;
    if (n > 0) this.inFlight.set(client, n);
    else this.inFlight.delete(client);
  }

  /**
   * A connection is free: it stays open for the next request unless another connection of its
   * origin is idle already, or its socket closed meanwhile (the agent ended the response by closing).
   */
  private readonly onDrain = (origin: URL, targets?: readonly Dispatcher[]): void => {
    // A Client emits `drain` with itself as the target, as `connect` (undici's types leave it out).
    const client = targets?.[0] as Client | undefined;
    if (!client || this.inFlight.has(client)) return;
    const others = this.origins.get(origin.origin)?.some((c) => c !== client && !this.inFlight.has(c));
    if (others || !this.connected.has(client)) this.drop(origin.origin, client);
  };

  private readonly onConnect = (_origin: URL, targets: readonly Dispatcher[]): void => {
    this.connected.add(targets[0] as Client);
  };

  /**
   * The agent (or the keep-alive timeout) closed a connection: an idle one goes, Client and all; one
   * with a request still to send dials again (the Client does), and goes once idle (onDrain).
   */
  private readonly onDisconnect = (origin: URL, targets: readonly Dispatcher[]): void => {
    const client = targets[0] as Client;
    this.connected.delete(client);
    if (!this.inFlight.has(client)) this.drop(origin.origin, client);
  };

  /**
   * Connecting failed and the Client failed its requests: it is not used again (as undici's Pool
   * does it; the Client cannot be closed in this state).
   */
  private readonly onConnectionError = (origin: URL, targets: readonly Dispatcher[]): void => {
    const client = targets[0] as Client;
    this.connected.delete(client);
    this.forget(origin.origin, client);
  };

  private drop(origin: string, client: Client): void {
    if (this.forget(origin, client)) void client.close();
  }

  /** Takes the Client out of its origin's list; false when it was not in it. */
  private forget(origin: string, client: Client): boolean {
    const clients = this.origins.get(origin);
    const at = clients?.indexOf(client) ?? -1;
    if (!clients || at < 0) return false;
    clients.splice(at, 1);
    if (clients.length === 0) this.origins.delete(origin);
    return true;
  }

  /** Every connection, once its requests are done. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all(this.all().map((c) => c.close())).then(() => undefined);
    if (!callback) return done;
    void done.then(callback);
  }

  /** Every connection at once, failing its requests with `err`. */
  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all(this.all().map((c) => c.destroy(err))).then(() => undefined);
    if (!callback) return done;
    void done.then(callback);
  }

  private all(): Client[] {
    const clients = [...this.origins.values()].flat();
    this.origins.clear();
    this.connected.clear();
    return clients;
  }
}

/**
 * A request's handler, passed through, that tells the dispatcher when the request is over (complete,
 * failed or upgraded): from then on its connection takes the next request.
 */
class Settling implements Dispatcher.DispatchHandlers {
  private over = false;

  constructor(
    private readonly handler: Dispatcher.DispatchHandlers,
    private readonly dispatcher: AgentDispatcher,
    private readonly client: Client,
  ) {}

  private settle(): void {
    if (this.over) return;
    this.over = true;
    this.dispatcher.settled(this.client);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.handler.onConnect?.(abort);
  }

  onError(err: Error): void {
    this.settle();
    this.handler.onError?.(err);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.settle();
    this.handler.onUpgrade?.(statusCode, headers, socket);
  }

  onResponseStarted(): void {
    this.handler.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    return this.handler.onHeaders?.(statusCode, headers, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.handler.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.settle();
    this.handler.onComplete?.(trailers);
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.handler.onBodySent?.(chunkSize, totalBytesSent);
  }
}

/** The dispatcher of every AgentClient in the process (as undici's global Agent was). */
export const agentDispatcher = new AgentDispatcher();
