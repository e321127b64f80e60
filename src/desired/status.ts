// A desired state's status: what its last reconcile did, kept in memory (a
// start reconciles every desired state again, so nothing of it needs storing).
import type { ApplyResult, BatchItemResult, Change } from '../ipvs/index.js';

/** The most refused changes a status lists (failed counts them all). */
export const MAX_FAILURES = 100;

export interface Failure {
  change: Change;
  result: BatchItemResult;
}

/** What started a reconcile. */
export type Trigger = 'put' | 'start' | 'period' | 'drift' | 'health';

export interface ReconcileStatus {
  /** When it ended. */
  time: Date;
  trigger: Trigger;
  /** The generation it applied. */
  generation: number;
  /** Every change applied, nothing failed as a whole. */
  inSync: boolean;
  applied: number;
  failed: number;
  /** The first MAX_FAILURES refused changes. */
  failures: Failure[];
  /** Why it failed as a whole (nothing was changed); the server tells it as a status. */
  error?: unknown;
}

export function statusOf(generation: number, trigger: Trigger, r: ApplyResult): ReconcileStatus {
  const failures: Failure[] = [];
  let failed = 0;
  r.results.forEach((result, i) => {
    if (result.ok) return;
    failed++;
    if (failures.length < MAX_FAILURES) failures.push({ change: r.changes[i]!, result });
  });
  const applied = r.results.length - failed;
  return { time: new Date(), trigger, generation, inSync: failed === 0, applied, failed, failures };
}

export const failedStatus = (generation: number, trigger: Trigger, error: unknown): ReconcileStatus => ({
  time: new Date(),
  trigger,
  generation,
  inSync: false,
  applied: 0,
  failed: 0,
  failures: [],
  error,
});

/** A desired state's reconciles since the server started, for the metrics. */
export interface ReconcileCounts {
  reconciles: Record<Trigger, number>;
  /** Reconciles that changed the kernel without a Put: drift put back. */
  corrections: Record<Trigger, number>;
  /** Changes those corrections applied. */
  corrected: number;
}

export const noCounts = (): ReconcileCounts => ({
  reconciles: { put: 0, start: 0, period: 0, drift: 0, health: 0 },
  corrections: { put: 0, start: 0, period: 0, drift: 0, health: 0 },
  corrected: 0,
});
