// A health check's defaults and bounds: what is left out takes its default,
// what is out of bounds or inconsistent is refused naming its field, and
// every accepted check keeps the invariants the monitor relies on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CheckError, checkOf, type ProbeTemplate } from '../../src/health/check.js';

const tcp: ProbeTemplate = { kind: 'tcp' };
const http = (o: Partial<NonNullable<ProbeTemplate['http']>> = {}): ProbeTemplate => ({
  kind: 'http',
  http: { tls: false, path: '/', statuses: [[200, 299]], verify: true, ...o },
});

/** The field a check is refused at, or undefined when accepted. */
function refused(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof CheckError) return e.field;
    throw e;
  }
}

describe('a health check', () => {
  it('takes HAProxy-like defaults: every 5 s, timeout 2 s, rise 2, fall 3, a tenth of the interval as jitter, up first', () => {
    expect(checkOf({ probe: tcp })).toEqual({
      intervalMs: 5000,
      timeoutMs: 2000,
      rise: 2,
      fall: 3,
      startDown: false,
      jitterMs: 500,
      address: undefined,
      port: undefined,
      slowStartMs: 0,
      probe: tcp,
    });
    // A short interval takes a timeout no longer than itself.
    expect(checkOf({ probe: tcp, intervalMs: 500 }).timeoutMs).toBe(500);
  });

  it('refuses each bad field by name, as the API names it', () => {
    expect(refused(() => checkOf({}))).toBe('kind');
    expect(refused(() => checkOf({ probe: tcp, intervalMs: 50 }))).toBe('interval');
    expect(refused(() => checkOf({ probe: tcp, intervalMs: 1000, timeoutMs: 1500 }))).toBe('timeout');
    expect(refused(() => checkOf({ probe: tcp, rise: 101 }))).toBe('rise');
    expect(refused(() => checkOf({ probe: tcp, fall: 1.5 }))).toBe('fall');
    expect(refused(() => checkOf({ probe: tcp, intervalMs: 1000, jitterMs: 1001 }))).toBe('jitter');
    expect(refused(() => checkOf({ probe: tcp, address: 'example.com' }))).toBe('address');
    expect(refused(() => checkOf({ probe: tcp, port: 70000 }))).toBe('port');
    expect(refused(() => checkOf({ probe: tcp, slowStartMs: 4_000_000 }))).toBe('slow_start');
    expect(refused(() => checkOf({ probe: http({ path: 'health' }) }))).toBe('http.path');
    expect(refused(() => checkOf({ probe: http({ statuses: [[500, 200]] }) }))).toBe('http.statuses[0]');
    expect(refused(() => checkOf({ probe: http({ body: '(' }) }))).toBe('http.body_regex');
    expect(refused(() => checkOf({ probe: { kind: 'udp', udp: { payload: '' } } }))).toBe('udp.payload');
    expect(refused(() => checkOf({ probe: { kind: 'udp', udp: { payload: 'cGluZw==', expect: '[' } } }))).toBe(
      'udp.reply_regex',
    );
    expect(
      refused(() =>
        checkOf({ probe: { kind: 'exec', exec: { path: 'check.sh', args: [], weightFromOutput: false } } }),
      ),
    ).toBe('exec.path');
  });

  it('accepted, always has a timeout within the interval and a jitter within it, rise and fall 1..100', () => {
    const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          intervalMs: maybe(fc.integer({ min: -10, max: 4_000_000 })),
          timeoutMs: maybe(fc.integer({ min: -10, max: 4_000_000 })),
          jitterMs: maybe(fc.integer({ min: -10, max: 4_000_000 })),
          rise: maybe(fc.integer({ min: -1, max: 200 })),
          fall: maybe(fc.integer({ min: -1, max: 200 })),
          port: maybe(fc.integer({ min: -1, max: 70_000 })),
        }),
        (i) => {
          let c: ReturnType<typeof checkOf>;
          try {
            c = checkOf({ ...i, probe: tcp });
          } catch (e) {
            expect(e).toBeInstanceOf(CheckError);
            expect(['interval', 'timeout', 'jitter', 'rise', 'fall', 'port']).toContain((e as CheckError).field);
            return;
          }
          expect(c.intervalMs).toBeGreaterThanOrEqual(100);
          expect(c.timeoutMs).toBeLessThanOrEqual(c.intervalMs);
          expect(c.timeoutMs).toBeGreaterThanOrEqual(10);
          expect(c.jitterMs).toBeLessThanOrEqual(c.intervalMs);
          expect(c.jitterMs).toBeGreaterThanOrEqual(0);
          for (const n of [c.rise, c.fall]) expect(n >= 1 && n <= 100).toBe(true);
        },
      ),
    );
  });
});
