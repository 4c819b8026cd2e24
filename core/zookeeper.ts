/**
 * ZooKeeper conventions shared by the agent (registration) and the gateway (discovery, leader
 * election): where things live under `<prefix>/<clusterName>`, and a client guard.
 */
import zookeeper, { type Client } from 'node-zookeeper-client';
import type { Logger } from './logger.js';

export { electionPath, nodesPath } from './discovery.js';

interface ConnectionManagerInternals {
  pendingBuffer: Buffer | null;
  socket?: { destroy(): void };
  onSocketData(buffer: Buffer): void;
  onSocketConnected(): void;
}

/**
 * Works around a node-zookeeper-client bug that can kill the process when ZooKeeper goes away and
 * comes back (alexguan/node-zookeeper-client#23, #70): a partial frame from the old socket is kept
 * and glued to the new socket's data, and the garbled frame throws `Unknown code: ...` from the socket
 * handler, where nobody can catch it. This clears the leftover on every new connection and turns a
 * throw into a dropped connection, after which the client reconnects by itself. Call it right after
 * `createClient`, before `connect`.
 */
export function hardenZookeeperClient(client: Client, log: Logger): void {
  const cm = (client as unknown as { connectionManager?: ConnectionManagerInternals }).connectionManager;
  if (!cm || typeof cm.onSocketData !== 'function' || typeof cm.onSocketConnected !== 'function') return;
  const onData = cm.onSocketData;
  const onConnected = cm.onSocketConnected;
  // The library binds these per socket (`self.onSocketData.bind(self)`), so own properties win.
  cm.onSocketConnected = function (this: ConnectionManagerInternals) {
    this.pendingBuffer = null;
    onConnected.call(this);
  };
  cm.onSocketData = function (this: ConnectionManagerInternals, buffer: Buffer) {
    try {
      onData.call(this, buffer);
    } catch (err) {
      log.warn({ err: String(err) }, 'garbled ZooKeeper response; dropping the connection');
      this.pendingBuffer = null;
      this.socket?.destroy();
    }
  };
}

/**
 * A client for `connectionString` that reconnects by itself (spinDelay ms between tries, no request
 * retries: callers decide) with its errors logged once (hardenZookeeperClient).
 */
export function openZookeeperClient(
  connectionString: string,
  sessionTimeoutMs: number,
  spinDelay: number,
  log: Logger | undefined,
): Client {
  const client = zookeeper.createClient(connectionString, {
    sessionTimeout: sessionTimeoutMs,
    spinDelay,
    retries: 0,
  });
  if (log) hardenZookeeperClient(client, log);
  return client;
}

/** A node-zookeeper-client call as a promise with a deadline (requests queue while disconnected). */
export function call<T>(fn: (cb: (err: unknown, result: T) => void) => void, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ZooKeeper request timed out')), timeoutMs);
    fn((err, result) => {
      clearTimeout(t);
      if (err) reject(err as Error);
      else resolve(result);
    });
  });
}

export function isZkCode(err: unknown, code: number): boolean {
  return (
    typeof (err as { getCode?: unknown })?.getCode === 'function' &&
    (err as { getCode(): number }).getCode() === code
  );
}
