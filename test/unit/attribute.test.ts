import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeDecoder } from '../../src/netlink/attribute-decoder.js';
import { AttributeEncoder } from '../../src/netlink/attribute-encoder.js';
import { KernelError } from '../../src/netlink/error.js';

type Attr =
  | { kind: 'u8' | 'u16' | 'be16' | 'u32' | 'be32'; type: number; v: number }
  | { kind: 'u64'; type: number; v: bigint }
  | { kind: 'string'; type: number; v: string }
  | { kind: 'bytes'; type: number; v: Uint8Array }
  | { kind: 'nested'; type: number; v: Attr[] };

const type = fc.integer({ min: 1, max: 0x3fff });
const attr: fc.Memo<Attr> = fc.memo((depth) =>
  fc.oneof(
    fc.record({ kind: fc.constant('u8' as const), type, v: fc.integer({ min: 0, max: 0xff }) }),
    fc.record({ kind: fc.constantFrom('u16' as const, 'be16' as const), type, v: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({
      kind: fc.constantFrom('u32' as const, 'be32' as const),
      type,
      v: fc.integer({ min: 0, max: 0xffffffff }),
    }),
    fc.record({ kind: fc.constant('u64' as const), type, v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
    fc.record({
      kind: fc.constant('string' as const),
      type,
      v: fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0')),
    }),
    fc.record({ kind: fc.constant('bytes' as const), type, v: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({
      kind: fc.constant('nested' as const),
      type,
      v: depth > 2 ? fc.constant([] as Attr[]) : fc.array(attr(depth + 1), { maxLength: 4 }),
    }),
  ),
);

function encode(e: AttributeEncoder, attrs: Attr[]): void {
  for (const a of attrs) {
    if (a.kind === 'nested') e.nested(a.type, () => encode(e, a.v));
    else (e[a.kind] as (t: number, v: unknown) => unknown).call(e, a.type, a.v);
  }
}

function decode(d: AttributeDecoder, shape: Attr[]): Attr[] {
  const out: Attr[] = [];
  for (const a of shape) {
    expect(d.next()).toBe(true);
    expect(d.type()).toBe(a.type);
    if (a.kind === 'nested') {
      let inner: Attr[] = [];
      d.nested((n) => {
        inner = decode(n, a.v);
        expect(n.next()).toBe(false);
      });
      out.push({ ...a, v: inner });
    } else if (a.kind === 'bytes') {
      out.push({ ...a, v: new Uint8Array(d.bytes()) });
    } else {
      out.push({ ...a, v: (d[a.kind] as () => unknown).call(d) } as Attr);
    }
  }
  expect(d.next()).toBe(false);
  d.finish();
  return out;
}

describe('netlink attributes', () => {
  it('messages built one after another on one encoder keep their bytes, whatever the buffer growth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(attr(0), { maxLength: 6 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(0, 4, 20),
        (messages, headroom) => {
          const shared = new AttributeEncoder(64, headroom);
          const built = messages.map((attrs) => {
            encode(shared.restart(), attrs);
            return shared.finish();
          });
          messages.forEach((attrs, i) => {
            const alone = new AttributeEncoder(8, headroom);
            encode(alone, attrs);
            expect(built[i]).toEqual(alone.finish());
            expect(built[i]!.subarray(0, headroom).every((b) => b === 0)).toBe(true);
            expect(decode(new AttributeDecoder(built[i]!, headroom), attrs)).toEqual(attrs);
          });
        },
      ),
    );
  });

  it("a restart forgets the previous message's error", () => {
    const e = new AttributeEncoder();
    e.u8(1, 256);
    expect(() => e.finish()).toThrow(KernelError);
    expect(e.restart().u8(1, 255).finish()).toEqual(Buffer.from([5, 0, 1, 0, 255, 0, 0, 0]));
  });

  it('decode to exactly what was encoded, nested to any depth', () => {
    fc.assert(
      fc.property(fc.array(attr(0), { maxLength: 8 }), (attrs) => {
        const e = new AttributeEncoder(8);
        encode(e, attrs);
        const buf = e.finish();
        expect(buf.length % 4).toBe(0);
        expect(decode(new AttributeDecoder(buf), attrs)).toEqual(attrs);
      }),
    );
  });

  it('reads an unsigned integer at the width it was sent', () => {
    const buf = new AttributeEncoder()
      .u8(1, 7)
      .u16(2, 300)
      .u32(3, 70000)
      .u64(4, 2n ** 40n)
      .finish();
    const d = new AttributeDecoder(buf);
    const seen: number[] = [];
    while (d.next()) seen.push(d.uint());
    d.finish();
    expect(seen).toEqual([7, 300, 70000, 2 ** 40]);
  });

  it('reads a 64-bit integer as a number: exact up to 2^53, the nearest double past it', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        const d = new AttributeDecoder(new AttributeEncoder().u64(1, v).finish());
        d.next();
        const got = d.uint();
        if (v <= 2n ** 53n) expect(got).toBe(Number(v));
        else expect(Math.abs(got - Number(v)) / Number(v)).toBeLessThan(2 ** -52);
      }),
    );
  });

  it('encoder: the first out-of-range value sticks and is thrown at finish', () => {
    const e = new AttributeEncoder().u8(1, 256).u16(2, -1).u32(3, 1);
    expect(() => e.finish()).toThrow(/attribute 1: 256 does not fit in 8 bits/);
    expect(() => new AttributeEncoder().bytes(1, new Uint8Array(70000)).finish()).toThrow(/too long/);
  });

  it('decoder: a wrong size sticks as the first error, reads return zero, and iteration stops', () => {
    const buf = new AttributeEncoder().u16(1, 5).u32(2, 9).finish();
    const d = new AttributeDecoder(buf);
    expect(d.next()).toBe(true);
    expect(d.u32()).toBe(0);
    expect(d.u16()).toBe(5);
    expect(d.next()).toBe(false);
    expect(d.err()?.message).toMatch(/attribute 1: want 4 bytes, got 2/);
    expect(() => d.finish()).toThrow(/attribute 1: want 4 bytes, got 2/);
  });

  it('decoder: garbage never throws anything but KernelError, and always terminates', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const d = new AttributeDecoder(Buffer.from(bytes));
        let steps = 0;
        try {
          while (d.next()) {
            steps++;
            d.nested((n) => {
              while (n.next()) n.u32();
            });
            d.uint();
            d.string();
          }
          d.finish();
        } catch (e) {
          expect(e).toBeInstanceOf(KernelError);
        }
        expect(steps).toBeLessThanOrEqual(bytes.length / 4);
      }),
    );
  });
});
