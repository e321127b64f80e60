// The calls made on one netlink socket, run in call order. Writes made
// together (in one tick) coalesce: their requests, already encoded in the
// queue's outbox, go to the kernel in as few sendmsg calls as fit, and each
// settles with its own outcome. Tasks (dumps, and anything that reads before
// it decides) run one at a time between them, so a read issued after a write
// sees it.
import type { Conn, Outcome } from './conn.js';
import { KernelError } from './error.js';
import { Outbox } from './outbox.js';

/**
 * Requests `first` to `last` of the queue's outbox, encoded by a caller that
 * takes their outcomes: `settle(k, o)` for request first + k. One call's, or
 * a whole batch's.
 */
export abstract class Writes {
  /** The first request not yet run. */
  next: number;

  constructor(
    readonly first: number,
    readonly last: number,
  ) {
    this.next = first;
  }

  abstract settle(k: number, o: Outcome): void;
}

interface Task {
  run(): Promise<void>;
  fail(e: KernelError): void;
}

/** Longest stretch of synchronous kernel I/O before the event loop gets a turn. */
const SLICE_MS = 8;
/**
 * Requests per sendmsg at most. The kernel runs them inside the call, and
 * each refusal costs it an error to build and us one to name: a step of a
 * big batch then stays under 50 ms of event loop even in user-mode Linux,
 * which a full 64 KiB of refusals does not. Syscalls are not what a batch
 * spends its time on (11,000 writes take 43 sendmsg instead of 24).
 */
const STEP = 256;

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

export class CallQueue {
  /** Where writes are encoded before `push`: requests in the order of their calls. */
  readonly box: Outbox;
  /**
   * Calls waiting, from `head` on: a queue of a million single calls drops its head in O(1), not by Array.shift (O(n)
   * once the array is large).
   */
  private readonly queue: (Writes | Task | undefined)[] = [];
  private head = 0;
  private pumping = false;
  private closed = false;
  /** The outcomes of the sendmsg being handed out. */
  private step: { first: number; stop: number; next: number; outcomes: Outcome[] } | undefined;

  constructor(private readonly conn: Conn) {
    this.box = new Outbox(conn.sendBytes);
  }

  /** Queues writes already encoded in `box` (in box order: writes are pushed as they are encoded). */
  push(w: Writes): void {
    if (this.closed) this.failWrites(w);
    else this.enqueue(w);
  }

  /** Runs `run` once every call queued before it has run; its result, or its error. */
  task<T>(run: () => T | Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const t: Task = {
        run: async () => {
          try {
            resolve(await run());
          } catch (e) {
            reject(e);
          }
        },
        fail: reject,
      };
      if (this.closed) t.fail(closedError());
      else this.enqueue(t);
    });
  }

  /** Fails every call still queued, and any made later, with EBADF. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // What the kernel already answered is told as it was, not as EBADF.
    if (this.step) this.settleStep();
    const left = this.queue.splice(this.head);
    this.queue.length = 0;
    this.head = 0;
    for (const op of left) {
      if (op instanceof Writes) this.failWrites(op);
      else op?.fail(closedError());
    }
  }

  private failWrites(w: Writes): void {
    const o: Outcome = { ok: false, error: closedError() };
    for (; w.next < w.last; w.next++) w.settle(w.next - w.first, o);
  }

  private enqueue(op: Writes | Task): void {
    this.queue.push(op);
    if (!this.pumping) {
      this.pumping = true;
      // A microtask later: every call made in this tick joins the batch.
      queueMicrotask(() => void this.pump());
    }
  }

  private async pump(): Promise<void> {
    let slice = performance.now();
    while (this.head < this.queue.length && !this.closed) {
      const head = this.queue[this.head]!;
      if (head instanceof Writes) {
        this.runWrites(head.next);
      } else {
        this.dropHead();
        await head.run();
      }
      if (performance.now() - slice > SLICE_MS) {
        await yieldToEventLoop();
        slice = performance.now();
      }
    }
    this.pumping = false;
  }

  /**
   * Runs the writes at the head of the queue from request `first`: at most
   * STEP of them and one page of the outbox, so one sendmsg, after which the
   * event loop may get a turn. Each gets its outcome before anything else
   * happens (a close cannot come between the kernel's answer and the caller).
   */
  private runWrites(first: number): void {
    const box = this.box;
    const page = box.page(first);
    const most = first + STEP;
    let stop = first;
    scan: for (let q = this.head; q < this.queue.length; q++) {
      const op = this.queue[q];
      if (!(op instanceof Writes)) break;
      for (; stop < op.last; stop++) if (stop === most || box.page(stop) !== page) break scan;
    }
    let outcomes: Outcome[];
    try {
      outcomes = quietly(() => this.conn.execute(box, first, stop));
    } catch (e) {
      const o: Outcome = {
        ok: false,
        error: e instanceof KernelError ? e : KernelError.of('netlink', 'EIO', String(e)),
      };
      outcomes = new Array(stop - first).fill(o);
    }
    this.step = { first, stop, next: first, outcomes };
    try {
      quietly(() => this.settleStep());
    } finally {
      this.step = undefined;
      box.consume(stop);
    }
  }

  /**
   * Hands the step's outcomes to their writes. Every bit of state moves
   * before each `settle`, which may run a caller's code (a progress
   * callback that closes the handle: close then finishes the step itself).
   */
  private settleStep(): void {
    const x = this.step!;
    while (x.next < x.stop && this.head < this.queue.length) {
      const w = this.queue[this.head] as Writes;
      const i = x.next++;
      w.next = x.next;
      if (w.next === w.last) this.dropHead();
      w.settle(i - w.first, x.outcomes[i - x.first]!);
    }
  }

  /** Done with the call at the head; the array is compacted once at least half of it is done. */
  private dropHead(): void {
    // The slot is cleared so that what the call holds can be collected before the compaction.
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * Runs `f` without stack traces for the errors it makes: they tell of
 * kernel replies, a trace (of the pump) would say nothing, and a batch of
 * a thousand refusals would spend most of its time capturing them.
 */
function quietly<T>(f: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function closedError(): KernelError {
  return KernelError.of('netlink', 'EBADF', 'the handle is closed');
}
