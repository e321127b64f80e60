import { describe, expect, it } from 'vitest';
import { Handle, IPPROTO_TCP, type BatchOp } from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();
const svc = (port: number) => ({ address: '192.0.2.1', protocol: IPPROTO_TCP, port });

describe('batches and coalescing', () => {
  it('coalesces calls made together into a few sendmsg calls', async () => {
    const sends = ctx.h.io.sends;
    await Promise.all(Array.from({ length: 1000 }, (_, i) => ctx.h.newService(svc(i + 1))));
    // 1000 requests go at most 256 to a sendmsg (so that the event loop gets turns between them), and
    // a sendmsg never spans two pages of the outbox: 4 or 5, not 1000.
    expect(ctx.h.io.sends - sends).toBeLessThanOrEqual(5);
    expect(ctx.ns.saved()).toHaveLength(1000);
  });

  it('reports exactly which items failed and which were applied', async () => {
    await ctx.h.newService(svc(2));
    const ops: BatchOp[] = [
      { op: 'newService', service: svc(1) },
      { op: 'newService', service: svc(2) }, // exists
      { op: 'newDestination', service: svc(1), destination: { address: '198.51.100.1' } },
      { op: 'newDestination', service: svc(9), destination: { address: '198.51.100.1' } }, // no such service
      { op: 'newService', service: svc(3) },
    ];
    const results = await ctx.h.batch(ops);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.errno))).toEqual(['ok', 'EEXIST', 'ok', 'ESRCH', 'ok']);
    const failed = results[1]!;
    expect(!failed.ok && failed.error).toMatchObject({ index: 1, op: 'newService tcp 192.0.2.1:2' });
    expect(ctx.ns.saved().sort()).toEqual([
      '-A -t 192.0.2.1:1 -s wlc',
      '-A -t 192.0.2.1:2 -s wlc',
      '-A -t 192.0.2.1:3 -s wlc',
      '-a -t 192.0.2.1:1 -r 198.51.100.1:1 -m -w 1',
    ]);
  });

  it('refuses a whole batch, unsent, when one item is invalid', async () => {
    const sends = ctx.h.io.sends;
    expect(() =>
      ctx.h.batch([
        { op: 'newService', service: svc(1) },
        { op: 'newService', service: svc(70000) },
      ]),
    ).toThrow(/batch item 1: newService: EINVAL: service port/);
    expect(ctx.h.io.sends).toBe(sends);
    expect(ctx.ns.saved()).toEqual([]);
  });

  it('keeps call order: a listing issued after writes sees them', async () => {
    const [, , list] = await Promise.all([
      ctx.h.newService(svc(1)),
      ctx.h.newService(svc(2)),
      ctx.h.getServices(),
      ctx.h.delService(svc(1)),
    ]);
    expect(list.map((s) => s.port).sort()).toEqual([1, 2]);
    expect(ctx.ns.saved()).toEqual(['-A -t 192.0.2.1:2 -s wlc']);
  });

  it('stays correct under many concurrent writers and readers', async () => {
    const writers = Array.from({ length: 20 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 10; i++) {
          await ctx.h.newService(svc(w * 100 + i + 1));
          await ctx.h.newDestination(svc(w * 100 + i + 1), { address: '198.51.100.1' });
          if (i % 3 === 0) await ctx.h.getServicesWithDestinations();
        }
      })(),
    );
    await Promise.all(writers);
    const all = await ctx.h.getServicesWithDestinations();
    expect(all).toHaveLength(200);
    expect(all.every((s) => s.destinations.length === 1)).toBe(true);
    expect(ctx.ns.saved()).toHaveLength(400);
  });

  it('without io_uring, lists services with destinations in one dump per service, each a single recvmmsg', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => ctx.h.newService(svc(i + 1))));
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        Promise.all([1, 2, 3].map((d) => ctx.h.newDestination(svc(i + 1), { address: `198.51.100.${d}` }))),
      ),
    );
    const plain = new Handle(ctx.ns.path, { ioUring: false });
    try {
      const { sends, receives } = plain.io; // the family lookup at open
      const list = await plain.getServicesWithDestinations();
      expect(list.reduce((n, s) => n + s.destinations.length, 0)).toBe(150);
      expect(plain.io.sends - sends).toBe(51);
      expect(plain.io.receives - receives).toBeLessThanOrEqual(51 * 2);
      expect(plain.io.rings).toBe(0);
    } finally {
      plain.close();
    }
  });
});
