// Graceful removal: a destination an Apply drained (weight 0) is deleted
// once it carries no connections, or when its drain time is up, whichever
// comes first; a destination wanted again meanwhile (its weight no longer
// 0) is left alone. One Drainer per Handle checks its pending drains on a
// timer, listing only the services concerned.
import { formatHostPort } from '../inet/address.js';
import type { Handle } from './handle.js';
import { KernelError } from '../netlink/error.js';
import { describeService, type NormalDestination, type NormalServiceId } from './validate.js';

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
  constructor(private readonly h: Handle, private readonly onDeleted: (description: string, why: 'idle' | 'timeout') => void = () => undefined) {}

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
        let dests;
        try {
          dests = new Map((await this.h.getDestinations(service)).map((d) => [formatHostPort(d), d]));
        } catch (e) {
          // The service is gone, and its destinations with it.
          if (e instanceof KernelError && (e.errno === 'ESRCH' || e.errno === 'ENOENT')) dests = new Map();
          else throw e;
        }
        for (const [key, p] of drains) {
          const d = dests.get(formatHostPort(p.destination));
          if (!d || d.weight !== 0) {
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
