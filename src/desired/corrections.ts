// Corrections: reconciles that changed the kernel without a Put asking
// (at start, at the period, after drift), told to whoever listens (the
// server's WatchEvents streams) as they end.
import type { ApplyResult } from '../ipvs/index.js';
import type { Trigger } from './status.js';

export interface Correction {
  name: string;
  /** As the desired state names it. */
  namespace: string;
  generation: number;
  trigger: Exclude<Trigger, 'put'>;
  /** When the reconcile ended. */
  time: Date;
  result: ApplyResult;
}

export class Corrections {
  private readonly listeners = new Set<(c: Correction) => void>();

  /** Calls `f` with every correction from now on; returns the function that stops it. */
  on(f: (c: Correction) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  emit(c: Correction): void {
    for (const f of this.listeners) f(c);
  }
}
