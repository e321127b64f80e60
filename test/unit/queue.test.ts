// The call queue over a fake socket (test/unit/fake-socket.ts): calls made
// together go out together, in call order, and each gets its own outcome,
// even when the handle closes half-way through a big batch.
import { describe, expect, it } from 'vitest';
import { Conn } from '../../src/netlink/conn.js';
import type { Outcome } from '../../src/netlink/conn.js';
import { CallQueue, Writes } from '../../src/netlink/queue.js';
import { FakeSocket } from './fake-socket.js';

class Collect extends Writes {
  readonly got: Outcome[] = [];
  settle(k: number, o: Outcome): void {
    this.got[k] = o;
  }
}

/** `n` writes tagged `tag`, encoded into the queue's box. */
function writes(q: CallQueue, n: number, tag: number): Collect {
  const first = q.box.next;
  for (let i = 0; i < n; i++) {
    q.box.begin(30, tag).bytes(1, new Uint8Array(16));
    q.box.end();
  }
  const w = new Collect(first, q.box.next);
  q.push(w);
  return w;
}

const settled = () => new Promise((r) => setTimeout(r, 20));

describe('the call queue', () => {
  it('sends writes made together in as few sendmsg as fit, in call order, each with its own outcome', async () => {
    const sock = new FakeSocket((tag) => (tag === 2 ? 17 : 0));
    const q = new CallQueue(Conn.over(sock));
    const a = writes(q, 3, 1);
    const b = writes(q, 2, 2);
    const c = writes(q, 1, 3);
    await settled();
    expect(sock.sends).toBe(1);
    expect(sock.sent.map((m) => m.tag)).toEqual([1, 1, 1, 2, 2, 3]);
    expect(a.got.map((o) => o.ok)).toEqual([true, true, true]);
    expect(b.got.map((o) => !o.ok && o.error.errno)).toEqual(['EEXIST', 'EEXIST']);
    expect(c.got.map((o) => o.ok)).toEqual([true]);
  });

  it('gives each of 100,000 single calls queued together its own outcome, in call order', async () => {
    const sock = new FakeSocket((tag) => (tag % 7 === 0 ? 17 : 0));
    const q = new CallQueue(Conn.over(sock));
    // One entry per call: the queue drops its head a call at a time, and compacts as it goes.
    const calls = Array.from({ length: 100_000 }, (_, i) => writes(q, 1, i % 256));
    while (!calls[calls.length - 1]!.got.length) await settled();
    expect(sock.sent).toHaveLength(100_000);
    expect(calls.every((c, i) => c.got.length === 1 && c.got[0]!.ok === ((i % 256) % 7 !== 0))).toBe(true);
  });

  it('settles a big batch a step at a time, giving the event loop turns', async () => {
    const sock = new FakeSocket(() => 3);
    const q = new CallQueue(Conn.over(sock));
    const w = writes(q, 20000, 1);
    let turns = 0;
    const tick = setInterval(() => turns++, 0);
    while (w.got.filter(Boolean).length < 20000) await settled();
    clearInterval(tick);
    expect(w.got.every((o) => !o.ok && o.error.errno === 'ESRCH')).toBe(true);
    expect(turns).toBeGreaterThan(1);
  });

  it('closed half-way (by a caller told of an outcome), tells what the kernel answered as it was, and the rest EBADF', () => {
    const sock = new FakeSocket(() => 0);
    const q = new CallQueue(Conn.over(sock));
    const first = q.box.next;
    for (let i = 0; i < 100; i++) {
      q.box.begin(30, 1).bytes(1, new Uint8Array(16));
      q.box.end();
    }
    const got: Outcome[] = [];
    class CloseAtTen extends Writes {
      settle(k: number, o: Outcome): void {
        got[k] = o;
        if (k === 10) q.close();
      }
    }
    q.push(new CloseAtTen(first, q.box.next));
    return new Promise<void>((done) =>
      setTimeout(() => {
        // 40-byte requests on 1 KiB pages: the first sendmsg carried 25, which the kernel answered.
        expect(sock.sent).toHaveLength(25);
        expect(got).toHaveLength(100);
        expect(got.slice(0, 25).every((o) => o.ok)).toBe(true);
        expect(got.slice(25).every((o) => !o.ok && o.error.errno === 'EBADF')).toBe(true);
        done();
      }, 20),
    );
  });
});
