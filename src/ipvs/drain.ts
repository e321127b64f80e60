// Graceful removal: a destination an Apply drained (weight 0) is deleted
// once it carries no connections, or when its drain time is up, whichever
// comes first; a destination wanted again meanwhile (its weight no longer
// 0) is left alone. One Drainer per Handle checks its pending drains on a
// timer, listing only the services concerned. timedDrain is how an Apply
// gets its Handle's Drainer, with the rules of a drain's time limit.
import { formatHostPort } from '../inet/address.js';
import type { ApplyOptions } from './apply.js';
import type { Handle } from './handle.js';
import type { Destination } from './model.js';
import { KernelError } from '../netlink/error.js';
import { describeService, ValidationError, type NormalDestination, type NormalServiceId } from './validate.js';

interface Pending {
  service: NormalServiceId;
  destination: NormalDestination;
  deadline: number;
}

/** How often pending drains are checked. */
const CHECK_MS = 1000;

export class Drainer {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  /** `onDeleted` hears of each destination deleted (for logs). */
  constructor(
    private readonly h: Handle,
    private readonly onDeleted: OnDrained = () => undefined,
  ) {}

  /** Destinations waiting to be deleted. */
  get size(): number {
    return this.pending.size;
  }

  /** Deletes `destination` of `service` when idle, or after `timeoutMs` at the latest. */
  add(service: NormalServiceId, destination: NormalDestination, timeoutMs: number): void {
    this.pending.set(keyOf(service, destination), { service, destination, deadline: Date.now() + timeoutMs });
    this.timer ??= setInterval(() => void this.check(), CHECK_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  /** One round: deletes what is idle or overdue, forgets what is gone or wanted again. */
  async check(): Promise<void> {
    if (this.h.closed) this.stop();
    if (this.checking || !this.timer) return;
    this.checking = true;
    try {
      // The pending drains by service: one listing of each service's destinations.
      const byService = new Map<string, { service: NormalServiceId; drains: [string, Pending][] }>();
      for (const [key, p] of this.pending) {
        const name = describeService(p.service);
        let group = byService.get(name);
        if (!group) byService.set(name, (group = { service: p.service, drains: [] }));
        group.drains.push([key, p]);
      }
      const now = Date.now();
      for (const [name, { service, drains }] of byService) {
        let dests: Map<string, Destination>;
        try {
          dests = new Map((await this.h.getDestinations(service)).map((d) => [formatHostPort(d), d]));
        } catch (e) {
          // The service is gone, and its destinations with it.
          if (e instanceof KernelError && (e.errno === 'ESRCH' || e.errno === 'ENOENT')) dests = new Map();
          else throw e;
        }
        for (const [key, p] of drains) {
          const d = dests.get(formatHostPort(p.destination));
          if (d?.weight !== 0) {
            this.pending.delete(key);
            continue;
          }
          const idle = d.activeConnections + d.inactiveConnections === 0;
          if (!idle && now < p.deadline) continue;
          this.pending.delete(key);
          try {
            await this.h.delDestination(p.service, p.destination);
            this.onDeleted(`deleteDestination ${formatHostPort(p.destination)} of ${name}`, idle ? 'idle' : 'timeout');
          } catch (e) {
            if (!(e instanceof KernelError) || (e.errno !== 'ENOENT' && e.errno !== 'ESRCH')) throw e;
          }
        }
      }
    } catch {
      // The kernel failed this round (the handle may be closing): the next round tries again.
    } finally {
      this.checking = false;
      if (!this.pending.size) this.stop();
    }
  }
}

const keyOf = (s: NormalServiceId, d: NormalDestination) => `${describeService(s)} ${formatHostPort(d)}`;

/** Hears of each destination a Drainer deleted (for logs). */
export type OnDrained = (description: string, why: 'idle' | 'timeout') => void;

/** The longest a drained destination may keep its connections: 24 hours. */
export const MAX_DRAIN_MS = 24 * 3600 * 1000;

const drainers = new WeakMap<Handle, Drainer>();

/**
 * The one Drainer of `handle`, made on first use (with that caller's
 * `onDeleted`): a namespace reopened gets a new one, the old stops with its
 * closed handle.
 */
export function drainerOf(handle: Handle, onDeleted?: OnDrained): Drainer {
  let d = drainers.get(handle);
  if (!d) drainers.set(handle, (d = new Drainer(handle, onDeleted)));
  return d;
}

/**
 * The options of an Apply whose drained destinations are deleted when idle,
 * or after `timeoutMs` at the latest, by `handle`'s Drainer. A time limit
 * needs both drain and prune (nothing is drained otherwise), and is 0 to 24
 * hours: else a ValidationError of field "drainTimeoutMs" (subject "batch"),
 * its reason "needs drain and prune" or "must be 0 to 24 hours".
 */
export function timedDrain(
  handle: Handle,
  o: { drain?: boolean; prune?: boolean; timeoutMs: number },
  onDeleted?: OnDrained,
): Required<Pick<ApplyOptions, 'drainer' | 'drainTimeoutMs'>> {
  if (!o.drain || !o.prune) throw new ValidationError('apply', 'drainTimeoutMs', 'needs drain and prune', 'batch');
  if (!(o.timeoutMs >= 0 && o.timeoutMs <= MAX_DRAIN_MS))
    throw new ValidationError('apply', 'drainTimeoutMs', 'must be 0 to 24 hours', 'batch');
  return { drainer: drainerOf(handle, onDeleted), drainTimeoutMs: o.timeoutMs };
}
