/**
 * The console's WebSocket, `/exec/<id>?ticket=...` (the URL `startExec` answers): the ticket alone
 * authorises, once (a second use, a wrong or expired ticket: 401 at the upgrade); credentials of
 * another user sent along, or a user who may no longer operate the container: 403. Binary frames are
 * the process's stdin and stdout; a text frame `{"resize":{"cols","rows"}}` resizes its terminal. A
 * session idle in both directions for `idleMs` is closed (4408); the process's end closes it (1000,
 * reason `exit <code>`).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ErrorCode, HumpbackError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Services } from '../../core/services.js';
import { bearerToken } from '../../resolvers/context.js';

/** Close code of a session idle too long. */
export const EXEC_IDLE_CLOSE = 4408;

export interface ExecSocketOptions {
  services: Pick<Services, 'exec' | 'auth'>;
  logger: Logger;
  /** Closes a session without input or output for this long. @default 900000 (15 min) */
  idleMs?: number | undefined;
  /** The largest frame from the browser. @default 1 MiB */
  maxPayload?: number | undefined;
}

export const EXEC_PATH = /^\/exec\/([0-9a-f-]{36})$/;

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${http_status(status)}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function http_status(status: number): string {
  return (
    { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict' }[status] ?? 'Bad Gateway'
  );
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
};

export interface ExecSocket {
  /** Handles an upgrade whose path is an exec path. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every open session. */
  close(): void;
}

export function serveExecSocket(o: ExecSocketOptions): ExecSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxPayload ?? 1024 * 1024 });
  const idleMs = o.idleMs ?? 15 * 60_000;
  const upgrade = async (req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const id = EXEC_PATH.exec(url.pathname)?.[1];
    if (!id) return refuse(socket, 404, 'no such exec path');
    const token = bearerToken(req.headers.authorization);
    const presentedBy = token ? (await o.services.auth.verify(token))?.userId : undefined;
    if (token && !presentedBy) return refuse(socket, 401, 'the credentials sent are not valid');
    let session;
    try {
      session = await o.services.exec.connect(id, url.searchParams.get('ticket') ?? '', presentedBy);
    } catch (err) {
      const status = err instanceof HumpbackError ? (STATUS_OF[err.code] ?? 502) : 502;
      if (status === 502) o.logger.warn({ err, exec: id }, 'exec attach failed');
      return refuse(
        socket,
        status,
        err instanceof HumpbackError ? err.message : 'the exec could not be attached',
      );
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      let idle: NodeJS.Timeout | undefined;
      const touch = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => ws.close(EXEC_IDLE_CLOSE, 'idle'), idleMs);
      };
      touch();
      session.onOutput((data) => {
        touch();
        if (ws.readyState === ws.OPEN) ws.send(data, { binary: true });
      });
      session.onEnd((reason) => {
        clearTimeout(idle);
        if (ws.readyState === ws.OPEN) ws.close(1000, reason.slice(0, 100));
      });
      ws.on('message', (data, isBinary) => {
        touch();
        const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
        if (isBinary) return session.input(buf);
        try {
          const msg = JSON.parse(buf.toString('utf8')) as { resize?: { cols?: unknown; rows?: unknown } };
          const cols = Number(msg.resize?.cols);
          const rows = Number(msg.resize?.rows);
          if (Number.isInteger(cols) && Number.isInteger(rows) && cols > 0 && rows > 0)
            session.resize(cols, rows);
        } catch {
          // Text that is not a control message: ignored.
        }
      });
      ws.on('close', () => {
        clearTimeout(idle);
        session.close();
      });
    });
  };
  return {
    handleUpgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      upgrade(req, socket, head).catch((err: unknown) => {
        o.logger.error({ err }, 'exec upgrade failed');
        refuse(socket, 502, 'the exec could not be attached');
      });
    },
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
