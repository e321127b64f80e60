// The health of one desired state's checked destinations: each probed on its
// own schedule (interval, with a fixed random offset within the jitter, so
// that many checks spread out), its results counted by its Target, and the
// weights that health asks for laid over the declared services for the
// reconcile (effective). A change of state or of a printed weight is told
// once per short window, so that many failing together make one reconcile.
import {
  describeService,
  formatHostPort,
  normalDestination,
  normalServiceId,
  type DesiredService,
  type ServiceWithDestinations,
} from '../ipvs/index.js';
import type { ProbeRequest, ProbeResult } from './probe.js';
import { coarseClock, type Clock } from './coarse-clock.js';
import { Quorum } from './quorum.js';
import { Schedule } from './schedule.js';
import { healthWeight, RAMP_STEPS, Target, type HealthState } from './target.js';
import { targetsOf, type CheckedTarget, type ServiceHealthSpec } from './targets.js';

export interface Prober {
  probe(r: Omit<ProbeRequest, 'id'>): Promise<ProbeResult>;
}

/** One checked destination, as the monitor runs it. */
export interface Checked extends Omit<CheckedTarget, 'check'> {
  target: Target;
}

export interface Transition {
  checked: Checked;
  previous: HealthState;
}

/** How long changes gather before one onChange. */
const SETTLE_MS = 20;

interface Running extends Checked {
  /** When its next probe is due (monotonic ms): a slot of the schedule for another time is stale. */
  next: number;
  inFlight: boolean;
}

export class HealthMonitor {
  private entries = new Map<string, Running>();
  private quorums = new Map<string, { quorum: Quorum; unchecked: number }>();
  private settle: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly due: Schedule<Running>;

  constructor(
    private readonly prober: Prober,
    private readonly on: { change(): void; transition(t: Transition): void; probed?(c: Checked, r: ProbeResult): void },
    private readonly clock: Clock = coarseClock,
  ) {
    this.due = new Schedule((e, at) => this.tick(e, at), clock.mono);
  }

  /**
   * Checks what `health` says of `services`. A destination checked before keeps its state and counts; a new one
   * starts unknown (`fresh` 'unknown': after a restart) or as its check says (up, or down with start_down).
   * Throws CheckError (its field under health[i]) for a check of something not desired.
   */
  update(
    services: readonly DesiredService[],
    health: readonly ServiceHealthSpec[],
    fresh: 'unknown' | 'declared',
  ): void {
    const next = new Map<string, Running>();
    const { targets, quorums } = targetsOf(services, health);
    const kept = this.quorums;
    this.quorums = new Map(
      quorums.map((q) => {
        const old = kept.get(q.service);
        const same = old && JSON.stringify(old.quorum.spec) === JSON.stringify(q.spec);
        return [q.service, { quorum: same ? old.quorum : new Quorum(q.spec), unchecked: q.unchecked }];
      }),
    );
    for (const t of targets) {
      const key = `${t.service} ${t.destination}`;
      const old = this.entries.get(key);
      if (old) {
        this.entries.delete(key);
        const rescheduled = old.target.check.intervalMs !== t.check.intervalMs;
        old.target.check = t.check;
        Object.assign(old, { address: t.address, port: t.port, onDown: t.onDown, real: t.real });
        if (rescheduled) this.schedule(old, t.check.jitterMs);
        next.set(key, old);
        continue;
      }
      const state: HealthState = fresh === 'unknown' ? 'unknown' : t.check.startDown ? 'down' : 'up';
      const entry: Running = { ...t, target: new Target(t.check, state, this.clock.wall()), next: 0, inFlight: false };
      next.set(key, entry);
      this.schedule(entry, Math.floor(Math.random() * (t.check.jitterMs + 1)));
    }
    // What is no longer checked is skipped when its slot comes.
    this.entries = next;
    for (const service of this.quorums.keys()) this.judge(service);
  }

  /** Every checked destination, in no particular order. */
  list(): Checked[] {
    return [...this.entries.values()];
  }

  /** The weight health gives a checked destination (healthWeight). */
  static weightOf(c: Checked): number {
    return healthWeight(c.target, c.real.weight);
  }

  counts(): Record<HealthState, number> {
    const n = { unknown: 0, up: 0, down: 0 };
    for (const e of this.entries.values()) n[e.target.state]++;
    return n;
  }

  /**
   * The services as health wants them on the kernel: a down destination at weight 0 (or left out, to be removed),
   * an up one at its health weight (healthWeight: declared, printed, or a slow-start step), an unknown one at the
   * weight the kernel has now (`current`), so that a restart changes nothing until probes decide; and the sorry
   * servers of a service whose quorum is lost.
   */
  effective(services: readonly DesiredService[], current: readonly ServiceWithDestinations[]): DesiredService[] {
    if (!this.entries.size) return [...services];
    const kernel = new Map(current.map((s) => [describeService(s), s]));
    const now = this.clock.wall();
    return services.map((s) => {
      const id = normalServiceId(s, 'health');
      const service = describeService(id);
      let have: Map<string, number> | undefined;
      const destinations: DesiredService['destinations'] = [];
      for (const d of s.destinations ?? []) {
        const destination = formatHostPort(normalDestination(id, d, 'health'));
        const e = this.entries.get(`${service} ${destination}`);
        const t = e?.target;
        if (!t) destinations.push(d);
        else if (t.state === 'up') destinations.push({ ...d, weight: healthWeight(t, e.real.weight, now) });
        else if (t.state === 'down') {
          if (e.onDown === 'weight-zero') destinations.push({ ...d, weight: 0 });
        } else {
          have ??= new Map(kernel.get(service)?.destinations.map((k) => [formatHostPort(k), k.weight]));
          const w = have.get(destination);
          destinations.push(w === undefined ? d : { ...d, weight: w });
        }
      }
      if (this.quorums.get(service)?.quorum.lost) destinations.push(...this.quorums.get(service)!.quorum.spec.sorry);
      return { ...s, destinations };
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.settle);
    this.due.clear();
  }

  private schedule(e: Running, delayMs: number): void {
    e.next = this.clock.mono() + delayMs;
    this.due.add(e, e.next);
  }

  private tick(e: Running, at: number): void {
    if (this.stopped || at !== e.next || this.entries.get(`${e.service} ${e.destination}`) !== e) return;
    // Probe starts keep to the grid: a slow loop never drifts the schedule, a missed slot is skipped.
    const interval = e.target.check.intervalMs;
    e.next += interval * Math.max(1, Math.ceil((this.clock.mono() - e.next) / interval));
    this.due.add(e, e.next);
    if (e.inFlight) return;
    e.inFlight = true;
    const { check } = e.target;
    void this.prober
      .probe({ ...check.probe, address: e.address, port: e.port, timeoutMs: check.timeoutMs })
      .then((r) => {
        e.inFlight = false;
        if (this.stopped) return;
        const previous = e.target.state;
        const moved = e.target.record(r, this.clock.wall());
        this.on.probed?.(e, r);
        if (moved === 'state') this.on.transition({ checked: e, previous });
        if (moved === 'state' && e.target.rampFrom !== undefined) this.ramp(e);
        if (moved) {
          this.judge(e.service);
          this.changed();
        }
      });
  }

  /** Judges a service's quorum on its destinations' health weights now; a flip asks for a reconcile. */
  private judge(service: string): void {
    const q = this.quorums.get(service);
    if (!q) return;
    let total = q.unchecked;
    const now = this.clock.wall();
    for (const e of this.entries.values())
      if (e.service === service) total += healthWeight(e.target, e.real.weight, now);
    if (q.quorum.judge(total)) this.changed();
  }

  /** A slow start: a reconcile at each of its steps, until the full weight (or the destination goes down again). */
  private ramp(e: Running): void {
    const stepMs = e.target.check.slowStartMs / RAMP_STEPS;
    const from = e.target.rampFrom;
    const step = () => {
      if (this.stopped || e.target.rampFrom !== from || e.target.state !== 'up') return;
      this.judge(e.service);
      this.changed();
      if (healthWeight(e.target, e.real.weight, this.clock.wall()) !== (e.target.printedWeight ?? e.real.weight)) {
        const t = setTimeout(step, stepMs);
        t.unref();
      }
    };
    const t = setTimeout(step, stepMs);
    t.unref();
  }

  private changed(): void {
    if (this.settle) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      if (!this.stopped) this.on.change();
    }, SETTLE_MS);
    this.settle.unref();
  }
}
