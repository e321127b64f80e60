// One checked destination's health: its state, the last probe, and the runs
// of successes and failures that move it (rise and fall). A destination not
// yet decided since the server started (unknown) keeps the weight the kernel
// has: one success makes it up, `fall` failures down, so that a restart
// never flaps a healthy pool.
import type { Check } from './check.js';
import { wallNow } from './coarse-clock.js';
import type { ProbeResult } from './probe.js';

export type HealthState = 'unknown' | 'up' | 'down';

/** Steps of a slow start. */
export const RAMP_STEPS = 10;

export interface LastProbe extends ProbeResult {
  time: Date;
}

export class Target {
  last: LastProbe | undefined;
  successes = 0;
  failures = 0;
  /** The weight an exec check printed while up (keepalived's misc_dynamic). */
  printedWeight: number | undefined;
  /** When it came back up from down, while its slow start runs. */
  rampFrom: number | undefined;

  since: Date;

  /** `now`: wall-clock ms. */
  constructor(
    public check: Check,
    public state: HealthState,
    now = wallNow(),
  ) {
    this.since = new Date(now);
  }

  /** Counts a probe; returns what changed: the state, the printed weight, or nothing. */
  record(r: ProbeResult, now = wallNow()): 'state' | 'weight' | undefined {
    this.last = { ...r, time: new Date(now) };
    if (r.ok) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
    }
    const before = this.state;
    if (r.ok && (this.state === 'unknown' || (this.state === 'down' && this.successes >= this.check.rise)))
      this.state = 'up';
    else if (!r.ok && this.state !== 'down' && this.failures >= this.check.fall) this.state = 'down';
    const weight = this.state === 'up' && r.ok ? r.weight : this.printedWeight;
    const weightMoved = weight !== this.printedWeight;
    this.printedWeight = this.state === 'up' ? weight : undefined;
    if (this.state !== before) {
      this.since = this.last.time;
      this.rampFrom = before === 'down' && this.check.slowStartMs ? now : undefined;
      return 'state';
    }
    return weightMoved ? 'weight' : undefined;
  }
}

/**
 * The weight health gives a destination declared at `declared`: 0 down; up, the printed or declared one, or during
 * its slow start a step of it (at least 1); undecided, the declared one.
 */
export function healthWeight(t: Target, declared: number, now = wallNow()): number {
  if (t.state === 'down') return 0;
  const full = t.printedWeight ?? declared;
  if (t.rampFrom === undefined || t.state !== 'up') return full;
  const step = Math.floor(((now - t.rampFrom) / t.check.slowStartMs) * RAMP_STEPS) + 1;
  if (step >= RAMP_STEPS) {
    t.rampFrom = undefined;
    return full;
  }
  return Math.max(1, Math.ceil((full * step) / RAMP_STEPS));
}
