import type http from 'node:http';
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, handleProtocols, type makeServer } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../../core/logger.js';
import { jsonNestsDeeper, pruneJson } from './cost.js';
import { stringifyExact } from '../../core/exact-json.js';
import { CoalescingWriter, textFrame, type GroupMembership } from './ws-writer.js';

export { textFrame, type GroupMembership } from './ws-writer.js';

/**
 * graphql-ws on `ws`, like graphql-ws's own `use/ws` but built for fan-out:
 *
 * - `send` does not wait for the write to finish, so one slow socket never holds back a subscription's
 *   next result, and the messages for a socket within `flushMillis` go out as one write of ready
 *   frames (one syscall, no per-message stream bookkeeping);
 * - a subscription result that many clients receive is serialised once (see `rawPayload`): each client
 *   only stringifies a small envelope; a shared execution's result goes further (`sendFrame`): one
 *   frame, envelope included, for all its clients of the same subscription id, written to all of
 *   them as the same buffer (no copy, no encoding per client; see ws-writer.ts);
 * - a client that does not read its messages (more than `maxBufferedBytes` queued) is disconnected.
 */
export interface WsTransportOptions {
  /** Ping every so often; a client that does not pong before the next ping is terminated. @default 12000 */
  keepAliveMillis?: number | undefined;
  /**
   * Coalescing tick for writes; 0 writes at the end of the current event-loop turn. Each tick writes
   * the sockets' own frames and, for shared subscriptions, slices of each group's members in turn
   * while the tick's writes (one syscall per socket) take under a quarter of it (ws-writer.ts).
   * @default 20
   */
  flushMillis?: number | undefined;
  /** The longest a member of a shared subscription waits for its write (slices of flushMillis). @default 100 */
  maxFlushMillis?: number | undefined;
  /** @default 16 MiB */
  maxBufferedBytes?: number | undefined;
  /**
   * Deepest nesting of objects and arrays a message may have (the message itself is 1). A deeper one
   * is not parsed (JSON.parse takes some 200 ms over a megabyte of `[[[[`): a `subscribe` message is
   * answered with `tooDeep(extra)` as its errors, when that gives any, and anything else closes the
   * socket with 4400. @default no limit
   */
  maxMessageDepth?: number | undefined;
  /** The errors that answer a `subscribe` message refused as too deep; undefined closes the socket. */
  tooDeep?: ((extra: WsExtra) => readonly GraphQLFormattedError[] | undefined) | undefined;
  logger?: Logger | undefined;
}

/** What graphql-ws hands the hooks as `ctx.extra`. */
export type WsExtra = {
  socket: WebSocket;
  request: http.IncomingMessage;
  /** Serialised payloads by token, consumed by `send` (see rawPayload). */
  raw: Map<string, string>;
  /** Sends a ready graphql-transport-ws message. */
  sendRaw: (data: string) => void;
  /** Sends a complete text frame (textFrame), possibly the very buffer other sockets are sent too. */
  sendFrame: (frame: Buffer) => void;
  /**
   * Joins this socket to the group of `key`: what the group's `send` is given goes to every member,
   * taken once and written as one buffer for all (see ws-writer.ts). The first join makes the group's
   * shared value with `init`.
   */
  joinGroup: <T>(key: string, init: (send: (frame: Buffer) => void) => T) => GroupMembership<T>;
  [key: string]: unknown;
};

const RAW_MARK = '"\\u0000hb';
let rawSeq = 0;

/** A `next` payload that JSON.stringify prints as a short token, replaced on send by the cached JSON. */
class RawPayload {
  readonly token = `\u0000hb${(rawSeq++).toString(36)}`;
  constructor(readonly json: string) {}
  toJSON(): string {
    return this.token;
  }
}

const serialised = new WeakMap<ExecutionResult, RawPayload>();

/** A result as JSON, errors included (GraphQLError.toJSON): the one serialisation of a result. */
export function serializeResult(result: ExecutionResult): string {
  const { errors, ...rest } = result;
  return stringifyExact(errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest);
}

/**
 * For graphql-ws `onNext`: the result as a payload serialised once per result object, however many
 * clients it is sent to.
 */
export function rawPayload(extra: WsExtra, result: ExecutionResult): object {
  let raw = serialised.get(result);
  if (!raw) {
    raw = new RawPayload(serializeResult(result));
    serialised.set(result, raw);
  }
  extra.raw.set(raw.token, raw.json);
  return raw;
}

function substitute(data: string, raw: Map<string, string>): string {
  const at = data.indexOf(RAW_MARK);
  if (at < 0) return data;
  const end = data.indexOf('"', at + RAW_MARK.length);
  const token = JSON.parse(data.slice(at, end + 1)) as string;
  const json = raw.get(token);
  if (json === undefined) return data;
  raw.delete(token);
  return data.slice(0, at) + json + data.slice(end + 1);
}

/** Serves `server` (graphql-ws makeServer) on `wss`; returns a dispose function (closes clients with 1001). */
export function serveGraphqlWs(
  server: ReturnType<typeof makeServer<Record<string, unknown> | undefined, WsExtra>>,
  wss: WebSocketServer,
  options: WsTransportOptions = {},
): { dispose(): Promise<void> } {
  const keepAlive = options.keepAliveMillis ?? 12_000;
  const flushMillis = options.flushMillis ?? 20;
  const maxBuffered = options.maxBufferedBytes ?? 16 * 1024 * 1024;
  const log = options.logger;
  const maxMessageDepth = options.maxMessageDepth;
  wss.options.handleProtocols = handleProtocols;

  const writer = new CoalescingWriter({
    flushMillis,
    maxFlushMillis: Math.max(flushMillis, options.maxFlushMillis ?? 100),
    maxBufferedBytes: maxBuffered,
    slow: (socket) => socket.close(CloseCode.InternalServerError, 'Client does not keep up'),
  });

  wss.on('connection', (socket, request) => {
    socket.once('error', (err) => {
      log?.warn({ err }, 'graphql-ws socket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    const stopPings = keepAlivePings(socket, keepAlive);
    const sendFrame = (frame: Buffer): void => {
      if (socket.readyState !== socket.OPEN) return;
      if (writer.bufferedBytes(socket) > maxBuffered) {
        socket.close(CloseCode.InternalServerError, 'Client does not keep up');
        return;
      }
      writer.write(socket, frame);
    };
    const sendRaw = (data: string): void => sendFrame(textFrame(data));
    const extra: WsExtra = {
      socket,
      request,
      raw: new Map(),
      sendRaw,
      sendFrame,
      joinGroup: (key, init) => writer.join(key, socket, init),
    };
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => sendRaw(extra.raw.size > 0 ? substitute(data, extra.raw) : data),
        close: (code, reason) => {
          writer.flushOne(socket); // what was sent before the close goes first
          socket.close(code, reason);
        },
        onMessage: (cb) =>
          socket.on('message', async (event: Buffer) => {
            try {
              if (maxMessageDepth !== undefined && jsonNestsDeeper(event, maxMessageDepth)) {
                refuseTooDeep(event, maxMessageDepth, extra, options.tooDeep);
                return;
              }
              await cb(String(event));
            } catch (err) {
              log?.error({ err }, 'graphql-ws message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      extra,
    );
    socket.once('close', (code, reason) => {
      writer.forget(socket);
      stopPings();
      extra.raw.clear();
      if (code === CloseCode.SubprotocolNotAcceptable && socket.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL) {
        log?.warn('a client used the unsupported subscriptions-transport-ws protocol');
      }
      void closed(code, String(reason));
    });
  });

  return {
    async dispose() {
      writer.flush();
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners('connection');
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/**
 * A message nested too deep is not parsed: a subscribe gets its own error (when `tooDeep` gives one,
 * i.e. the connection is authenticated), anything else closes the socket.
 */
function refuseTooDeep(
  message: Buffer,
  maxDepth: number,
  extra: WsExtra,
  tooDeep: WsTransportOptions['tooDeep'],
): void {
  let envelope: { id?: unknown; type?: unknown } | undefined;
  try {
    envelope = JSON.parse(pruneJson(message, maxDepth)) as typeof envelope;
  } catch {
    envelope = undefined;
  }
  const errors = tooDeep?.(extra);
  if (envelope?.type === 'subscribe' && typeof envelope.id === 'string' && errors) {
    extra.sendRaw(JSON.stringify({ id: envelope.id, type: 'error', payload: errors }));
  } else {
    extra.socket.close(CloseCode.BadRequest, `Message nested more than ${maxDepth} levels deep`);
  }
}

/** Pings every `keepAlive` ms and drops a socket that does not answer in time; returns the stop. */
function keepAlivePings(socket: WebSocket, keepAlive: number): () => void {
  if (keepAlive <= 0) return () => undefined;
  let pongWait: NodeJS.Timeout | undefined;
  const pingInterval = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    pongWait = setTimeout(() => socket.terminate(), keepAlive);
    socket.once('pong', () => {
      clearTimeout(pongWait);
      pongWait = undefined;
    });
    socket.ping();
  }, keepAlive);
  return () => {
    clearTimeout(pongWait);
    clearInterval(pingInterval);
  };
}
