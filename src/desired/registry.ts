// The desired states the server holds: named specs of a namespace's rules,
// kept durably by the store and reconciled onto the kernel by the Apply core
// (applyState, within each one's scope) at every Put and at start. Puts and
// Deletes run one at a time, so a generation check, a scope check, the write
// and the reconcile that follows are never interleaved with another's.
import { applyState, plan, type ApplyResult, type Handle } from '../ipvs/index.js';
import { applyOptions, checkDrain, type DesiredSpec, type Log } from './spec.js';
import { removeOwned } from './remove.js';
import { overlap, scopeNets } from './scope.js';
import { DesiredStore, type StoredDesiredState } from './store.js';
import { failedStatus, statusOf, type ReconcileStatus } from './status.js';

export type { DesiredSpec, Log } from './spec.js';
export type { Failure, ReconcileStatus } from './status.js';

/** "desiredStates/{id}": the id as an RFC 1035 label (AIP-122). */
export const NAME = /^desiredStates\/[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface HeldState {
  name: string;
  /** 1 when created, one more at every Put. */
  generation: number;
  spec: DesiredSpec;
  /** The spec as the store keeps it (the server's encoding). */
  data: unknown;
  /** The last reconcile since the server started. */
  status?: ReconcileStatus;
}

/** Why a Put or Delete was refused, for the server to tell as a status. */
export class DesiredStateError extends Error {
  constructor(
    readonly reason: 'not-found' | 'aborted' | 'overlap' | 'immutable' | 'invalid',
    message: string,
    /** The refused field, as the request names it under the desired state ("scope", "namespace", "name"). */
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface RegistryDeps {
  /** The Handle of a namespace; throws if it is not allowed (nothing is then stored). */
  handle(namespace: string): Handle;
  /** What a namespace names, so that a name and its path compare equal; default: as written. */
  namespaceKey?(namespace: string): string;
  /** The spec of the store's data: throws (a ValidationError) when it is not a valid one. */
  decode(data: unknown): DesiredSpec;
  log: Log;
}

export interface PutInput {
  name: string;
  spec: DesiredSpec;
  /** The spec as the store is to keep it. */
  data: unknown;
  /** 0: no check; -1: only if it does not exist; else the generation it must have. */
  expectedGeneration: number;
  /** Check and plan; store and change nothing. */
  validateOnly?: boolean;
}

export interface PutOutcome {
  /** As stored (or as it would be, with validateOnly). */
  state: HeldState;
  /** The reconcile (a plan, with validateOnly); undefined when it failed as a whole (see state.status). */
  result?: ApplyResult;
}

export function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new DesiredStateError(
      'invalid',
      `name ${JSON.stringify(name)} is not desiredStates/ID (ID: 1 to 63 of a-z, 0-9 and "-", starting with a letter, not ending with "-")`,
      'name',
    );
  }
}

function checkGeneration(name: string, cur: HeldState | undefined, expected: number): void {
  if (expected < -1 || !Number.isSafeInteger(expected))
    throw new DesiredStateError('invalid', `expected_generation ${expected} is not -1, 0 or a generation`);
  if (expected === 0) return;
  const have = cur?.generation ?? 0;
  if (expected === -1 ? have !== 0 : have !== expected) {
    const wanted = expected === -1 ? 'none (expected_generation -1)' : `generation ${expected}`;
    throw new DesiredStateError('aborted', `${name} is at generation ${have}, not ${wanted}: read it again`);
  }
}

export class DesiredRegistry {
  private readonly held = new Map<string, HeldState>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly key: (ns: string) => string;

  private constructor(
    private readonly store: DesiredStore,
    private readonly deps: RegistryDeps,
  ) {
    this.key = deps.namespaceKey ?? ((ns) => ns);
  }

  /** Loads every desired state in `dir`; a file that does not parse or validate throws the store's StoreError. */
  static async open(dir: string, deps: RegistryDeps): Promise<DesiredRegistry> {
    const validate = (s: StoredDesiredState) => {
      checkName(s.name);
      checkSpec(deps.decode(s.spec));
    };
    const store = await DesiredStore.open(dir, validate);
    const r = new DesiredRegistry(store, deps);
    for (const s of store.list())
      r.held.set(s.name, { name: s.name, generation: s.generation, spec: deps.decode(s.spec), data: s.spec });
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
      }
      const handle = this.deps.handle(p.spec.namespace);
      const next: HeldState = {
        name: p.name,
        generation: (cur?.generation ?? 0) + 1,
        spec: p.spec,
        data: p.data,
        status: cur?.status,
      };
      if (p.validateOnly) {
        const result = await applyState(handle, p.spec.services, { ...applyOptions(p.spec), dryRun: true });
        return { state: next, result };
      }
      await this.store.put({ name: next.name, generation: next.generation, spec: next.data });
      this.held.set(next.name, next);
      return { state: next, result: await this.reconcileHeld(next) };
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
      return handle && removeOwned(handle, cur.spec, this.deps.log);
    });
  }

  /**
   * Reconciles every desired state, one after another (at start, and each period): failures go into each one's
   * status, corrections (what the kernel had lost or changed) into the log.
   */
  reconcileAll(): Promise<HeldState[]> {
    return this.serial(async () => {
      const all = this.list();
      for (const s of all) {
        const r = await this.reconcileHeld(s);
        if (r?.changes.length) this.deps.log.info({ name: s.name, changes: r.changes.length }, 'drift corrected');
      }
      return all;
    });
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
      void this.reconcileAll().finally(() => {
        running = false;
      });
    }, periodMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async reconcileHeld(s: HeldState): Promise<ApplyResult | undefined> {
    try {
      const handle = this.deps.handle(s.spec.namespace);
      const result = await applyState(handle, s.spec.services, applyOptions(s.spec, handle, this.deps.log));
      s.status = statusOf(s.generation, result);
      return result;
    } catch (e) {
      s.status = failedStatus(s.generation, e);
      this.deps.log.warn({ name: s.name, namespace: s.spec.namespace, err: String(e) }, 'reconcile failed');
      return undefined;
    }
  }
}

/** What a spec must be beyond what its parts' own validation says: a sound scope, owning every service. */
export function checkSpec(spec: DesiredSpec): void {
  scopeNets(spec.scope);
  checkDrain(spec);
  // Planning against an empty kernel is the Apply core's whole validation: services, destinations, scope.
  plan([], spec.services, { scope: spec.scope });
}
