import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** How the server closed a graphql-ws connection. */
export interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws connection with one subscription; `closed` settles with the server's close code. */
export async function openSocket(
  url: string,
  token: string,
): Promise<{ client: Client; closed: Promise<Closed> }> {
  let onClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((resolve) => (onClosed = resolve));
  let acked!: () => void;
  const ack = new Promise<void>((resolve) => (acked = resolve));
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    // the close is what these tests wait for (through `closed`), not an error to print
    onNonLazyError: () => undefined,
    on: {
      connected: () => acked(),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        onClosed({ code: e.code, reason: e.reason });
      },
    },
  });
  client.subscribe(
    { query: 'subscription { nodeStatusChanged { at } }' },
    {
      next: () => undefined,
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await ack;
  return { client, closed };
}

/** Rejects after `ms`: a deadline for an event, far below the 30 s re-check of connections. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
