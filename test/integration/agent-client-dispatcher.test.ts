import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { AgentDispatcher } from '../../agent/client-dispatcher.js';
import { waitFor } from '../helpers/test-env.js';

/** An HTTP server on port 0 that counts its connections; `/hold` answers only when released. */
class CountingServer {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  connections = 0;
  private held: ServerResponse[] = [];

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/hold') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write('{"first":true}\n');
        this.held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url }));
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket: Socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return `http://127.0.0.1:${address.port}`;
  }

  release(): void {
    for (const res of this.held) res.end();
    this.held = [];
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('AgentDispatcher', () => {
  let server: CountingServer;
  let base: string;
  let dispatcher: AgentDispatcher;

  beforeEach(async () => {
    server = new CountingServer();
    base = await server.listen();
    dispatcher = new AgentDispatcher();
  });

  afterEach(async () => {
    await dispatcher.destroy();
    await server.close();
  });

  const getJson = async (path: string): Promise<unknown> => {
    const res = await request(`${base}${path}`, { dispatcher });
    return res.body.json();
  };

  it('sends one request after another over one kept-alive connection', async () => {
    for (let i = 0; i < 5; i++) expect(await getJson(`/n/${i}`)).toEqual({ url: `/n/${i}` });
    expect(server.connections).toBe(1);
  });

  it('answers a call while a long response (an event stream) is open to the same origin', async () => {
    const stream = await fetch(`${base}/hold`, { dispatcher });
    const reader = stream.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('{"first":true}\n');
    expect(await getJson('/ping')).toEqual({ url: '/ping' });
    expect(await getJson('/ping')).toEqual({ url: '/ping' });
    // The stream's connection and one for the calls.
    expect(server.connections).toBe(2);
    server.release();
    while (!(await reader.read()).done);
  });

  it('opens a connection per concurrent request, and keeps one of them open once they are done', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => getJson(`/c/${i}`)));
    expect(answers).toEqual(Array.from({ length: 4 }, (_, i) => ({ url: `/c/${i}` })));
    expect(server.connections).toBe(4);
    await waitFor(() => server.sockets.size === 1, { description: 'the idle connections but one closed' });
    expect(await getJson('/after')).toEqual({ url: '/after' });
    expect(server.connections).toBe(4);
  });

  it('dials again when the agent closed the idle connection', async () => {
    expect(await getJson('/a')).toEqual({ url: '/a' });
    for (const socket of server.sockets) socket.destroy();
    await waitFor(() => server.sockets.size === 0, { description: 'the connection closed' });
    expect(await getJson('/b')).toEqual({ url: '/b' });
    expect(server.connections).toBe(2);
  });

  it('fails a request to an origin that refuses, then reaches it once it listens', async () => {
    const other = new CountingServer();
    const url = await other.listen();
    await other.close();
    await expect(request(`${url}/x`, { dispatcher })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const again = new CountingServer();
    await new Promise<void>((resolve) =>
      again.server.listen(Number(new URL(url).port), '127.0.0.1', resolve),
    );
    try {
      const res = await request(`${url}/y`, { dispatcher });
      expect(await res.body.json()).toEqual({ url: '/y' });
    } finally {
      await again.close();
    }
  });
});
