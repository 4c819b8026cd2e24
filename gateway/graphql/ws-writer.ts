/**
 * The write side of the graphql-ws transport (ws-transport.ts): frames wait per socket until the
 * window closes, then go out in one write per socket. (Server frames are unmasked and, without
 * permessage-deflate, need nothing from ws's Sender; control frames such as pings still go through ws.)
 *
 * Fan-out sends the same frames to thousands of sockets: a FrameGroup takes each frame once for all
 * its members, and at the flush the window's frames of a group are joined once and that one buffer is
 * written to every member. A delivery then costs nothing per client; what is left per client is one
 * write per window.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** A complete, unmasked WebSocket text frame (FIN set) carrying `text`. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81; // FIN, text
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, head, length, 'utf8');
  return frame;
}

interface FrameGroup {
  key: string;
  members: Set<WebSocket>;
  /** The frames of the current window. */
  frames: Buffer[];
  /** Members that joined during the window (or took their frames early): from which frame on they get them. */
  from: Map<WebSocket, number> | undefined;
  /** What join's `init` made for the group, handed to every member. */
  shared: unknown;
}

/** A socket's place in a group. */
export interface GroupMembership<T> {
  /** The same value for every member of the group. */
  shared: T;
  /** Leaves the group; frames sent to it before still reach this socket, in order. */
  leave(): void;
}

export interface CoalescingWriterOptions {
  /** The shortest window, ms; 0: the end of the event-loop turn. */
  flushMillis: number;
  /** The longest window a long flush may stretch the next one to. */
  maxFlushMillis: number;
  /** A socket with more than this queued in the kernel's and Node's buffers is `slow`. */
  maxBufferedBytes: number;
  /** Called (once per flush at most) for a socket that does not read what it is sent. */
  slow: (socket: WebSocket) => void;
}

const rawOf = (socket: WebSocket): Socket | undefined => (socket as unknown as { _socket?: Socket })._socket;

export class CoalescingWriter {
  /** Per socket, its own frames of the current window (the array is kept and emptied after each write). */
  private readonly queues = new Map<WebSocket, Buffer[]>();
  private readonly memberships = new Map<WebSocket, Set<FrameGroup>>();
  private readonly groups = new Map<string, FrameGroup>();
  private dirty: WebSocket[] = [];
  private dirtyGroups: FrameGroup[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** The concatenations made in this flush, by their first frame. */
  private joined = new Map<Buffer, { frames: Buffer[]; joined: Buffer }>();
  /** The next window: flushMillis, or longer after a long flush. */
  private window: number;

  constructor(private readonly options: CoalescingWriterOptions) {
    this.window = options.flushMillis;
  }

  bufferedBytes(socket: WebSocket): number {
    return rawOf(socket)?.writableLength ?? socket.bufferedAmount;
  }

  /** Queues one of the socket's own frames. */
  write(socket: WebSocket, frame: Buffer): void {
    this.queueOf(socket).push(frame);
    this.schedule();
  }

  /**
   * Adds the socket to the group of `key` (made on the first join, with `init(send)`, `send` queueing a
   * frame for every member). A member gets the frames sent after it joined.
   */
  join<T>(key: string, socket: WebSocket, init: (send: (frame: Buffer) => void) => T): GroupMembership<T> {
    let group = this.groups.get(key);
    if (!group) {
      const created: FrameGroup = { key, members: new Set(), frames: [], from: undefined, shared: undefined };
      created.shared = init((frame) => this.send(created, frame));
      this.groups.set(key, created);
      group = created;
    }
    const target = group;
    if (target.frames.length > 0) (target.from ??= new Map()).set(socket, target.frames.length);
    target.members.add(socket);
    let mine = this.memberships.get(socket);
    if (!mine) {
      mine = new Set();
      this.memberships.set(socket, mine);
    }
    mine.add(target);
    return {
      shared: target.shared as T,
      leave: () => {
        if (!target.members.has(socket)) return;
        this.take(socket, target);
        target.members.delete(socket);
        target.from?.delete(socket);
        this.memberships.get(socket)?.delete(target);
        if (target.members.size === 0 && this.groups.get(key) === target) this.groups.delete(key);
      },
    };
  }

  /** Writes this socket's frames now (its own and its groups'), e.g. before it is closed. */
  flushOne(socket: WebSocket): void {
    for (const group of this.memberships.get(socket) ?? []) this.take(socket, group);
    const queue = this.queues.get(socket);
    if (!queue || queue.length === 0) return;
    this.out(socket, queue.length === 1 ? queue[0]! : this.concat(queue));
    queue.length = 0;
  }

  /** Drops what is known of a closed socket. */
  forget(socket: WebSocket): void {
    this.queues.delete(socket);
    this.memberships.delete(socket);
  }

  flush = (): void => {
    const started = performance.now();
    this.timer = undefined;
    // sockets whose write joins more than one group's frames or their own
    const combined = new Map<WebSocket, Buffer[]>();
    const groups = this.dirtyGroups;
    this.dirtyGroups = [];
    for (const group of groups) this.flushGroup(group, combined);
    const dirty = this.dirty;
    this.dirty = [];
    for (const socket of dirty) {
      const queue = this.queues.get(socket);
      if (!queue || queue.length === 0) continue;
      const parts = combined.get(socket);
      if (parts) parts.push(...queue);
      else combined.set(socket, [...queue]);
      queue.length = 0;
    }
    for (const [socket, parts] of combined)
      this.out(socket, parts.length === 1 ? parts[0]! : this.concat(parts));
    this.joined = new Map();
    const took = performance.now() - started;
    // writes (a syscall each) take at most about a quarter of the time; each then carries more frames
    this.window = Math.min(
      this.options.maxFlushMillis,
      Math.max(this.options.flushMillis, Math.round(3 * took)),
    );
  };

  private flushGroup(group: FrameGroup, combined: Map<WebSocket, Buffer[]>): void {
    const { frames, from } = group;
    group.frames = [];
    group.from = undefined;
    if (group.members.size === 0) return;
    const joined = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    for (const socket of group.members) {
      const start = from?.get(socket);
      if (start !== undefined && start >= frames.length) continue;
      const data = start === undefined ? joined : Buffer.concat(frames.slice(start));
      const alone = this.memberships.get(socket)?.size === 1 && !this.queues.get(socket)?.length;
      if (alone) this.out(socket, data);
      else {
        const parts = combined.get(socket);
        if (parts) parts.push(data);
        else combined.set(socket, [data]);
      }
    }
  }

  private send(group: FrameGroup, frame: Buffer): void {
    if (group.members.size === 0) return;
    if (group.frames.push(frame) === 1) this.dirtyGroups.push(group);
    this.schedule();
  }

  /** Moves the group's pending frames for this socket into its own queue (it leaves or flushes early). */
  private take(socket: WebSocket, group: FrameGroup): void {
    const start = group.from?.get(socket) ?? 0;
    if (start >= group.frames.length || !group.members.has(socket)) return;
    this.queueOf(socket).push(...group.frames.slice(start));
    (group.from ??= new Map()).set(socket, group.frames.length);
    this.schedule();
  }

  private queueOf(socket: WebSocket): Buffer[] {
    let queue = this.queues.get(socket);
    if (!queue) {
      queue = [];
      this.queues.set(socket, queue);
    }
    if (queue.length === 0) this.dirty.push(socket);
    return queue;
  }

  private schedule(): void {
    this.timer ??= this.window > 0 ? setTimeout(this.flush, this.window) : setImmediate(this.flush);
  }

  private out(socket: WebSocket, data: Buffer): void {
    const raw = rawOf(socket);
    if (!raw || raw.destroyed || socket.readyState !== socket.OPEN) return;
    if (raw.writableLength > this.options.maxBufferedBytes) {
      this.options.slow(socket);
      return;
    }
    raw.write(data);
  }

  private concat(frames: Buffer[]): Buffer {
    const seen = this.joined.get(frames[0]!);
    if (seen && seen.frames.length === frames.length && seen.frames.every((f, i) => f === frames[i])) {
      return seen.joined;
    }
    const joined = Buffer.concat(frames);
    this.joined.set(frames[0]!, { frames: [...frames], joined });
    return joined;
  }
}
