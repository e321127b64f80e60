// The desired states the server holds: named specs of a namespace's rules,
// kept durably by the store and reconciled onto the kernel by the Apply core
// (applyState, within each one's scope) at every Put, at start, each period,
// and soon after a poller's listing shows drift (drift.ts). Puts, Deletes and
// reconciles run one at a time, so a generation check, a scope check, the
// write and the reconcile that follows are never interleaved with another's.
import {
  applyState,
  fingerprint,
  fingerprintAfter,
  owns,
  type ApplyResult,
  type ServiceWithDestinations,
  type SysctlChange,
} from '../ipvs/index.js';
import { checkGeneration, checkName, checkSpec, DesiredStateError } from './checks.js';
import type { Correction, HealthTransition, ProbeDone } from './corrections.js';
import { Drift } from './drift.js';
import { Feed } from './feed.js';
import { desiredOf, followHealth, type HealthDeps } from './health.js';
import type { HeldState, PutInput, PutOutcome, RegistryDeps } from './held.js';
import { applyOptions } from './spec.js';
import { removeOwned } from './remove.js';
import { overlap } from './scope.js';
import { dropVips, keepVips } from './vips.js';
import { DesiredStore, type StoredDesiredState } from './store.js';
import { failedStatus, noCounts, statusOf, type Trigger } from './status.js';
import { checkSysctlClash, reconcileHeldSysctls, reconcileSysctls } from './sysctls.js';

export { checkName, checkSpec, DesiredStateError, NAME } from './checks.js';
export type { Correction, HealthTransition, ProbeDone } from './corrections.js';
export { inSync, type HeldState, type PutInput, type PutOutcome, type RegistryDeps } from './held.js';
export type { DesiredSpec, Log } from './spec.js';
export type { Failure, ReconcileCounts, ReconcileStatus, Trigger } from './status.js';

/** The least time between two reconciles of one desired state that drift asks for, by default. */
export const MIN_RECONCILE_INTERVAL_MS = 1000;

/** The fingerprint of what `s` owns in a listing: what drift compares. */
const ownedFingerprint = (s: HeldState, services: readonly ServiceWithDestinations[]) =>
  fingerprint(services, (svc) => owns(s.spec.scope, svc));

export class DesiredRegistry {
  private readonly held = new Map<string, HeldState>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly key: (ns: string) => string;
  /** Reconciles that changed the kernel without a Put. */
  readonly corrections = new Feed<Correction>();
  /** Checked destinations that went up or down. */
  readonly transitions = new Feed<HealthTransition>();
  /** Every probe's end (for the metrics). */
  readonly probes = new Feed<ProbeDone>();
  /** Desired states with a health reconcile queued. */
  private readonly healthDue = new Set<string>();
  private readonly healthDeps: HealthDeps;

  private constructor(
    private readonly store: DesiredStore,
    private readonly deps: RegistryDeps,
  ) {
    this.key = deps.namespaceKey ?? ((ns) => ns);
    this.healthDeps = {
      prober: (ns) => {
        if (!deps.prober) throw new DesiredStateError('invalid', 'this server runs no health checks', 'health');
        return deps.prober(ns);
      },
      changed: (name) => this.healthChanged(name),
      transition: (t) => this.transitions.emit(t),
      probed: (p) => this.probes.emit(p),
    };
  }

  /** Loads every desired state in `dir`; a file that does not parse or validate throws the store's StoreError. */
  static async open(dir: string, deps: RegistryDeps): Promise<DesiredRegistry> {
    const validate = (s: StoredDesiredState) => {
      checkName(s.name);
      checkSpec(deps.decode(s.spec));
    };
    const store = await DesiredStore.open(dir, validate);
    const r = new DesiredRegistry(store, deps);
    for (const s of store.list()) {
      const h: HeldState = {
        name: s.name,
        generation: s.generation,
        spec: deps.decode(s.spec),
        data: s.spec,
        drift: new Drift(),
        counts: noCounts(),
      };
      // Undecided since this start: the kernel's weights stay until probes decide.
      followHealth(h, 'unknown', r.healthDeps);
      r.held.set(s.name, h);
    }
    return r;
  }

  /** In name order. */
  list(): HeldState[] {
    return [...this.held.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): HeldState | undefined {
    return this.held.get(name);
  }

  /** Runs `f` after every earlier Put, Delete and reconcile has finished. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Creates or replaces a desired state, durably, then reconciles it. */
  put(p: PutInput): Promise<PutOutcome> {
    return this.serial(async () => {
      checkName(p.name);
      checkSpec(p.spec);
      const cur = this.held.get(p.name);
      checkGeneration(p.name, cur, p.expectedGeneration);
      if (cur && this.key(cur.spec.namespace) !== this.key(p.spec.namespace)) {
        throw new DesiredStateError(
          'immutable',
          `${p.name} is of namespace ${JSON.stringify(cur.spec.namespace)}; delete it to move it`,
          'namespace',
        );
      }
      for (const other of this.held.values()) {
        if (other.name === p.name || this.key(other.spec.namespace) !== this.key(p.spec.namespace)) continue;
        const both = overlap(p.spec.scope, other.spec.scope);
        if (both)
          throw new DesiredStateError(
            'overlap',
            `the scope overlaps ${other.name}'s (${both}) in its namespace`,
            'scope',
          );
        checkSysctlClash(p.spec, other);
      }
      const handle = this.deps.handle(p.spec.namespace);
      const next: HeldState = {
        name: p.name,
        generation: (cur?.generation ?? 0) + 1,
        spec: p.spec,
        data: p.data,
        status: cur?.status,
        drift: cur?.drift ?? new Drift(),
        counts: cur?.counts ?? noCounts(),
        health: cur?.health,
      };
      if (p.validateOnly) {
        const result = await applyState(handle, p.spec.services, { ...applyOptions(p.spec), dryRun: true });
        return { state: next, result, sysctls: reconcileSysctls(handle, p.spec, true) };
      }
      // A spec with checks on a server without probers is refused before anything is stored.
      if (p.spec.health.length) this.healthDeps.prober(p.spec.namespace);
      await this.store.put({ name: next.name, generation: next.generation, spec: next.data });
      followHealth(next, 'declared', this.healthDeps);
      this.held.set(next.name, next);
      return { state: next, ...(await this.reconcileHeld(next, 'put')) };
    });
  }

  /** Forgets a desired state, durably; with removeRules also removes (or drains) what it owned. */
  delete(p: { name: string; expectedGeneration: number; removeRules: boolean }): Promise<ApplyResult | undefined> {
    return this.serial(async () => {
      const cur = this.held.get(p.name);
      if (!cur) throw new DesiredStateError('not-found', `${p.name} does not exist`, 'name');
      if (p.expectedGeneration === -1) throw new DesiredStateError('invalid', 'expected_generation -1 is for Put only');
      checkGeneration(p.name, cur, p.expectedGeneration);
      // The namespace is checked before anything is forgotten.
      const handle = p.removeRules ? this.deps.handle(cur.spec.namespace) : undefined;
      await this.store.delete(p.name);
      this.held.delete(p.name);
      cur.drift.cancel();
      cur.health?.stop();
      const removal = handle && (await removeOwned(handle, cur.spec, this.deps.log));
      if (handle && cur.spec.vips) await dropVips(cur, handle.netns, this.deps.log);
      return removal;
    });
  }

  /**
   * Reconciles every desired state, one after another (at start, and each period): failures go into each one's
   * status, corrections (what the kernel had lost or changed) to the log and to `corrections`.
   */
  reconcileAll(trigger: 'start' | 'period'): Promise<HeldState[]> {
    return this.serial(async () => {
      const all = this.list();
      for (const s of all) await this.reconcileHeld(s, trigger);
      return all;
    });
  }

  /**
   * A listing of `namespace` (the shared pollers'): each desired state of it whose owned rules differ from what the
   * kernel held when it last matched is reconciled soon, at most once per minimum interval.
   */
  listed(namespace: string, services: readonly ServiceWithDestinations[]): void {
    const ns = this.key(namespace);
    for (const s of this.held.values()) {
      if (this.key(s.spec.namespace) !== ns) continue;
      if (!s.drift.seen(ownedFingerprint(s, services))) continue;
      s.drift.schedule(this.deps.minReconcileIntervalMs ?? MIN_RECONCILE_INTERVAL_MS, () => {
        void this.reconcileByName(s.name, 'drift');
      });
    }
  }

  /**
   * Reconciles every state again each `periodMs`, so that a kernel changed behind the server's back (ipvsadm -C, a
   * reboot of the module) is put back within a period. A round still running when the next is due skips it: a slow
   * kernel never piles rounds up. Returns the function that stops it.
   */
  every(periodMs: number): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void this.reconcileAll('period').finally(() => {
        running = false;
      });
    }, periodMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Its services, then its sysctls; a sysctl refused leaves it out of sync, with that error in its status. */
  private async reconcileHeld(
    s: HeldState,
    trigger: Trigger,
  ): Promise<{ result?: ApplyResult; sysctls?: SysctlChange[] }> {
    s.counts.reconciles[trigger]++;
    let listed: number | undefined;
    let kernel: readonly ServiceWithDestinations[] = [];
    try {
      const handle = this.deps.handle(s.spec.namespace);
      const result = await applyState(handle, desiredOf(s), {
        ...applyOptions(s.spec, handle, this.deps.log),
        onListed: (current) => {
          listed = ownedFingerprint(s, current);
          kernel = current;
        },
      });
      s.status = statusOf(s.generation, trigger, result);
      if (s.spec.vips) await keepVips(s, handle.netns, kernel, trigger, this.deps.log);
      const sysctls = reconcileHeldSysctls(s, handle, this.deps.log);
      // What the kernel holds now follows from the listing and what was applied: the next poller's listing is
      // compared with it, so that a change made by someone else right after this reconcile is drift too.
      s.drift.settled(
        listed === undefined ? undefined : fingerprintAfter(listed, result.changes, result.results),
        s.status.inSync,
      );
      const changed = sysctls.filter((c) => c.changed);
      if ((result.changes.length || changed.length) && trigger !== 'put' && trigger !== 'health')
        this.corrected(s, trigger, result, changed);
      return { result, sysctls };
    } catch (e) {
      s.status = failedStatus(s.generation, trigger, e);
      s.drift.settled(undefined, false);
      this.deps.log.warn({ name: s.name, namespace: s.spec.namespace, err: String(e) }, 'reconcile failed');
      return {};
    }
  }

  /** Stops every health check (at shutdown). */
  close(): void {
    for (const s of this.held.values()) s.health?.stop();
  }

  /**
   * A checked destination of `name` changed: one reconcile queued, however many change before it starts. A change
   * while it runs queues the next: it may come after the reconcile read health.
   */
  private healthChanged(name: string): void {
    if (this.healthDue.has(name)) return;
    this.healthDue.add(name);
    void this.reconcileByName(name, 'health', () => this.healthDue.delete(name));
  }

  /** Queues a reconcile of `name` as it is when it runs: a Put may have replaced it, a Delete forgotten it. */
  private reconcileByName(name: string, trigger: Trigger, starting?: () => void): Promise<void> {
    return this.serial(async () => {
      starting?.();
      const cur = this.held.get(name);
      if (cur) await this.reconcileHeld(cur, trigger);
    });
  }

  private corrected(
    s: HeldState,
    trigger: Exclude<Trigger, 'put' | 'health'>,
    result: ApplyResult,
    sysctls: SysctlChange[],
  ): void {
    const applied = s.status!.applied;
    s.counts.corrections[trigger]++;
    s.counts.corrected += applied + sysctls.length;
    const { name, generation } = s;
    const put = sysctls.map((c) => `${c.name} ${JSON.stringify(c.previous)} -> ${JSON.stringify(c.value)}`);
    this.deps.log.info(
      { name, trigger, changes: result.changes.length, applied, first: result.changes[0]?.description, sysctls: put },
      'drift corrected',
    );
    const time = new Date();
    this.corrections.emit({ name, namespace: s.spec.namespace, generation, trigger, time, result, sysctls });
  }
}
