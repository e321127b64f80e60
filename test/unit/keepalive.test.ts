// The keepalive policy's parts that need no socket: A8's ping strikes on a
// fake clock, and the flags that set it.
import { describe, expect, it } from 'vitest';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';
import { PingStrikes, WITHOUT_CALLS_MS } from '../../src/server/keepalive.js';

const cfg = (argv: string[] = [], env = {}) => parseConfig(argv, env) as ServerConfig;

describe('ping strikes (gRPC A8 server enforcement)', () => {
  const at = (policy: Partial<ServerConfig> = {}) => {
    let t = 0;
    const p = new PingStrikes({ ...cfg(), ...policy }, () => t);
    return {
      p,
      advance: (ms: number) => (t += ms),
      /** A ping `ms` after the one before, with `calls` open. */
      pingIn: (ms: number, calls: number) => {
        t += ms;
        return p.ping(calls);
      },
    };
  };

  it('permits one ping per 30 s with a call open, and a third strike ends it', () => {
    const { p, advance } = at();
    expect(p.ping(1)).toBe(true);
    advance(30_000);
    expect(p.ping(1)).toBe(true);
    advance(29_999);
    expect([p.ping(1), p.ping(1)]).toEqual([true, true]); // strikes 1 and 2
    expect(p.ping(1)).toBe(false);
  });

  it('counts from the last good ping, not from a strike', () => {
    const { p, advance } = at();
    p.ping(1);
    advance(20_000);
    expect(p.ping(1)).toBe(true); // strike 1
    advance(10_000);
    expect(p.ping(1)).toBe(true); // 30 s after the good one: good
    expect(p.strikes).toBe(1);
  });

  it('with no call open permits one per 2 h, unless pings without calls are permitted', () => {
    const { p, pingIn } = at();
    p.ping(0);
    for (let i = 0; i < 2; i++) expect(pingIn(60_000, 0)).toBe(true);
    expect(pingIn(60_000, 0)).toBe(false);
    const without = at({ keepalivePermitWithoutCalls: true });
    for (let i = 0; i < 10; i++) expect(without.pingIn(30_000, 0)).toBe(true);
    const later = at();
    later.p.ping(0);
    expect(later.pingIn(WITHOUT_CALLS_MS, 0)).toBe(true);
    expect(later.p.strikes).toBe(0);
  });

  it('forgets strikes once the server sends HEADERS or DATA (pings that measure bandwidth)', () => {
    const { p } = at();
    for (let i = 0; i < 100; i++) {
      p.sent();
      expect(p.ping(1)).toBe(true);
    }
    expect(p.strikes).toBe(0);
  });

  it('--keepalive-max-ping-strikes 0 ends it at the first strike', () => {
    const { p } = at({ keepaliveMaxPingStrikes: 0 });
    expect(p.ping(1)).toBe(true);
    expect(p.ping(1)).toBe(false);
  });
});

describe('keepalive flags', () => {
  it('default to a 5 min server ping with a 20 s timeout, a 30 s permit, none without calls, 2 strikes', () => {
    expect(cfg()).toMatchObject({
      keepaliveTimeMs: 300_000,
      keepaliveTimeoutMs: 20_000,
      keepalivePermitMs: 30_000,
      keepalivePermitWithoutCalls: false,
      keepaliveMaxPingStrikes: 2,
    });
  });

  it('take the environment, and flags over it', () => {
    const env = {
      IPVSD_KEEPALIVE_TIME_MS: '7200000',
      IPVSD_KEEPALIVE_TIMEOUT_MS: '10000',
      IPVSD_KEEPALIVE_PERMIT_MS: '10000',
      IPVSD_KEEPALIVE_PERMIT_WITHOUT_CALLS: '1',
      IPVSD_KEEPALIVE_MAX_PING_STRIKES: '0',
    };
    expect(cfg([], env)).toMatchObject({
      keepaliveTimeMs: 7_200_000,
      keepaliveTimeoutMs: 10_000,
      keepalivePermitMs: 10_000,
      keepalivePermitWithoutCalls: true,
      keepaliveMaxPingStrikes: 0,
    });
    expect(cfg(['--keepalive-permit-ms', '60000', '--keepalive-time-ms=1000'], env)).toMatchObject({
      keepalivePermitMs: 60_000,
      keepaliveTimeMs: 1000,
    });
  });

  it('refuse values out of range', () => {
    expect(() => cfg(['--keepalive-time-ms', '999'])).toThrow(/--keepalive-time-ms: 999 is not an integer in 1000\.\./);
    expect(() => cfg(['--keepalive-time-ms', '86400001'])).toThrow(/1000\.\.86400000/);
    expect(() => cfg(['--keepalive-timeout-ms', '0'])).toThrow(/keepalive-timeout-ms/);
    expect(() => cfg(['--keepalive-permit-ms', '1.5'])).toThrow(/keepalive-permit-ms/);
    expect(() => cfg(['--keepalive-max-ping-strikes=-1'])).toThrow(/0\.\.100/);
    expect(() => cfg([], { IPVSD_KEEPALIVE_PERMIT_MS: 'soon' })).toThrow(/soon/);
  });
});
