// The replies of a chunk of dumps kept as bytes: read back per dump, in the
// order they came, without those from before the dump restarted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplyStore } from '../../src/netlink/reply-store.js';

const step = fc.oneof(
  fc.record({ add: fc.nat(7), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ reset: fc.nat(7) }),
);

describe('a store of dump replies', () => {
  it('gives each dump the replies since its last restart, in order, however many and however big', () => {
    const store = new ReplyStore();
    fc.assert(
      fc.property(fc.array(step, { maxLength: 3000 }), (steps) => {
        store.clear(8);
        const want: Buffer[][] = Array.from({ length: 8 }, () => []);
        for (const s of steps) {
          if ('reset' in s) {
            store.reset(s.reset);
            want[s.reset] = [];
            continue;
          }
          // Bytes inside a bigger datagram, as the kernel's replies are.
          const datagram = Buffer.concat([Buffer.from([1, 2]), s.bytes, Buffer.from([3])]);
          store.add(s.add, datagram, 2, 2 + s.bytes.length);
          want[s.add]!.push(Buffer.from(s.bytes));
        }
        for (let k = 0; k < 8; k++) {
          const got: Buffer[] = [];
          store.each(k, (b, start, end) => got.push(Buffer.from(b.subarray(start, end))));
          expect(got).toEqual(want[k]);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('is empty again once cleared, for more dumps than before', () => {
    const store = new ReplyStore();
    store.clear(1);
    store.add(0, Buffer.from([9]), 0, 1);
    store.clear(500);
    for (const k of [0, 499]) {
      let n = 0;
      store.each(k, () => n++);
      expect(n).toBe(0);
    }
    store.add(499, Buffer.from([5, 6]), 1, 2);
    const got: number[] = [];
    store.each(499, (b, s) => got.push(b[s]!));
    expect(got).toEqual([6]);
  });
});
