// Drift: a listing whose owned fingerprint differs from the one the kernel
// had when it last matched asks for one reconcile, never sooner than the
// minimum interval after the last, and never two at once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Drift } from '../../src/desired/drift.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A Drift that has reconciled once and found the kernel at fingerprint `fp`. */
function matched(fp = 1): Drift {
  const d = new Drift();
  d.settled(fp, true);
  return d;
}

describe('drift', () => {
  it('is seen when a listing differs from the matched fingerprint, and not when it is the same', () => {
    const d = matched(1);
    expect(d.seen(1)).toBe(false);
    expect(d.since).toBeUndefined();
    expect(d.seen(2)).toBe(true);
    const since = d.since;
    expect(since).toBeInstanceOf(Date);
    // Still drifted: the first sighting stays the time.
    vi.advanceTimersByTime(500);
    expect(d.seen(3)).toBe(true);
    expect(d.since).toBe(since);
  });

  it('after a reconcile that failed as a whole (nothing known), takes the next listing as what the kernel holds', () => {
    const d = matched(1);
    d.settled(undefined, true);
    expect(d.seen(5)).toBe(false);
    expect(d.seen(5)).toBe(false);
    expect(d.seen(6)).toBe(true);
  });

  it('a reconcile in sync clears the drift time; one that is not keeps it', () => {
    const d = matched(1);
    d.seen(2);
    d.settled(undefined, false);
    expect(d.since).toBeInstanceOf(Date);
    d.settled(1, true);
    expect(d.since).toBeUndefined();
  });

  it('reconciles at once when the last reconcile is older than the interval, else when the interval is up', () => {
    const d = matched();
    vi.advanceTimersByTime(5000);
    const run = vi.fn();
    d.schedule(1000, run);
    vi.advanceTimersByTime(0);
    expect(run).toHaveBeenCalledTimes(1);
    expect(d.deferred).toBe(0);
    d.settled(1, true);
    vi.advanceTimersByTime(300);
    d.schedule(1000, run);
    expect(d.deferred).toBe(1);
    vi.advanceTimersByTime(699);
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('keeps one reconcile pending, however often drift is seen, until it settles', () => {
    const d = matched();
    const run = vi.fn();
    for (let i = 0; i < 10; i++) d.schedule(1000, run);
    vi.advanceTimersByTime(2000);
    expect(run).toHaveBeenCalledTimes(1);
    // Run but not yet settled (queued behind a Put): still one.
    d.schedule(1000, run);
    vi.advanceTimersByTime(2000);
    expect(run).toHaveBeenCalledTimes(1);
    d.settled(1, true);
    d.schedule(1000, run);
    vi.advanceTimersByTime(1000);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('a fight (drift after every reconcile) reconciles once per interval, counting each wait', () => {
    const d = matched();
    let runs = 0;
    const reconcile = () => {
      runs++;
      d.settled(0, true);
    };
    // Another writer changes the rules every 100 ms for 10 s; each listing shows it.
    for (let t = 0; t < 10_000; t += 100) {
      d.seen(t + 1) && d.schedule(1000, reconcile);
      vi.advanceTimersByTime(100);
    }
    expect(runs).toBeGreaterThanOrEqual(9);
    expect(runs).toBeLessThanOrEqual(11);
    expect(d.deferred).toBeGreaterThanOrEqual(runs - 1);
  });

  it('cancel drops the pending reconcile', () => {
    const d = matched();
    const run = vi.fn();
    d.settled(1, true);
    d.schedule(1000, run);
    d.cancel();
    vi.advanceTimersByTime(5000);
    expect(run).not.toHaveBeenCalled();
  });
});
