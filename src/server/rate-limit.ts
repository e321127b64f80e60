// --write-rate-limit: a token bucket per principal. Each holds at most
// `burst` tokens, refilled at `perSecond`; a write takes one, and a write
// that finds none is refused with the time until one comes. Reads take none.
// A bucket full again is the same as none, so the table keeps only the
// principals that wrote lately; past MAX_KEYS the full ones go, then the
// oldest (a principal dropped that way starts afresh: many principals are
// many certificates, users or hosts, not one client's doing).

/** Principals tracked at once. */
const MAX_KEYS = 10_000;

interface Bucket {
  tokens: number;
  /** When `tokens` was counted, ms. */
  at: number;
}

export class WriteLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One write by `key`: 0 if allowed (a token taken), else the ms until a token will be there. */
  take(key: string): number {
    const t = this.now();
    const b = this.buckets.get(key);
    const tokens = b ? Math.min(this.burst, b.tokens + ((t - b.at) * this.perSecond) / 1000) : this.burst;
    if (tokens < 1) {
      if (b) Object.assign(b, { tokens, at: t });
      return Math.ceil(((1 - tokens) * 1000) / this.perSecond);
    }
    // Deleted and set again: the Map's order is then the order of last writes.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: tokens - 1, at: t });
    if (this.buckets.size > MAX_KEYS) this.prune(t);
    return 0;
  }

  private prune(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) * this.perSecond) / 1000 >= this.burst) this.buckets.delete(k);
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= MAX_KEYS) break;
      this.buckets.delete(k);
    }
  }
}
