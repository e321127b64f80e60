// Health as the monitor decides it: fall failures in a row take a
// destination down, rise successes bring it back, an undecided one keeps the
// kernel's weight, and what the reconcile applies follows (weight 0, or
// left out to be removed). A fake prober answers; the clock is vitest's.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkOf } from '../../src/health/check.js';
import { HealthMonitor, type Prober, type Transition } from '../../src/health/monitor.js';
import type { ProbeResult } from '../../src/health/probe.js';
import { Target } from '../../src/health/target.js';
import type { ServiceHealthSpec } from '../../src/health/targets.js';
import type { DesiredService, ServiceWithDestinations } from '../../src/ipvs/index.js';

beforeEach(() => {
  vi.useFakeTimers({
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'Date',
      'performance',
    ],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

const result = (ok: boolean, weight?: number): ProbeResult => ({
  id: 0,
  ok,
  latencyMs: 1,
  reason: ok ? 'ok' : 'connect ECONNREFUSED',
  weight,
});

describe('a checked destination (Target)', () => {
  it('follows rise and fall exactly, from any sequence of results', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (rise, fall, oks) => {
          const t = new Target(checkOf({ probe: { kind: 'tcp' }, rise, fall }), 'up');
          // The model: the state changes only after `rise` successes or `fall` failures in a row.
          let state: 'up' | 'down' = 'up';
          let run = 0;
          let last: boolean | undefined;
          for (const ok of oks) {
            run = ok === last ? run + 1 : 1;
            last = ok;
            if (state === 'up' && !ok && run >= fall) state = 'down';
            if (state === 'down' && ok && run >= rise) state = 'up';
            t.record(result(ok));
            expect(t.state).toBe(state);
          }
        },
      ),
    );
  });

  it('undecided (after a restart): one success makes it up, fall failures down', () => {
    const up = new Target(checkOf({ probe: { kind: 'tcp' }, rise: 3, fall: 2 }), 'unknown');
    expect(up.record(result(true))).toBe('state');
    expect(up.state).toBe('up');
    const down = new Target(checkOf({ probe: { kind: 'tcp' }, rise: 3, fall: 2 }), 'unknown');
    expect(down.record(result(false))).toBeUndefined();
    expect(down.state).toBe('unknown');
    expect(down.record(result(false))).toBe('state');
    expect(down.state).toBe('down');
  });

  it("keeps an exec check's printed weight while up, and tells when it moves", () => {
    const t = new Target(checkOf({ probe: { kind: 'tcp' }, fall: 1 }), 'up');
    expect(t.record(result(true, 5))).toBe('weight');
    expect(t.printedWeight).toBe(5);
    expect(t.record(result(true, 5))).toBeUndefined();
    expect(t.record(result(false))).toBe('state');
    expect(t.printedWeight).toBeUndefined();
  });
});

const svc: DesiredService = {
  address: '192.0.2.1',
  protocol: 6,
  port: 80,
  schedName: 'rr',
  destinations: [
    { address: '198.51.100.1', port: 8080, weight: 3 },
    { address: '198.51.100.2', port: 8080, weight: 4 },
  ],
};
const check = (o = {}) =>
  checkOf({ probe: { kind: 'tcp' }, intervalMs: 1000, timeoutMs: 500, jitterMs: 0, rise: 2, fall: 2, ...o });
const health = (onDown: 'weight-zero' | 'remove' = 'weight-zero', o = {}): ServiceHealthSpec[] => [
  { service: { address: '192.0.2.1', protocol: 6, port: 80 }, check: check(o), destinations: [], onDown },
];
/** A kernel listing of `svc` with these weights. */
const kernel = (w1: number, w2: number): ServiceWithDestinations[] => [
  {
    addressFamily: 2,
    protocol: 6,
    address: '192.0.2.1',
    port: 80,
    fwMark: 0,
    schedName: 'rr',
    flags: 2,
    timeout: 0,
    netmask: 0xffffffff,
    peName: '',
    stats: {} as never,
    destinations: [w1, w2].map(
      (weight, i) => ({ address: `198.51.100.${i + 1}`, port: 8080, weight, addressFamily: 2 }) as never,
    ),
  },
];
const weights = (s: DesiredService[]) => s[0]!.destinations!.map((d) => d.weight ?? 1);

/** A prober whose answer for each address is set by the test, counting probes. */
function fakeProber(): Prober & { up: Map<string, boolean>; probes: string[] } {
  const up = new Map<string, boolean>();
  const probes: string[] = [];
  return {
    up,
    probes,
    probe: async (r) => {
      probes.push(`${r.address}:${r.port}`);
      return result(up.get(r.address) ?? true);
    },
  };
}

function monitor(p: Prober) {
  const transitions: Transition[] = [];
  let changes = 0;
  // The fake timers' own clocks, read each time (the server's are read once a turn).
  const clock = { mono: () => performance.now(), wall: () => Date.now() };
  const m = new HealthMonitor(p, { change: () => changes++, transition: (t) => transitions.push(t) }, clock);
  return { m, transitions, changes: () => changes };
}

describe('the health monitor', () => {
  it('takes a destination down after fall failures (weight 0), and back after rise successes', async () => {
    const p = fakeProber();
    const { m, transitions, changes } = monitor(p);
    m.update([svc], health(), 'declared');
    expect(weights(m.effective([svc], []))).toEqual([3, 4]);
    p.up.set('198.51.100.2', false);
    // The first probes at once (no jitter), the second a second later.
    await vi.advanceTimersByTimeAsync(500);
    expect(m.counts()).toEqual({ unknown: 0, up: 2, down: 0 });
    await vi.advanceTimersByTimeAsync(600);
    expect(m.counts()).toEqual({ unknown: 0, up: 1, down: 1 });
    expect(weights(m.effective([svc], []))).toEqual([3, 0]);
    expect(transitions.map((t) => [t.checked.destination, t.previous, t.checked.target.state])).toEqual([
      ['198.51.100.2:8080', 'up', 'down'],
    ]);
    expect(changes()).toBe(1);
    p.up.set('198.51.100.2', true);
    await vi.advanceTimersByTimeAsync(2000);
    expect(weights(m.effective([svc], []))).toEqual([3, 4]);
    expect(changes()).toBe(2);
    m.stop();
  });

  it('with REMOVE, leaves a down destination out (the reconcile prunes it)', async () => {
    const p = fakeProber();
    const { m } = monitor(p);
    m.update([svc], health('remove'), 'declared');
    p.up.set('198.51.100.1', false);
    await vi.advanceTimersByTimeAsync(2100);
    expect(m.effective([svc], [])[0]!.destinations!.map((d) => d.address)).toEqual(['198.51.100.2']);
    m.stop();
  });

  it("after a restart, keeps the kernel's weight of an undecided destination until its probes decide", async () => {
    const p = fakeProber();
    const { m } = monitor(p);
    m.update([svc], health(), 'unknown');
    // Down before the restart: weight 0 in the kernel; still dead.
    p.up.set('198.51.100.1', false);
    expect(weights(m.effective([svc], kernel(0, 4)))).toEqual([0, 4]);
    await vi.advanceTimersByTimeAsync(100);
    // One success decides 198.51.100.2 (up); one failure does not decide 198.51.100.1.
    expect(m.counts()).toEqual({ unknown: 1, up: 1, down: 0 });
    expect(weights(m.effective([svc], kernel(0, 4)))).toEqual([0, 4]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.counts()).toEqual({ unknown: 0, up: 1, down: 1 });
  });

  it('starts a destination down with start_down, up after rise successes', async () => {
    const p = fakeProber();
    const { m } = monitor(p);
    m.update([svc], health('weight-zero', { startDown: true }), 'declared');
    expect(weights(m.effective([svc], []))).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1100);
    expect(weights(m.effective([svc], []))).toEqual([3, 4]);
    m.stop();
  });

  it('a Put that keeps a destination keeps its state; one it drops is no longer probed', async () => {
    const p = fakeProber();
    const { m } = monitor(p);
    m.update([svc], health(), 'declared');
    p.up.set('198.51.100.1', false);
    await vi.advanceTimersByTimeAsync(2100);
    const fewer = { ...svc, destinations: [svc.destinations![0]!] };
    m.update([fewer], health(), 'declared');
    expect(m.counts()).toEqual({ unknown: 0, up: 0, down: 1 });
    p.probes.length = 0;
    await vi.advanceTimersByTimeAsync(3000);
    expect(new Set(p.probes)).toEqual(new Set(['198.51.100.1:8080']));
    m.stop();
  });

  it('spreads the first probes of many destinations over the jitter, then keeps each on its interval', async () => {
    const p = fakeProber();
    const { m } = monitor(p);
    const many = {
      ...svc,
      destinations: Array.from({ length: 200 }, (_, i) => ({ address: `198.51.100.${(i % 250) + 1}`, port: 8000 + i })),
    };
    m.update([many], health('weight-zero', { jitterMs: 1000, intervalMs: 2000 }), 'declared');
    const at: number[] = [];
    for (let t = 0; t < 10; t++) {
      await vi.advanceTimersByTimeAsync(100);
      at.push(p.probes.length);
    }
    // About a tenth in each 100 ms of the 1 s jitter: never all at once.
    expect(Math.max(...at.map((n, i) => n - (at[i - 1] ?? 0)))).toBeLessThan(60);
    expect(at.at(-1)).toBe(200);
    await vi.advanceTimersByTimeAsync(2000);
    expect(p.probes.length).toBe(400);
    m.stop();
  });

  it('puts the sorry server in when quorum is lost, and takes it out only at quorum + hysteresis', async () => {
    const p = fakeProber();
    const { m } = monitor(p);
    const pool = {
      ...svc,
      destinations: [
        { address: '198.51.100.1', port: 8080, weight: 3 },
        { address: '198.51.100.2', port: 8080, weight: 2 },
        { address: '198.51.100.3', port: 8080, weight: 2 },
      ],
    };
    const sorry = { address: '203.0.113.99', port: 8080, weight: 1 };
    const spec = health();
    spec[0]!.quorum = { min: 5, hysteresis: 1, sorry: [sorry] };
    m.update([pool], spec, 'declared');
    const addresses = () =>
      m
        .effective([pool], [])[0]!
        .destinations!.filter((d) => d.weight !== 0)
        .map((d) => d.address);
    expect(addresses()).not.toContain('203.0.113.99');
    // 7 → 3: below 5 - 1.
    p.up.set('198.51.100.2', false);
    p.up.set('198.51.100.3', false);
    await vi.advanceTimersByTimeAsync(1100);
    expect(addresses()).toEqual(['198.51.100.1', '203.0.113.99']);
    // 3 → 5: back at the quorum, not at 5 + 1: still lost.
    p.up.set('198.51.100.2', true);
    await vi.advanceTimersByTimeAsync(2000);
    expect(addresses()).toEqual(['198.51.100.1', '198.51.100.2', '203.0.113.99']);
    // 5 → 7: quorum is back, the sorry server leaves.
    p.up.set('198.51.100.3', true);
    await vi.advanceTimersByTimeAsync(2000);
    expect(addresses()).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
    m.stop();
  });

  it('gives a recovered destination its weight back in ten steps over its slow start, asking a reconcile at each', async () => {
    const p = fakeProber();
    const { m, changes } = monitor(p);
    const heavy = { ...svc, destinations: [{ address: '198.51.100.1', port: 8080, weight: 20 }] };
    m.update([heavy], health('weight-zero', { slowStartMs: 1000 }), 'declared');
    p.up.set('198.51.100.1', false);
    await vi.advanceTimersByTimeAsync(1100);
    expect(weights(m.effective([heavy], []))).toEqual([0]);
    p.up.set('198.51.100.1', true);
    // Two successes (rise 2): up at the second, at t ≈ 3 s.
    await vi.advanceTimersByTimeAsync(1950);
    const before = changes();
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      seen.push(weights(m.effective([heavy], []))[0]!);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(seen[0]).toBeGreaterThanOrEqual(1);
    expect(seen[0]).toBeLessThanOrEqual(4);
    expect(seen.at(-1)).toBe(20);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(changes() - before).toBeGreaterThanOrEqual(8);
    m.stop();
  });
});
