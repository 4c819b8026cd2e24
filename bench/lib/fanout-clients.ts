/**
 * A share of bench/subscription-fanout.ts's graphql-ws clients, as a child process of its own (each
 * process has its own open-file budget; the gateway's process holds one socket per client).
 *
 * The clients speak graphql-transport-ws over a minimal WebSocket of their own rather than `ws`: ws
 * parses, emits and decodes every message (about a microsecond each), which at a million deliveries a
 * second on a small machine would measure the clients instead of the gateway. Here a read is walked
 * frame by frame by its headers; a `next` is counted and its latency read from the event's `at` (the
 * last field of the payload) at a fixed place from the frame's end, without decoding the frame.
 *
 * Driven over the IPC channel (see ClientCommand, ClientReport).
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export type ClientCommand =
  | { type: 'open'; count: number; url: string; token: string; query: string }
  | { type: 'report' }
  | { type: 'close' };

export type ClientReport =
  | { type: 'ready'; open: number }
  | {
      type: 'report';
      delivered: number;
      histogram: Array<[ms: number, count: number]>;
      open: number;
      /** This process's event-loop delay since the last report, p99 in ms (how late it read). */
      loopDelayP99: number;
    }
  | { type: 'problem'; message: string };

const HISTOGRAM_MS = 120_000;
const histogram = new Uint32Array(HISTOGRAM_MS + 1);
let delivered = 0;
let open = 0;
let closing = false;
const sockets: Socket[] = [];
const send = (m: ClientReport): void => void process.send?.(m);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

/** A client (masked) text or control frame; the mask is zero, which the protocol allows. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 6 : 8;
  const out = Buffer.alloc(head + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  }
  payload.copy(out, head);
  return out;
}
const textFrame = (value: unknown): Buffer => clientFrame(0x1, Buffer.from(JSON.stringify(value)));

const DAY_MS = 86_400_000;
const digit = (b: Buffer, i: number): number => b[i]! - 48;

/**
 * Publish → receive of a `next` frame payload ending at `end`: its last 30 bytes are
 * `"YYYY-MM-DDTHH:MM:SS.mmmZ"}}}}` (the `at` of ContainerStatusEvent, its envelope closed); -1 if not.
 */
function latencyOf(b: Buffer, end: number, nowOfDay: number): number {
  const at = end - 30; // the opening quote of the ISO time
  if (at < 0 || b[at] !== 34 || b[at + 11] !== 84 || b[at + 24] !== 90) return -1;
  const t = at + 12; // HH
  const ofDay =
    (digit(b, t) * 10 + digit(b, t + 1)) * 3_600_000 +
    (digit(b, t + 3) * 10 + digit(b, t + 4)) * 60_000 +
    (digit(b, t + 6) * 10 + digit(b, t + 7)) * 1000 +
    digit(b, t + 9) * 100 +
    digit(b, t + 10) * 10 +
    digit(b, t + 11);
  let ms = nowOfDay - ofDay;
  if (ms < -DAY_MS / 2) ms += DAY_MS;
  return ms;
}

function openClient(url: URL, token: string, query: string, onSubscribed: () => void, onFailed: () => void) {
  const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
  sockets.push(socket);
  let stage: 'upgrade' | 'ack' | 'live' = 'upgrade';
  let rest: Buffer | undefined;
  socket.on('connect', () => {
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
    );
  });
  socket.on('error', (err) => {
    if (closing) return;
    if (stage !== 'live') onFailed();
    send({ type: 'problem', message: String(err) });
  });
  socket.on('close', () => {
    if (stage === 'live') open--;
  });
  const message = (text: string): void => {
    const m = JSON.parse(text) as { type: string };
    if (m.type === 'connection_ack' && stage === 'ack') {
      stage = 'live';
      open++;
      socket.write(textFrame({ id: '1', type: 'subscribe', payload: { query } }));
      onSubscribed();
    } else if (m.type === 'ping') socket.write(textFrame({ type: 'pong' }));
    else if (m.type === 'error' || m.type === 'complete') send({ type: 'problem', message: text });
  };
  socket.on('data', (chunk: Buffer) => {
    const b = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = undefined;
    let i = 0;
    if (stage === 'upgrade') {
      const head = b.indexOf('\r\n\r\n');
      if (head < 0) {
        rest = b;
        return;
      }
      const status = b.toString('latin1', 0, 12);
      if (!status.endsWith('101')) {
        send({ type: 'problem', message: `upgrade refused: ${b.toString('latin1', 0, head)}` });
        socket.destroy();
        onFailed();
        return;
      }
      stage = 'ack';
      socket.write(textFrame({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
      i = head + 4;
    }
    const nowOfDay = Date.now() % DAY_MS;
    while (i + 2 <= b.length) {
      const opcode = b[i]! & 0x0f;
      let len = b[i + 1]! & 0x7f;
      let at = i + 2;
      if (len === 126) {
        if (at + 2 > b.length) break;
        len = b.readUInt16BE(at);
        at += 2;
      } else if (len === 127) {
        if (at + 8 > b.length) break;
        len = Number(b.readBigUInt64BE(at));
        at += 8;
      }
      const end = at + len;
      if (end > b.length) break;
      if (opcode === 0x1) {
        // {"id":"1","type":"next",… as the gateway writes it; anything else is parsed
        if (b[at + 2] === 105 && b[at + 18] === 110) {
          delivered++;
          const ms = latencyOf(b, end, nowOfDay);
          if (ms >= 0) histogram[Math.min(ms, HISTOGRAM_MS)]!++;
        } else message(b.toString('utf8', at, end));
      } else if (opcode === 0x9) {
        if (socket.writable) socket.write(clientFrame(0xa, b.subarray(at, end)));
      } else if (opcode === 0x8) {
        if (!closing) send({ type: 'problem', message: `closed by the gateway: ${b.readUInt16BE(at)}` });
        socket.destroy();
        return;
      }
      i = end;
    }
    if (i < b.length) rest = Buffer.from(b.subarray(i));
  });
}

function openAll(command: Extract<ClientCommand, { type: 'open' }>): void {
  const url = new URL(command.url);
  // At most 100 handshakes in flight per process: thousands at once overflow the listen backlog.
  let started = 0;
  let subscribed = 0;
  const next = (): void => {
    if (started >= command.count) return;
    started++;
    openClient(
      url,
      command.token,
      command.query,
      () => {
        if (++subscribed === command.count) send({ type: 'ready', open });
        else next();
      },
      () => {
        started--;
        setTimeout(next, 50);
      },
    );
  };
  for (let i = 0; i < Math.min(100, command.count); i++) next();
}

process.on('message', (command: ClientCommand) => {
  if (command.type === 'open') openAll(command);
  else if (command.type === 'report') {
    const pairs: Array<[number, number]> = [];
    for (let ms = 0; ms <= HISTOGRAM_MS; ms++) if (histogram[ms]) pairs.push([ms, histogram[ms]!]);
    histogram.fill(0);
    send({ type: 'report', delivered, histogram: pairs, open, loopDelayP99: loopDelay.percentile(99) / 1e6 });
    delivered = 0;
    loopDelay.reset();
  } else {
    closing = true;
    for (const s of sockets) s.end(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
    setTimeout(() => process.exit(0), 300);
  }
});
