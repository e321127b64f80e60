// A desired state's status: what its last reconcile did, kept in memory (a
// start reconciles every desired state again, so nothing of it needs storing).
import type { ApplyResult, BatchItemResult, Change } from '../ipvs/index.js';

/** The most refused changes a status lists (failed counts them all). */
export const MAX_FAILURES = 100;

export interface Failure {
  change: Change;
  result: BatchItemResult;
}

export interface ReconcileStatus {
  /** When it ended. */
  time: Date;
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

export function statusOf(generation: number, r: ApplyResult): ReconcileStatus {
  const failures: Failure[] = [];
  let failed = 0;
  r.results.forEach((result, i) => {
    if (result.ok) return;
    failed++;
    if (failures.length < MAX_FAILURES) failures.push({ change: r.changes[i]!, result });
  });
  const applied = r.results.length - failed;
  return { time: new Date(), generation, inSync: failed === 0, applied, failed, failures };
}

export const failedStatus = (generation: number, error: unknown): ReconcileStatus => ({
  time: new Date(),
  generation,
  inSync: false,
  applied: 0,
  failed: 0,
  failures: [],
  error,
});
