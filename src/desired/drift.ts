// Drift between reconciles: the shared pollers' listings of a namespace,
// fingerprinted within a desired state's scope, against the fingerprint the
// kernel had when it last matched the state. A difference means someone else
// changed owned rules, and a reconcile follows soon, but never sooner than
// the minimum interval after the last one (kube-proxy's minSyncPeriod), so
// that a fight with another writer cannot spin.
export class Drift {
  /** The owned rules' fingerprint when the kernel last matched; undefined until known. */
  private baseline: number | undefined;
  /** The first listing after a reconcile that failed as a whole gives the baseline. */
  private adoptNext = true;
  /** When drift was first seen, while no reconcile has put it back. */
  since: Date | undefined;
  /** Times a reconcile waited for the minimum interval. */
  deferred = 0;
  private lastEnd = 0;
  /** A reconcile is due (waiting for its time, or queued behind others) until the next one settles. */
  private pending = false;
  private timer: NodeJS.Timeout | undefined;

  /**
   * After a reconcile: `expected` is the owned rules' fingerprint the kernel has now (the reconcile's listing with
   * what it applied); undefined when it failed as a whole, and the next listing is taken as what the kernel holds.
   */
  settled(expected: number | undefined, inSync: boolean): void {
    this.lastEnd = Date.now();
    this.pending = false;
    this.baseline = expected;
    this.adoptNext = expected === undefined;
    if (inSync) this.since = undefined;
  }

  /** A poller's listing; true when it shows drift. */
  seen(fp: number): boolean {
    if (this.adoptNext) {
      this.baseline = fp;
      this.adoptNext = false;
      return false;
    }
    if (fp === this.baseline) return false;
    this.since ??= new Date();
    return true;
  }

  /** Runs `reconcile` once, at least `minIntervalMs` after the last reconcile ended; one is ever pending. */
  schedule(minIntervalMs: number, reconcile: () => void): void {
    if (this.pending) return;
    this.pending = true;
    const wait = Math.max(0, this.lastEnd + minIntervalMs - Date.now());
    if (wait > 0) this.deferred++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      reconcile();
    }, wait);
    this.timer.unref();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
