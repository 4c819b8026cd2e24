import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { CoalescingWriter, textFrame } from '../../gateway/graphql/ws-writer.js';

// The writer only needs of a ws socket its state and the net.Socket under it: a stand-in records the
// buffers written, which is what a client would read.
function socket(): WebSocket & { writes: Buffer[]; text(): string[] } {
  const writes: Buffer[] = [];
  const s = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    writes,
    _socket: { destroyed: false, writableLength: 0, write: (b: Buffer) => void writes.push(b) },
    /** The text of every frame written, in order. */
    text(): string[] {
      const out: string[] = [];
      for (const b of writes) {
        for (let i = 0; i < b.length;) {
          const len = b[i + 1]!; // the tests' frames are short
          out.push(b.toString('utf8', i + 2, i + 2 + len));
          i += 2 + len;
        }
      }
      return out;
    },
  };
  return s as unknown as WebSocket & { writes: Buffer[]; text(): string[] };
}

const writer = (slow: (s: WebSocket) => void = () => undefined) =>
  new CoalescingWriter({ flushMillis: 1000, maxFlushMillis: 1000, maxBufferedBytes: 100, slow });

describe('CoalescingWriter', () => {
  it("writes a group's frames of a window as one buffer, the same for every member", () => {
    const w = writer();
    const [a, b, c] = [socket(), socket(), socket()];
    const send = w.join('k', a, (s) => s).shared;
    w.join('k', b, () => undefined);
    w.join('k', c, () => undefined);
    send(textFrame('one'));
    send(textFrame('two'));
    w.flush();
    expect(a.text()).toEqual(['one', 'two']);
    expect(a.writes).toHaveLength(1);
    expect(b.writes[0]).toBe(a.writes[0]);
    expect(c.writes[0]).toBe(a.writes[0]);
  });

  it('gives a member that joins during a window only the frames sent after it joined', () => {
    const w = writer();
    const [a, late] = [socket(), socket()];
    const send = w.join('k', a, (s) => s).shared;
    send(textFrame('before'));
    w.join('k', late, () => undefined);
    send(textFrame('after'));
    w.flush();
    expect(a.text()).toEqual(['before', 'after']);
    expect(late.text()).toEqual(['after']);
  });

  it('keeps the frames sent to a group before a member left, ahead of what the member is sent next', () => {
    const w = writer();
    const [a, b] = [socket(), socket()];
    const send = w.join('k', a, (s) => s).shared;
    const leaving = w.join('k', b, () => undefined);
    send(textFrame('next'));
    leaving.leave();
    w.write(b, textFrame('complete'));
    send(textFrame('only a'));
    w.flush();
    expect(b.text()).toEqual(['next', 'complete']);
    expect(a.text()).toEqual(['next', 'only a']);
  });

  it("keeps the order of a socket's own frames and of each group's, and flushOne takes them all", () => {
    const w = writer();
    const s = socket();
    const one = w.join('one', s, (send) => send).shared;
    const two = w.join('two', s, (send) => send).shared;
    one(textFrame('1a'));
    two(textFrame('2a'));
    w.write(s, textFrame('own'));
    one(textFrame('1b'));
    w.flush();
    const text = s.text();
    expect(text.filter((t) => t.startsWith('1'))).toEqual(['1a', '1b']);
    expect(text.filter((t) => !t.startsWith('1')).sort()).toEqual(['2a', 'own']);
    one(textFrame('3'));
    w.flushOne(s);
    expect(s.text().slice(4)).toEqual(['3']);
    w.flush();
    expect(s.text()).toHaveLength(5); // not twice
  });

  it('writes each member every frame once, however many slices the members are dealt into', () => {
    const w = new CoalescingWriter({
      flushMillis: 20,
      maxFlushMillis: 100,
      maxBufferedBytes: 1e6,
      slow: () => {},
    });
    const members = Array.from({ length: 12 }, socket);
    const send = w.join('k', members[0]!, (s) => s).shared;
    for (const m of members.slice(1, 6)) w.join('k', m, () => undefined);
    send(textFrame('a'));
    for (const m of members.slice(6)) w.join('k', m, () => undefined);
    send(textFrame('b'));
    w.flush();
    send(textFrame('c'));
    w.flush();
    for (const m of members.slice(0, 6)) expect(m.text()).toEqual(['a', 'b', 'c']);
    for (const m of members.slice(6)) expect(m.text()).toEqual(['b', 'c']);
  });

  it('writes nothing to a socket that no longer reads, and reports it', () => {
    const slow: WebSocket[] = [];
    const w = writer((s) => slow.push(s));
    const [reads, stuck] = [socket(), socket()];
    (stuck as unknown as { _socket: { writableLength: number } })._socket.writableLength = 101;
    const send = w.join('k', reads, (s) => s).shared;
    w.join('k', stuck, () => undefined);
    send(textFrame('x'));
    w.flush();
    expect(reads.text()).toEqual(['x']);
    expect(stuck.writes).toEqual([]);
    expect(slow).toEqual([stuck]);
  });
});
