// Conn's own bookkeeping, over a fake socket (test/unit/fake-socket.ts):
// how a batch's outcomes are counted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Conn } from '../../src/netlink/conn.js';
import { errnoName } from '../../src/netlink/errno.js';
import { Flags } from '../../src/netlink/message.js';
import { FakeSocket, requests } from './fake-socket.js';

describe('Conn over a fake socket', () => {
  it("packs a batch into sendmsg-sized chunks, asks an ack of each chunk's last request only, and gives each request its own outcome", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.constantFrom(0, 0, 0, 2, 3, 17, 22)),
        (count, errnos) => {
          const answer = (tag: number) => errnos[tag % (errnos.length || 1)] ?? 0;
          const sock = new FakeSocket(answer);
          const out = Conn.over(sock).execute(requests(count));
          expect(out).toHaveLength(count);
          out.forEach((o, i) => {
            const e = answer(i % 256);
            if (e) expect(o).toMatchObject({ ok: false, error: { errno: errnoName(e), index: i } });
            else expect(o).toEqual({ ok: true, replies: [] });
          });
          // 40-byte messages, 1024-byte sends: 25 to a chunk; seqs run on; one ack per chunk, on its last.
          expect(sock.sends).toBe(Math.ceil(count / 25));
          const acked = sock.sent.flatMap((m, i) => (m.flags & Flags.Ack ? [i] : []));
          expect(acked).toEqual(Array.from({ length: sock.sends }, (_, k) => Math.min(count, (k + 1) * 25) - 1));
          for (let i = 1; i < sock.sent.length; i++) expect(sock.sent[i]!.seq).toBe((sock.sent[i - 1]!.seq + 1) >>> 0);
          expect(sock.sent.every((m) => m.flags & Flags.Request)).toBe(true);
        },
      ),
    );
  });

  it("returns a query's replies as copies", () => {
    const sock = new FakeSocket((tag) => (tag === 1 ? Buffer.from('reply of one') : 0));
    const [a, b] = Conn.over(sock).execute(requests(2));
    expect(a).toEqual({ ok: true, replies: [] });
    expect(b!.ok && b!.replies.map(String)).toEqual(['reply of one']);
  });

  it('calls the outcome unknown where replies were lost to an overrun, never applied, and goes on', () => {
    // Every request fails; the queue holds the first few errors only, and the chunk's final ack is dropped too.
    const sock = new FakeSocket(() => 3, 100);
    const conn = Conn.over(sock);
    const out = conn.execute(requests(20));
    const errnos = out.map((o) => (o.ok ? 'ok' : o.error.errno));
    expect(errnos.slice(0, 5)).toEqual(['ESRCH', 'ESRCH', 'ESRCH', 'ESRCH', 'ESRCH']);
    expect(errnos.slice(5).every((e) => e === 'ENOBUFS')).toBe(true);
    expect(out[19]).toMatchObject({ ok: false, error: { detail: expect.stringMatching(/outcome unknown/) } });
    // The socket is in step again: the next exchange is counted as usual.
    expect(conn.execute(requests(1))[0]).toMatchObject({ ok: false, error: { errno: 'ESRCH' } });
  });

  it('with no acknowledgement queued and no overrun reported, calls the outcome unknown at once: it never waits', () => {
    const silent = new FakeSocket(() => 0);
    silent.send = function (this: FakeSocket, len: number) {
      FakeSocket.prototype.send.call(this, len);
      this.receive(() => undefined); // the replies vanish
    };
    const started = performance.now();
    const [o] = Conn.over(silent).execute(requests(1));
    expect(performance.now() - started).toBeLessThan(50);
    expect(o).toMatchObject({
      ok: false,
      error: { errno: 'ENOBUFS', detail: expect.stringMatching(/outcome unknown/) },
    });
  });
});
