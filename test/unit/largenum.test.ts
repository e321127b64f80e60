// ipvsadm's counter cells, specified from its behaviour (ipvsadm 1.31,
// print_largenum): a cell is nine characters; below 100 million the number
// itself, right-aligned; from there it is floored to whole K (10^3) below
// 10^9, M (10^6) below 10^11, G (10^9) below 10^14, and T (10^12) above,
// in eight characters plus the unit. --exact prints every digit after one
// space, widening the cell past nine characters when it must.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largenum } from '../../src/cli/largenum.js';

const MAX = 2n ** 64n - 1n;
const UNITS = { K: 10n ** 3n, M: 10n ** 6n, G: 10n ** 9n, T: 10n ** 12n } as const;

/** The unit ipvsadm picks for n, by the ranges of its man page and source. */
function unitOf(n: bigint): keyof typeof UNITS | '' {
  if (n < 10n ** 8n) return '';
  if (n < 10n ** 9n) return 'K';
  if (n < 10n ** 11n) return 'M';
  if (n < 10n ** 14n) return 'G';
  return 'T';
}

// Every magnitude of a 64-bit counter equally often, boundaries included.
const counter = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX }),
  fc
    .integer({ min: 0, max: 19 })
    .chain((e) =>
      fc.bigInt({ min: 10n ** BigInt(e), max: [10n ** BigInt(e + 1) - 1n, MAX].reduce((a, b) => (a < b ? a : b)) }),
    ),
  fc.constantFrom(0n, 10n ** 8n - 1n, 10n ** 8n, 10n ** 9n - 1n, 10n ** 9n, 10n ** 11n - 1n, 10n ** 11n),
  fc.constantFrom(10n ** 14n - 1n, 10n ** 14n, 2n ** 64n - 1n),
);

describe("ipvsadm's counter cells (print_largenum)", () => {
  it('scaled: nine characters, the number floored to its unit, right-aligned', () => {
    fc.assert(
      fc.property(counter, (n) => {
        const cell = largenum(n, false);
        expect(cell).toHaveLength(9);
        const unit = unitOf(n);
        if (!unit) {
          expect(cell).toBe(String(n).padStart(9));
          return;
        }
        expect(cell.at(-1)).toBe(unit);
        expect(cell.slice(0, 8)).toMatch(/^ *[1-9]\d*$/);
        const shown = BigInt(cell.slice(0, 8).trim());
        // Floored, never rounded: shown units cover n, and one more would pass it.
        expect(shown * UNITS[unit] <= n && n < (shown + 1n) * UNITS[unit]).toBe(true);
      }),
    );
  });

  it('exact: every digit after at least one space, at least nine characters', () => {
    fc.assert(
      fc.property(counter, (n) => {
        const cell = largenum(n, true);
        const digits = String(n);
        expect(cell).toHaveLength(Math.max(9, digits.length + 1));
        expect(cell.trimStart()).toBe(digits);
        expect(cell.startsWith(' ')).toBe(true);
      }),
    );
  });

  it('at the boundaries, as ipvsadm prints them', () => {
    const cases: [bigint, string, string][] = [
      [0n, '        0', '        0'],
      [99_999_999n, ' 99999999', ' 99999999'],
      [100_000_000n, '  100000K', ' 100000000'],
      [999_999_999n, '  999999K', ' 999999999'],
      [1_000_000_000n, '    1000M', ' 1000000000'],
      [99_999_999_999n, '   99999M', ' 99999999999'],
      [100_000_000_000n, '     100G', ' 100000000000'],
      [99_999_999_999_999n, '   99999G', ' 99999999999999'],
      [100_000_000_000_000n, '     100T', ' 100000000000000'],
      [2n ** 64n - 1n, '18446744T', ' 18446744073709551615'],
    ];
    for (const [n, scaled, exact] of cases) {
      expect(largenum(n, false)).toBe(scaled);
      expect(largenum(n, true)).toBe(exact);
    }
  });
});
