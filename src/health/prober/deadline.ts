// Probe timeouts, one timer per timeout length instead of one per probe:
// arming a Node timer reads the clock, a system call in user-mode Linux.
// Probes of one length end in the order they start, so each length is a
// queue whose head alone is timed; a probe that finishes first is only
// marked, and dropped when it reaches the head.
import { monoNow } from '../coarse-clock.js';

interface Entry {
  at: number;
  fn: (() => void) | undefined;
}

class Queue {
  private entries: Entry[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  add(fn: () => void): Entry {
    const e: Entry = { at: monoNow() + this.ms, fn };
    this.entries.push(e);
    if (!this.timer) this.arm();
    return e;
  }

  private arm(): void {
    while (this.head < this.entries.length && !this.entries[this.head]!.fn) this.head++;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    const next = this.entries[this.head];
    if (!next) {
      this.entries = [];
      this.head = 0;
      this.timer = undefined;
      return;
    }
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.at - monoNow()));
  }

  private fire(): void {
    const now = monoNow();
    while (this.head < this.entries.length && this.entries[this.head]!.at <= now) {
      const e = this.entries[this.head++]!;
      const fn = e.fn;
      e.fn = undefined;
      fn?.();
    }
    this.arm();
  }
}

const queues = new Map<number, Queue>();

/** Runs `fn` when `ms` pass; the returned function cancels it. */
export function deadline(ms: number, fn: () => void): () => void {
  let q = queues.get(ms);
  if (!q) queues.set(ms, (q = new Queue(ms)));
  const e = q.add(fn);
  return () => {
    e.fn = undefined;
  };
}
