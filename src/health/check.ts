// A health check as the core holds it: every default settled and every
// bound checked, so that a bad spec is refused with the field at fault
// before anything is stored or probed.
import { familyOf } from '../inet/address.js';
import type { ProbeRequest } from './probe.js';

/** What a probe does, as the prober takes it, less what each probe fills in. */
export type ProbeTemplate = Omit<ProbeRequest, 'id' | 'address' | 'port' | 'timeoutMs'>;

export interface Check {
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  /** A destination first desired with this check starts down (keepalived's alpha). */
  startDown: boolean;
  jitterMs: number;
  /** Probed instead of the destination's address and port, when set. */
  address?: string;
  port?: number;
  /** A destination back up gets its weight back over this long (0: at once). */
  slowStartMs: number;
  probe: ProbeTemplate;
}

/** A check as a request gives it: anything left out takes its default. */
export type CheckInput = Partial<Omit<Check, 'probe'>> & { probe?: ProbeTemplate };

/** A refused field of a check, named as the API names it under the check ("timeout", "http.body_regex"). */
export class CheckError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const HOUR_MS = 3_600_000;

function within(field: string, v: number | undefined, min: number, max: number, fallback: number, unit = ''): number {
  if (v === undefined || v === 0) return fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new CheckError(field, `${v}${unit} is not ${min}..${max}${unit}`);
  return v;
}

function regex(field: string, source: string | undefined): void {
  if (!source) return;
  try {
    new RegExp(source);
  } catch (e) {
    throw new CheckError(field, `${JSON.stringify(source)} is not a regular expression (${(e as Error).message})`);
  }
}

function probeOf(p: ProbeTemplate | undefined): ProbeTemplate {
  if (!p) throw new CheckError('kind', 'is required: one of tcp, http, grpc, udp, exec');
  switch (p.kind) {
    case 'tcp':
    case 'grpc':
      return p;
    case 'http': {
      const h = p.http!;
      if (!h.path.startsWith('/')) throw new CheckError('http.path', `${JSON.stringify(h.path)} does not start with /`);
      h.statuses.forEach(([lo, hi], i) => {
        if (!(lo >= 100 && hi <= 599 && lo <= hi))
          throw new CheckError(`http.statuses[${i}]`, `${lo}..${hi} is not a range within 100..599`);
      });
      regex('http.body_regex', h.body);
      return p;
    }
    case 'udp': {
      const bytes = Buffer.from(p.udp!.payload, 'base64').length;
      if (bytes < 1 || bytes > 1024) throw new CheckError('udp.payload', `${bytes} bytes is not 1..1024`);
      regex('udp.reply_regex', p.udp!.expect);
      return p;
    }
    case 'exec':
      if (!p.exec!.path.startsWith('/'))
        throw new CheckError('exec.path', `${JSON.stringify(p.exec!.path)} is not an absolute path`);
      return p;
  }
}

/** The check with its defaults; CheckError for a field out of bounds or inconsistent with another. */
export function checkOf(i: CheckInput): Check {
  const intervalMs = within('interval', i.intervalMs, 100, HOUR_MS, 5000, ' ms');
  const timeoutMs = within('timeout', i.timeoutMs, 10, HOUR_MS, Math.min(2000, intervalMs), ' ms');
  if (timeoutMs > intervalMs)
    throw new CheckError('timeout', `${timeoutMs} ms is longer than the interval (${intervalMs} ms)`);
  const jitterMs = i.jitterMs === undefined ? Math.floor(intervalMs / 10) : i.jitterMs;
  if (!Number.isInteger(jitterMs) || jitterMs < 0 || jitterMs > intervalMs)
    throw new CheckError('jitter', `${jitterMs} ms is not 0 up to the interval (${intervalMs} ms)`);
  if (i.address && !familyOf(i.address))
    throw new CheckError('address', `${JSON.stringify(i.address)} is not an IP address`);
  const port = within('port', i.port, 1, 65535, 0);
  const slowStartMs = within('slow_start', i.slowStartMs, 0, HOUR_MS, 0, ' ms');
  return {
    intervalMs,
    timeoutMs,
    rise: within('rise', i.rise, 1, 100, 2),
    fall: within('fall', i.fall, 1, 100, 3),
    startDown: !!i.startDown,
    jitterMs,
    address: i.address || undefined,
    port: port || undefined,
    slowStartMs,
    probe: probeOf(i.probe),
  };
}
