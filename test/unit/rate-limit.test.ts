// The write rate limit's token bucket: never more than burst + rate x t
// writes accepted in any window of length t, whatever the timing (a
// fast-check property); a refused write is told when to try again; each
// principal has its own bucket.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WriteLimiter } from '../../src/server/rate-limit.js';

describe('WriteLimiter', () => {
  it('accepts at most burst + rate x t in any window of t, for any arrival times', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.double({ min: 0, max: 200, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (perSecond, burst, gaps) => {
          let t = 0;
          const limiter = new WriteLimiter(perSecond, burst, () => t);
          const accepted: number[] = [];
          for (const g of gaps) {
            t += g;
            if (limiter.take('p') === 0) accepted.push(t);
          }
          for (let i = 0; i < accepted.length; i++) {
            for (let j = i; j < accepted.length; j++) {
              const window = accepted[j]! - accepted[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(burst + (perSecond * window) / 1000 + 1e-9);
            }
          }
        },
      ),
    );
  });

  it('lets a burst through at once, refuses the next with the wait, and refills at the rate', () => {
    let t = 0;
    const limiter = new WriteLimiter(10, 3, () => t);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(100);
    t = 50;
    expect(limiter.take('a')).toBe(50);
    t = 100;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(100);
  });

  it('keeps one bucket per principal: one spent leaves the others full', () => {
    let t = 0;
    const limiter = new WriteLimiter(1, 2, () => t);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 1000]);
    expect([limiter.take('b'), limiter.take('b')]).toEqual([0, 0]);
    t = 500;
    expect(limiter.take('a')).toBe(500);
  });

  it('forgets principals whose bucket has refilled, and keeps the table bounded', () => {
    let t = 0;
    const limiter = new WriteLimiter(1000, 1, () => t);
    for (let i = 0; i < 25_000; i++) {
      t += 0.01;
      limiter.take(`p${i}`);
    }
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(10_000);
    // The latest writer is still remembered, and still limited.
    expect(limiter.take('p24999')).toBeGreaterThan(0);
  });
});
