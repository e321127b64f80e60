// The file format of a desired state (src/desired/format.ts): decoding gives back what was encoded, and a file
// damaged in any way (truncated, bits flipped, bytes changed, inserted or lost) decodes to a StoreError or to the very
// state it held (a change of white space), never to another state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/desired/error.js';
import { decodeState, encodeState, type StoredDesiredState } from '../../src/desired/format.js';

describe('the file format', () => {
  const state = fc.record({
    name: fc.stringMatching(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/).map((id) => `desiredStates/${id}`),
    generation: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    spec: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
  });
  /** What JSON keeps of a state (no -0, for one). */
  const kept = (s: StoredDesiredState) => ({ ...s, spec: JSON.parse(JSON.stringify(s.spec)) });

  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(state, (s) => {
        expect(decodeState(encodeState(s), 'x.json')).toEqual(kept(s));
      }),
    );
  });

  it('decodes a damaged file to a StoreError, or to the very state it held, never to another', () => {
    // Positions are drawn over the whole file (fc.double in [0, 1] would mostly pick its first and last byte).
    const damage = (at: fc.Arbitrary<number>) =>
      fc.oneof(
        fc.record({ kind: fc.constant('truncate' as const), at }),
        fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
        fc.record({ kind: fc.constant('set' as const), at, byte: fc.nat(255) }),
        fc.record({ kind: fc.constant('insert' as const), at, byte: fc.nat(255) }),
        fc.record({ kind: fc.constant('delete' as const), at }),
      );
    const damaged = state.chain((s) => {
      const file = encodeState(s);
      return fc.tuple(fc.constant(s), fc.array(damage(fc.nat(file.length - 1)), { minLength: 1, maxLength: 3 }));
    });
    fc.assert(
      fc.property(damaged, ([s, damages]) => {
        let b: Buffer = encodeState(s);
        for (const d of damages) {
          // A later damage of a shorter file lands where it still can.
          const i = d.at % b.length;
          if (d.kind === 'truncate') b = b.subarray(0, i);
          else if (d.kind === 'flip')
            b = Buffer.concat([b.subarray(0, i), Buffer.of(b[i]! ^ (1 << d.bit)), b.subarray(i + 1)]);
          else if (d.kind === 'set') b = Buffer.concat([b.subarray(0, i), Buffer.of(d.byte), b.subarray(i + 1)]);
          else if (d.kind === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.of(d.byte), b.subarray(i)]);
          else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
          if (b.length === 0) break;
        }
        let got: StoredDesiredState;
        try {
          got = decodeState(b, 'x.json');
        } catch (e) {
          expect(e).toBeInstanceOf(StoreError);
          return;
        }
        expect(got).toEqual(kept(s));
      }),
      { numRuns: 500 },
    );
  });
});
