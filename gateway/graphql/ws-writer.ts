/**
 * The write side of the graphql-ws transport (ws-transport.ts): frames wait per socket until the
 * window closes, then go out in one write per socket. (Server frames are unmasked and, without
 * permessage-deflate, need nothing from ws's Sender; control frames such as pings still go through ws.)
 *
 * Fan-out sends the same frames to thousands of sockets: a FrameGroup takes each frame once for all
 * its members, and the frames a member has not had yet are joined once and that one buffer written to
 * every member that lacks the same ones. A delivery then costs nothing per client; what is left per
 * client is one write (a syscall, a few microseconds on loopback) now and then.
 *
 * How often: a group's members are dealt into slices, and each tick (`flushMillis`) writes slices in
 * turn while the tick's writes take less than a quarter of it, at least one slice: with few sockets
 * every slice each tick, with thousands one slice a tick, so a member is written at least every
 * `maxFlushMillis` and the event loop is never held for a whole pass over all sockets.
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

interface Slice {
  members: Set<WebSocket>;
  /** The sequence number of the first frame its members have not been written yet. */
  from: number;
}

interface FrameGroup {
  key: string;
  /** The frames some slice has not been written yet; `base` is the sequence number of the first. */
  log: Buffer[];
  base: number;
  slices: Slice[];
  /** Which slice each member is in. */
  sliceOf: Map<WebSocket, Slice>;
  /** Members that are owed from a later frame than their slice (they joined or took theirs early). */
  ahead: Map<WebSocket, number>;
  dealt: number;
  /** The last joined range (slices written in the same tick usually lack the same frames). */
  joined: { from: number; end: number; buffer: Buffer } | undefined;
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
  /** The tick, ms; 0: the end of the event-loop turn (and every socket written each turn). */
  flushMillis: number;
  /** The longest a group's member may wait for its write: a multiple of flushMillis, in slices. */
  maxFlushMillis: number;
  /** A socket with more than this queued in the kernel's and Node's buffers is `slow`. */
  maxBufferedBytes: number;
  /** Called for a socket that does not read what it is sent (nothing more is written to it). */
  slow: (socket: WebSocket) => void;
}

const rawOf = (socket: WebSocket): Socket | undefined => (socket as unknown as { _socket?: Socket })._socket;
const end = (group: FrameGroup): number => group.base + group.log.length;

export class CoalescingWriter {
  /** Per socket, its own frames not written yet (the array is kept and emptied after each write). */
  private readonly queues = new Map<WebSocket, Buffer[]>();
  private readonly memberships = new Map<WebSocket, Set<FrameGroup>>();
  private readonly groups = new Map<string, FrameGroup>();
  private dirty: WebSocket[] = [];
  /** Groups with frames some slice has not been written. */
  private readonly pending = new Set<FrameGroup>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly sliceCount: number;
  /** The slice the next tick starts with. */
  private cursor = 0;

  constructor(private readonly options: CoalescingWriterOptions) {
    this.sliceCount =
      options.flushMillis > 0 ? Math.max(1, Math.ceil(options.maxFlushMillis / options.flushMillis)) : 1;
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
    const group = this.groups.get(key) ?? this.createGroup(key, init);
    const slice = group.slices[group.dealt++ % group.slices.length]!;
    if (slice.members.size === 0) slice.from = end(group);
    else if (slice.from < end(group)) group.ahead.set(socket, end(group));
    slice.members.add(socket);
    group.sliceOf.set(socket, slice);
    let mine = this.memberships.get(socket);
    if (!mine) {
      mine = new Set();
      this.memberships.set(socket, mine);
    }
    mine.add(group);
    return {
      shared: group.shared as T,
      leave: () => {
        const at = group.sliceOf.get(socket);
        if (!at) return;
        this.take(socket, group);
        at.members.delete(socket);
        group.sliceOf.delete(socket);
        group.ahead.delete(socket);
        this.memberships.get(socket)?.delete(group);
        if (group.sliceOf.size === 0 && this.groups.get(key) === group) {
          this.groups.delete(key);
          this.pending.delete(group);
        }
      },
    };
  }

  /** Writes this socket's frames now (its own and its groups'), e.g. before it is closed. */
  flushOne(socket: WebSocket): void {
    for (const group of this.memberships.get(socket) ?? []) this.take(socket, group);
    const queue = this.queues.get(socket);
    if (!queue || queue.length === 0) return;
    this.out(socket, queue.length === 1 ? queue[0]! : Buffer.concat(queue));
    queue.length = 0;
  }

  /** Drops what is known of a closed socket. */
  forget(socket: WebSocket): void {
    this.queues.delete(socket);
    this.memberships.delete(socket);
  }

  /** Writes everything now (on dispose). */
  flush(): void {
    this.tick(true);
  }

  private readonly onTick = (): void => this.tick(false);

  private tick(all: boolean): void {
    const started = performance.now();
    this.timer = undefined;
    const dirty = this.dirty;
    this.dirty = [];
    for (const socket of dirty) {
      const queue = this.queues.get(socket);
      if (!queue || queue.length === 0) continue;
      this.out(socket, queue.length === 1 ? queue[0]! : Buffer.concat(queue));
      queue.length = 0;
    }
    const budget = this.options.flushMillis / 4;
    for (let n = 0; n < this.sliceCount && this.pending.size > 0; n++) {
      if (n > 0 && !all && performance.now() - started > budget) break;
      const index = this.cursor;
      this.cursor = (this.cursor + 1) % this.sliceCount;
      for (const group of this.pending) this.flushSlice(group, index);
    }
    if (this.pending.size > 0 || this.dirty.length > 0) this.schedule();
  }

  private flushSlice(group: FrameGroup, index: number): void {
    const slice = group.slices[index % group.slices.length]!;
    const last = end(group);
    if (slice.from < last && slice.members.size > 0) {
      const joined = this.joinedFrom(group, slice.from);
      for (const socket of slice.members) {
        const ahead = group.ahead.get(socket);
        if (ahead === undefined) this.out(socket, joined);
        else {
          group.ahead.delete(socket);
          if (ahead < last) this.out(socket, Buffer.concat(group.log.slice(ahead - group.base)));
        }
      }
    }
    slice.from = last;
    // frames every slice has had are dropped
    let oldest = last;
    for (const s of group.slices) if (s.members.size > 0 && s.from < oldest) oldest = s.from;
    group.log.splice(0, oldest - group.base);
    group.base = oldest;
    if (group.log.length === 0) {
      this.pending.delete(group);
      group.joined = undefined;
    }
  }

  /** The frames from `from` on as one buffer, the same one for every slice that lacks the same. */
  private joinedFrom(group: FrameGroup, from: number): Buffer {
    const last = end(group);
    const made = group.joined;
    if (made && made.from === from && made.end === last) return made.buffer;
    const frames = group.log.slice(from - group.base);
    const buffer = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    group.joined = { from, end: last, buffer };
    return buffer;
  }

  private createGroup<T>(key: string, init: (send: (frame: Buffer) => void) => T): FrameGroup {
    const group: FrameGroup = {
      key,
      log: [],
      base: 0,
      slices: Array.from({ length: this.sliceCount }, () => ({ members: new Set<WebSocket>(), from: 0 })),
      sliceOf: new Map(),
      ahead: new Map(),
      dealt: 0,
      joined: undefined,
      shared: undefined,
    };
    group.shared = init((frame) => this.send(group, frame));
    this.groups.set(key, group);
    return group;
  }

  private send(group: FrameGroup, frame: Buffer): void {
    if (group.sliceOf.size === 0) return;
    group.log.push(frame);
    this.pending.add(group);
    this.schedule();
  }

  /** Moves the group's frames not yet written to this socket into its own queue (it leaves or flushes early). */
  private take(socket: WebSocket, group: FrameGroup): void {
    const slice = group.sliceOf.get(socket);
    if (!slice) return;
    const start = group.ahead.get(socket) ?? slice.from;
    const last = end(group);
    if (start >= last) return;
    this.queueOf(socket).push(...group.log.slice(start - group.base));
    group.ahead.set(socket, last);
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
    const ms = this.options.flushMillis;
    this.timer ??= ms > 0 ? setTimeout(this.onTick, ms) : setImmediate(this.onTick);
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
}
