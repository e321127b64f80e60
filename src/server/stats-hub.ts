// Shared stats polling: one poller per (namespace, interval), however many
// watchers it has. Each tick lists the namespace once, into the poller's
// Mirror (the same objects every tick), and hands the same snapshot to every
// watcher; the poller stops with its last watcher.
import { durationMs, type Duration } from '@bufbuild/protobuf/wkt';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Mirror, type Handle, type ServiceWithDestinations, type StateEvent } from '../ipvs/index.js';
import type { Namespaces } from './namespaces.js';
import { RpcError } from './status.js';

/**
 * One tick. Its objects are the poller's own, rewritten by the next tick:
 * listeners read them when told (in `next`, or an observer's call), not later.
 */
export interface StatsSnapshot {
  time: Date;
  services: readonly ServiceWithDestinations[];
  /** What changed since the poller's tick before (its first tick adds everything). */
  events: readonly StateEvent[];
}

export interface StatsListener {
  next(s: StatsSnapshot): void;
  /** The poller ended for good (namespace gone, kernel error); no more calls follow. */
  fail(e: unknown): void;
}

/** Intervals, in ms: the kernel's estimator period, the floor when asked for faster, the ceiling. */
export const Interval = { default: 2000, fastFloor: 100, max: 3_600_000 } as const;

/** The interval of a watch request (a protobuf Duration, possibly absent), clamped. */
export function intervalOf(d: Duration | undefined, allowFast: boolean): number {
  return clampInterval(d ? durationMs(d) : 0, allowFast);
}

/** The interval a watcher gets: at least the estimator period unless `allowFast`, at most an hour. */
export function clampInterval(requestedMs: number, allowFast: boolean): number {
  const ms = requestedMs > 0 ? requestedMs : Interval.default;
  return Math.min(Interval.max, Math.max(allowFast ? Interval.fastFloor : Interval.default, Math.round(ms)));
}

class Poller {
  readonly listeners = new Set<StatsListener>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private last: StatsSnapshot | undefined;
  private handle: Handle | undefined;
  private readonly mirror = new Mirror();

  constructor(
    private readonly hub: StatsHub,
    readonly key: string,
    private readonly ns: string,
    private readonly intervalMs: number,
  ) {}

  add(l: StatsListener): void {
    this.listeners.add(l);
    // During a listing the mirror is half rewritten: the listener waits for its end.
    if (this.last && !this.busy) l.next(this.last);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      void this.tick();
    }
  }

  remove(l: StatsListener): void {
    this.listeners.delete(l);
    if (!this.listeners.size) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.hub.forget(this);
  }

  fail(e: unknown): void {
    this.stop();
    const ls = [...this.listeners];
    this.listeners.clear();
    for (const l of ls) l.fail(e);
  }

  private async tick(): Promise<void> {
    // A listing slower than the interval skips ticks rather than piling them up.
    if (this.busy || !this.timer) return;
    this.busy = true;
    try {
      const h = this.hub.namespaces.handle(this.ns);
      this.handle ??= h;
      if (h !== this.handle)
        throw new RpcError(status.NOT_FOUND, `network namespace ${JSON.stringify(this.ns)} was deleted`, 'namespace');
      this.hub.dumps++;
      const events = await h.refresh(this.mirror);
      if (!this.timer) return;
      this.last = { time: new Date(), services: this.mirror.services, events };
      for (const o of this.hub.observers) o(this.ns, this.last);
      for (const l of this.listeners) l.next(this.last);
    } catch (e) {
      this.hub.log.warn({ namespace: this.ns, err: e }, 'stats polling ended');
      this.fail(e);
    } finally {
      this.busy = false;
    }
  }
}

export class StatsHub {
  /** Kernel listings made by all pollers: what sharing saves shows here. */
  dumps = 0;
  private readonly pollers = new Map<string, Poller>();
  /** Called with every poller's every listing, before its watchers get it. */
  readonly observers = new Set<(ns: string, s: StatsSnapshot) => void>();

  constructor(
    readonly namespaces: Namespaces,
    readonly log: Logger,
  ) {}

  /** Watches `ns` every `intervalMs`; returns the function that stops watching. */
  subscribe(ns: string, intervalMs: number, l: StatsListener): () => void {
    this.namespaces.resolve(ns);
    const key = `${ns}\0${intervalMs}`;
    let p = this.pollers.get(key);
    if (!p) this.pollers.set(key, (p = new Poller(this, key, ns, intervalMs)));
    p.add(l);
    const poller = p;
    return () => poller.remove(l);
  }

  /** Calls `f` with each listing any poller makes (namespace as its watchers named it); returns the function that stops it. */
  observe(f: (ns: string, s: StatsSnapshot) => void): () => void {
    this.observers.add(f);
    return () => this.observers.delete(f);
  }

  /** How many watchers there are, all namespaces together. */
  get watchers(): number {
    let n = 0;
    for (const p of this.pollers.values()) n += p.listeners.size;
    return n;
  }

  /** Ends every watch with `reason`. */
  close(reason: unknown): void {
    for (const p of [...this.pollers.values()]) p.fail(reason);
  }

  forget(p: Poller): void {
    if (this.pollers.get(p.key) === p) this.pollers.delete(p.key);
  }
}

/**
 * The ticks of `ns` as one consumer takes them, each as `take` made it when
 * told (a snapshot is read then, see StatsSnapshot): always the newest, with
 * `skipped` counting the ticks it missed while busy (backpressure keeps one
 * pending, never a queue). `take` learns whether the tick replaces one still
 * pending. Ends when `signal` aborts (throwing its reason) or the poller fails
 * (throwing why).
 */
export async function* follow<T>(
  hub: Pick<StatsHub, 'subscribe'>,
  ns: string,
  intervalMs: number,
  signal: AbortSignal,
  take: (s: StatsSnapshot, replacing: boolean) => T,
): AsyncGenerator<{ value: T; skipped: number }> {
  let latest: { value: T } | undefined;
  let skipped = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const unsubscribe = hub.subscribe(ns, intervalMs, {
    next: (s) => {
      if (latest) skipped++;
      latest = { value: take(s, latest !== undefined) };
      wake?.();
    },
    fail: (e) => {
      failure = e;
      wake?.();
    },
  });
  const aborted = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (failure) throw failure;
      if (!latest) {
        await Promise.race([
          new Promise<void>((r) => {
            wake = r;
          }),
          aborted,
        ]);
        wake = undefined;
        continue;
      }
      const out = { value: latest.value, skipped };
      latest = undefined;
      skipped = 0;
      yield out;
    }
  } finally {
    unsubscribe();
  }
}
