// Listing many services' destinations through io_uring (a pool of sockets,
// many dumps per syscall) gives exactly what one dump at a time gives, also
// for a dump too long for the ring's two reads, which finishes on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Handle, IPPROTO_TCP, type BatchOp } from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();
const svc = (i: number) => ({ address: `192.0.2.${i + 1}`, protocol: IPPROTO_TCP, port: 80 });
const rip = (j: number) => `198.18.${j >> 8}.${j & 255}`;
/** Services 0..99 with i % 7 destinations each, and service 100 with 3000 (many datagrams). */
const ops = (): BatchOp[] => {
  const out: BatchOp[] = [];
  for (let i = 0; i <= 100; i++) {
    out.push({ op: 'newService', service: svc(i) });
    const n = i === 100 ? 3000 : i % 7;
    for (let j = 0; j < n; j++)
      out.push({ op: 'newDestination', service: svc(i), destination: { address: rip(j), port: 8080, weight: j % 5 } });
  }
  return out;
};
const plainOf = (list: Awaited<ReturnType<Handle['getServicesWithDestinations']>>) =>
  list
    .map(
      (s) =>
        `${s.address} ${s.destinations
          .map((d) => `${d.address}/${d.weight}`)
          .sort()
          .join(',')}`,
    )
    .sort();

let oneByOne: Handle;

describe('many dumps at once', () => {
  beforeAll(() => {
    oneByOne = new Handle(ctx.ns.path, { ioUring: false });
  });
  afterAll(() => oneByOne?.close());

  it('lists what one dump at a time lists, with a few io_uring rounds instead of a syscall pair per service', async () => {
    expect((await ctx.h.batch(ops())).every((r) => r.ok)).toBe(true);
    const io = { ...ctx.h.io };
    const together = await ctx.h.getServicesWithDestinations();
    const rounds = ctx.h.io.rings - io.rings;
    const io2 = { ...oneByOne.io };
    const apart = await oneByOne.getServicesWithDestinations();

    expect(plainOf(together)).toEqual(plainOf(apart));
    expect(together.find((s) => s.address === '192.0.2.101')!.destinations).toHaveLength(3000);
    // 101 services: one service dump, then io_uring rounds of 32; only the long dump reads on by itself.
    expect(rounds).toBe(Math.ceil(101 / 32));
    expect(ctx.h.io.sends - io.sends).toBe(1);
    expect(oneByOne.io.rings - io2.rings).toBe(0);
    expect(oneByOne.io.sends - io2.sends).toBe(102);
    // ipvsadm agrees.
    expect(ctx.ns.saved()).toHaveLength(101 + 3000 + [...Array(100).keys()].reduce((a, i) => a + (i % 7), 0));
  });
});
