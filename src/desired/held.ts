// What the registry holds of each desired state, what it depends on, and
// what a Put takes and gives.
import type { HealthMonitor, Prober } from '../health/monitor.js';
import type { ApplyResult, Handle, SysctlChange } from '../ipvs/index.js';
import type { Drift } from './drift.js';
import type { DesiredSpec, Log } from './spec.js';
import type { ReconcileCounts, ReconcileStatus } from './status.js';

export interface HeldState {
  name: string;
  /** 1 when created, one more at every Put. */
  generation: number;
  spec: DesiredSpec;
  /** The spec as the store keeps it (the server's encoding). */
  data: unknown;
  /** The last reconcile since the server started. */
  status?: ReconcileStatus;
  /** Drift seen, and the reconcile it asks for: kept across Puts. */
  drift: Drift;
  /** Kept across Puts. */
  counts: ReconcileCounts;
  /** The health of its checked destinations, when it has checks: kept across Puts. */
  health?: HealthMonitor;
}

/** Whether the kernel is as `h` says: its last reconcile applied all of its generation, and no drift seen since. */
export const inSync = (h: HeldState): boolean =>
  !!h.status?.inSync && h.status.generation === h.generation && !h.drift.since;

export interface RegistryDeps {
  /** The Handle of a namespace; throws if it is not allowed (nothing is then stored). */
  handle(namespace: string): Handle;
  /** What a namespace names, so that a name and its path compare equal; default: as written. */
  namespaceKey?(namespace: string): string;
  /** The spec of the store's data: throws (a ValidationError) when it is not a valid one. */
  decode(data: unknown): DesiredSpec;
  log: Log;
  /** The least time between two reconciles of a desired state when drift asks: MIN_RECONCILE_INTERVAL_MS by default. */
  minReconcileIntervalMs?: number;
  /** Where a namespace's health checks probe from; without it, a spec with checks cannot be held. */
  prober?(namespace: string): Prober;
}

export interface PutInput {
  name: string;
  spec: DesiredSpec;
  /** The spec as the store is to keep it. */
  data: unknown;
  /** 0: no check; -1: only if it does not exist; else the generation it must have. */
  expectedGeneration: number;
  /** Check and plan; store and change nothing. */
  validateOnly?: boolean;
}

export interface PutOutcome {
  /** As stored (or as it would be, with validateOnly). */
  state: HeldState;
  /** The reconcile (a plan, with validateOnly); undefined when it failed as a whole (see state.status). */
  result?: ApplyResult;
  /** Its sysctls as the reconcile found and left them (with validateOnly: what would change). */
  sysctls?: SysctlChange[];
}
