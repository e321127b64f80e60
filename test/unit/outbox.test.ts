import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { align } from '../../src/netlink/message.js';
import { Outbox } from '../../src/netlink/outbox.js';

type Step =
  | { kind: 'put'; type: number; header?: number; chunks: Uint8Array[] }
  | { kind: 'consume'; count: number }
  | { kind: 'truncate'; back: number }
  | { kind: 'refused' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      type: fc.integer({ min: 16, max: 0xffff }),
      header: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
      chunks: fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 5 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('consume' as const), count: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'refused' as const }) },
);

/** What a message's payload must read: the family header, then each chunk as an attribute of type 1. */
function expected(s: Extract<Step, { kind: 'put' }>): Buffer {
  const parts: Buffer[] = [];
  if (s.header !== undefined) {
    const h = Buffer.alloc(4);
    h.writeUInt32LE(s.header);
    parts.push(h);
  }
  for (const c of s.chunks) {
    const a = Buffer.alloc(align(4 + c.length));
    a.writeUInt16LE(4 + c.length, 0);
    a.writeUInt16LE(1, 2);
    a.set(c, 4);
    parts.push(a);
  }
  return Buffer.concat(parts);
}

describe('outbox', () => {
  it('keeps every message it holds byte for byte, in pages no longer than a sendmsg, whatever is put, sent or dropped', () => {
    fc.assert(
      fc.property(fc.constantFrom(256, 1024, 4096), fc.array(step, { maxLength: 400 }), (pageBytes, steps) => {
        const box = new Outbox(pageBytes);
        const held = new Map<number, { type: number; payload: Buffer }>();
        for (const s of steps) {
          if (s.kind === 'put') {
            const e = box.begin(s.type, s.header);
            for (const c of s.chunks) e.bytes(1, c);
            held.set(box.end(), { type: s.type, payload: expected(s) });
          } else if (s.kind === 'consume') {
            const upTo = Math.min(box.first + s.count, box.next);
            box.consume(upTo);
            for (const i of held.keys()) if (i < upTo) held.delete(i);
          } else if (s.kind === 'truncate') {
            const from = Math.max(box.first, box.next - s.back);
            box.truncate(from);
            for (const i of held.keys()) if (i >= from) held.delete(i);
          } else {
            // A message whose encoding fails leaves nothing behind.
            const next = box.next;
            box.begin(16).u8(1, 256);
            expect(() => box.end()).toThrow(/does not fit/);
            expect(box.next).toBe(next);
          }
        }
        expect([...held.keys()]).toEqual(Array.from({ length: box.next - box.first }, (_, k) => box.first + k));
        for (const [i, m] of held) {
          const page = box.page(i);
          expect(page.readUInt32LE(box.offset(i))).toBe(box.limit(i) - box.offset(i));
          expect(page.readUInt16LE(box.offset(i) + 4)).toBe(m.type);
          expect(box.payload(i)).toEqual(m.payload);
          if (box.limit(i) - box.offset(i) <= pageBytes) expect(box.limit(i)).toBeLessThanOrEqual(pageBytes);
          // Messages of one page lie back to back, so a run of them goes out in one copy.
          if (held.has(i + 1) && box.page(i + 1) === page) expect(box.offset(i + 1)).toBe(align(box.limit(i)));
        }
      }),
    );
  });

  it('reuses the pages of what was sent: a steady stream of batches allocates no more', () => {
    const box = new Outbox(1024);
    const pages = new Set<Buffer>();
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 40; k++) {
        box.begin(16, 0).bytes(1, new Uint8Array(100));
        box.end();
      }
      expect(box.next - box.first).toBe(40);
      for (let i = box.first; i < box.next; i++) pages.add(box.page(i));
      box.consume(box.next);
    }
    // 40 messages of 124 bytes take 5 pages of 1 KiB; the spare ones go round.
    expect(pages.size).toBeLessThanOrEqual(6);
  });
});
