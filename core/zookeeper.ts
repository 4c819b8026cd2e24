/**
 * ZooKeeper conventions shared by the agent (registration) and the gateway (discovery, leader
 * election): where things live under `<prefix>/<clusterName>`, and a client guard.
 */
import type { Client } from 'node-zookeeper-client';
import type { Logger } from './logger.js';

function clusterPath(prefix: string, clusterName: string, leaf: string): string {
  return `${prefix}/${clusterName}/${leaf}`.replace(/\/+/g, '/').replace(/^(?!\/)/, '/');
}

/** The nodes folder for a cluster, where agents register: `<prefix>/<clusterName>/nodes`. */
export function nodesPath(prefix: string, clusterName: string): string {
  return clusterPath(prefix, clusterName, 'nodes');
}

/** The leader election folder for a cluster's gateways: `<prefix>/<clusterName>/leader`. */
export function electionPath(prefix: string, clusterName: string): string {
  return clusterPath(prefix, clusterName, 'leader');
}

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
