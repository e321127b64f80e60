// The probe schedule and the probe deadlines: one timer for many entries,
// each run in due order, never late, and at most GRAIN_MS early.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deadline } from '../../src/health/prober/deadline.js';
import { GRAIN_MS, Schedule } from '../../src/health/schedule.js';

describe('the probe schedule', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs every entry once, in due order, not late and at most GRAIN_MS early, on one timer', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 200 }), (dues) => {
        const t0 = performance.now();
        const ran: { at: number; when: number }[] = [];
        const s = new Schedule<number>(
          (_, at) => ran.push({ at, when: performance.now() - t0 }),
          () => performance.now(),
        );
        for (const d of dues) s.add(d, t0 + d);
        expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
        vi.advanceTimersByTime(6000);
        expect(ran.map((r) => r.at - t0)).toEqual([...dues].sort((a, b) => a - b));
        for (const r of ran) {
          expect(r.when).toBeGreaterThanOrEqual(r.at - t0 - GRAIN_MS);
          expect(r.when).toBeLessThanOrEqual(r.at - t0 + 1);
        }
        s.clear();
      }),
    );
  });

  it('an entry added while others run waits for its own time', () => {
    const ran: string[] = [];
    const s = new Schedule<string>(
      (x) => {
        ran.push(x);
        if (x === 'a') s.add('again', performance.now() + 1000);
      },
      () => performance.now(),
    );
    s.add('a', performance.now() + 100);
    vi.advanceTimersByTime(200);
    expect(ran).toEqual(['a']);
    vi.advanceTimersByTime(1000);
    expect(ran).toEqual(['a', 'again']);
    s.clear();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('probe deadlines (real timers)', () => {
  it('fire each uncancelled one after its own length, in order, and never a cancelled one', async () => {
    const fired: string[] = [];
    const t0 = performance.now();
    const at: Record<string, number> = {};
    const mark = (name: string) => () => {
      fired.push(name);
      at[name] = performance.now() - t0;
    };
    deadline(60, mark('a60'));
    const cancel = deadline(60, mark('b60'));
    deadline(20, mark('c20'));
    deadline(60, mark('d60'));
    cancel();
    await new Promise((r) => setTimeout(r, 150));
    expect(fired).toEqual(['c20', 'a60', 'd60']);
    expect(at.c20).toBeGreaterThanOrEqual(19);
    expect(at.a60).toBeGreaterThanOrEqual(59);
  });
});
