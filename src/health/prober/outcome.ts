// What every kind of probe shares: the clock (read once a callback), the result, and failures told
// in the same few words ("connect ECONNREFUSED", "timeout after 2 s").
import { constants } from 'node:os';
import { monoNow } from '../coarse-clock.js';
import type { ProbeRequest, ProbeResult } from '../probe.js';

/** Ends a probe: `finish(ok, reason)` makes its result once, with the latency since it began. */
export function started(id: number): (ok: boolean, reason: string, weight?: number) => ProbeResult {
  const t0 = monoNow();
  return (ok, reason, weight) => {
    const r: ProbeResult = { id, ok, latencyMs: Math.round((monoNow() - t0) * 1000) / 1000, reason };
    if (weight !== undefined) r.weight = weight;
    return r;
  };
}

/** "timeout after 2 s", "timeout after 250 ms". */
export function timeoutReason(ms: number): string {
  return ms < 1000 ? `timeout after ${ms} ms` : `timeout after ${Math.round(ms) / 1000} s`;
}

const errnoNames = new Set(Object.keys(constants.errno));

/**
 * A Node error in a few words: "connect ECONNREFUSED" for a system call's
 * errno, "TLS CERT_HAS_EXPIRED" for a certificate or handshake failure (on a
 * TLS probe), else the error's own message ("socket hang up").
 */
export function errorReason(err: unknown, tls = false): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && errnoNames.has(code)) return e?.syscall ? `${e.syscall} ${code}` : (e?.message ?? code);
  if (tls && code && !code.startsWith('ERR_INVALID')) return `TLS ${code}`;
  return e?.message || code || String(err);
}

/** The host part of a URL or an authority: IPv6 in brackets. */
export const hostPart = (r: ProbeRequest): string => (r.address.includes(':') ? `[${r.address}]` : r.address);
