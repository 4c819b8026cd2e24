import zookeeper from 'node-zookeeper-client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { hardenZookeeperClient, nodesPath } from '../../core/zookeeper.js';

const log = pino({ level: 'silent' });

describe('hardenZookeeperClient', () => {
  it('turns a throw from the socket handler into a dropped connection, and clears leftovers on connect', () => {
    let destroyed = 0;
    let connectedWith: Buffer | null | undefined;
    const cm = {
      pendingBuffer: null as Buffer | null,
      socket: { destroy: () => destroyed++ },
      onSocketData(this: { pendingBuffer: Buffer | null }, b: Buffer) {
        this.pendingBuffer = b;
        throw new Error('Unknown code: 2085093395');
      },
      onSocketConnected(this: { pendingBuffer: Buffer | null }) {
        connectedWith = this.pendingBuffer;
      },
    };
    hardenZookeeperClient({ connectionManager: cm } as unknown as zookeeper.Client, log);
    expect(() => cm.onSocketData(Buffer.from([1, 2, 3]))).not.toThrow();
    expect(destroyed).toBe(1);
    expect(cm.pendingBuffer).toBeNull();
    cm.pendingBuffer = Buffer.from([9]);
    cm.onSocketConnected();
    expect(connectedWith).toBeNull();
  });

  it('fits the real client (it has the internals the guard wraps)', () => {
    const client = zookeeper.createClient('127.0.0.1:1');
    const cm = (client as unknown as { connectionManager: Record<string, unknown> }).connectionManager;
    hardenZookeeperClient(client, log);
    expect(Object.prototype.hasOwnProperty.call(cm, 'onSocketData')).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(cm, 'onSocketConnected')).toBe(true);
  });
});

describe('nodesPath', () => {
  it.each([
    ['', 'humpback/center', '/humpback/center/nodes'],
    ['/pre', 'humpback/center', '/pre/humpback/center/nodes'],
    ['/pre', 'x', '/pre/x/nodes'],
  ])('%j + %j', (prefix, name, path) => expect(nodesPath(prefix, name)).toBe(path));
});
