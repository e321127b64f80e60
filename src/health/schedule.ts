// When each checked destination is probed next: one timer for all of them,
// not one each. Arming a Node timer reads the clock (a system call in
// user-mode Linux), so entries due within GRAIN_MS of the earliest start
// together, in one callback, a little early rather than each on its own timer.
import { monoNow } from './coarse-clock.js';

/** How early an entry may start to share a callback with the earliest. */
export const GRAIN_MS = 10;

interface Slot<T> {
  at: number;
  item: T;
}

/** A min-heap of items by due time (monotonic ms). */
export class Schedule<T> {
  private heap: Slot<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private firing = false;

  /** `run(item, at)` gets each when due, with the time it was added for. */
  constructor(
    private readonly run: (item: T, at: number) => void,
    private readonly now: () => number = monoNow,
  ) {}

  /** Runs `item` at monotonic time `at`. An item may be in several times; the caller skips stale ones. */
  add(item: T, at: number): void {
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
    if (!this.firing && at < this.armedAt) this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    this.heap = [];
  }

  private pop(): Slot<T> {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const next = this.heap[0];
    if (!next) {
      this.timer = undefined;
      this.armedAt = Infinity;
      return;
    }
    this.armedAt = next.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.at - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const until = this.now() + GRAIN_MS;
    this.firing = true;
    try {
      while (this.heap.length && this.heap[0]!.at <= until) {
        const { item, at } = this.pop();
        this.run(item, at);
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  }
}
