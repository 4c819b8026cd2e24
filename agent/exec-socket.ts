/**
 * `GET /v1/exec/<execId>` (and under `/dockerapi/v2`) upgraded to a WebSocket: starts the exec session
 * made by `POST /containers/:id/exec` with Docker's hijacked attach and carries it. Binary frames are
 * stdin (to the process) and stdout/stderr (from it); a text frame `{"resize":{"cols","rows"}}`
 * resizes its TTY. The socket closes with 1000 and reason `exit <code>` when the process ends.
 * The agent token is required in `Authorization`, as on every other route.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WebSocketServer, type WebSocket } from 'ws';
import { EXEC_ID } from '../core/agent-wire.js';
import type { Logger } from '../core/logger.js';
import { tokenCheck } from './auth.js';
import { dockerMessage, dockerStatus } from './docker-runtime.js';
import { demuxChunks } from './log-frames.js';
import { ROUTE_PREFIXES } from './server.js';

export interface ExecSocketOptions {
  docker: Docker;
  tokens: readonly string[];
  log: Logger;
}

/** The exec id of an upgrade's path, if it is an exec path. */
function execIdOf(url: string | undefined): string | undefined {
  const path = (url ?? '').split('?')[0] ?? '';
  for (const prefix of ROUTE_PREFIXES) {
    const m = path.startsWith(`${prefix}/exec/`) ? path.slice(prefix.length + 6) : undefined;
    if (m !== undefined && EXEC_ID.test(m)) return m;
  }
  return undefined;
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ Code: status, Message: message, Detail: '' });
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Serves exec upgrades on `server`; `close()` ends every open session. */
export function serveExecSocket(server: http.Server, o: ExecSocketOptions): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const matches = tokenCheck(o.tokens);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const execId = execIdOf(req.url);
    if (!execId) return refuse(socket, 404, 'Not Found');
    if (!matches(req.headers.authorization)) return refuse(socket, 401, 'Unauthorized');
    void attach(o, execId).then(
      (session) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          carry(ws, session, o);
        }),
      (err: unknown) => {
        o.log.warn({ execId, err: dockerMessage(err) }, 'exec attach failed');
        refuse(
          socket,
          dockerStatus(err) === 404 ? 404 : dockerStatus(err) === 409 ? 409 : 502,
          'Exec Failed',
        );
      },
    );
  });
  return {
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

interface Session {
  exec: Docker.Exec;
  stream: Duplex;
  tty: boolean;
}

async function attach(o: ExecSocketOptions, execId: string): Promise<Session> {
  const exec = o.docker.getExec(execId);
  const info = await exec.inspect();
  if (info.Running || info.ExitCode !== null) {
    throw Object.assign(new Error('exec session started already'), { statusCode: 409 });
  }
  const tty = info.ProcessConfig.tty;
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: tty })) as Duplex;
  return { exec, stream, tty };
}

/** Pipes the socket and the session both ways until either ends. */
function carry(ws: WebSocket, { exec, stream, tty }: Session, o: ExecSocketOptions): void {
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      stream.write(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
      return;
    }
    try {
      const msg = JSON.parse(String(data)) as { resize?: { cols?: unknown; rows?: unknown } };
      const cols = Number(msg.resize?.cols);
      const rows = Number(msg.resize?.rows);
      if (
        Number.isInteger(cols) &&
        Number.isInteger(rows) &&
        cols > 0 &&
        rows > 0 &&
        cols < 10000 &&
        rows < 10000
      ) {
        exec
          .resize({ w: cols, h: rows })
          .catch((err: unknown) => o.log.debug({ err: dockerMessage(err) }, 'exec resize failed'));
      }
    } catch {
      // Not a control message: ignored.
    }
  });
  ws.on('close', () => stream.destroy());
  void (async () => {
    try {
      for await (const chunk of demuxChunks(stream, tty)) {
        if (ws.readyState === ws.OPEN) ws.send(chunk.data, { binary: true });
      }
    } catch {
      // The session was cut.
    }
    let reason = 'ended';
    try {
      const code = (await exec.inspect()).ExitCode;
      if (code !== null) reason = `exit ${code}`;
    } catch {
      // Gone with its container.
    }
    if (ws.readyState === ws.OPEN) ws.close(1000, reason);
  })();
}
