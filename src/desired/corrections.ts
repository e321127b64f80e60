// What a desired state tells its listeners (Feed): a correction, a
// reconcile that changed the kernel without a Put asking (at start, at the
// period, after drift); and a health transition of a checked destination.
import type { Checked } from '../health/monitor.js';
import type { HealthState } from '../health/target.js';
import type { ApplyResult, SysctlChange } from '../ipvs/index.js';
import type { Trigger } from './status.js';

interface Told {
  /** The desired state's name. */
  name: string;
  /** As the desired state names it. */
  namespace: string;
  /** When it happened. */
  time: Date;
}

export interface Correction extends Told {
  generation: number;
  trigger: Exclude<Trigger, 'put' | 'health'>;
  result: ApplyResult;
  /** The sysctls put back. */
  sysctls: SysctlChange[];
}

export interface HealthTransition extends Told {
  checked: Checked;
  previous: HealthState;
}

/** A probe of a checked destination ended. */
export interface ProbeDone {
  name: string;
  ok: boolean;
  latencyMs: number;
}
