// Declarative state: the plan that takes a namespace from what the kernel
// holds to what is desired (creates, updates, deletes, drains), within the
// part of the namespace the caller owns, and its execution as one batch.
import { addressBytes, familyOf, formatHostPort } from '../inet/address.js';
import { AF_INET6 } from './constants.js';
import { destinationDifferences, serviceDifferences } from './diff.js';
import type { Drainer } from './drain.js';
import type { BatchItemResult, Handle, NormalBatchOp } from './handle.js';
import type {
  Destination,
  DestinationInput,
  Service,
  ServiceId,
  ServiceInput,
  ServiceWithDestinations,
} from './model.js';
import {
  describeService,
  normalDestination,
  normalService,
  ValidationError,
  type NormalDestination,
  type NormalService,
} from './validate.js';

/** A desired service with all of its desired destinations. */
export interface DesiredService extends ServiceInput {
  destinations?: DestinationInput[];
}

/** The services a caller owns: those matching any entry. Left out: every service of the namespace. */
export interface Scope {
  /** Virtual IPs. */
  addresses?: string[];
  /** CIDR prefixes of virtual IPs ("192.0.2.0/24", "2001:db8::/64"). */
  prefixes?: string[];
  fwMarks?: number[];
}

export interface ApplyOptions {
  /** Delete owned services and destinations that are not desired. Default false. */
  prune?: boolean;
  scope?: Scope;
  /** Destinations to remove get weight 0 instead of being deleted (the caller deletes them later). */
  drain?: boolean;
  /**
   * With drain: hand drained destinations, and those found already drained,
   * to this Drainer, which deletes each when idle or after `drainTimeoutMs`.
   */
  drainer?: Drainer;
  drainTimeoutMs?: number;
}

export type ChangeAction =
  | 'createService'
  | 'updateService'
  | 'deleteService'
  | 'createDestination'
  | 'updateDestination'
  | 'deleteDestination'
  | 'drainDestination';

/** One step of a plan: what changes, from what, to what. */
export interface Change {
  action: ChangeAction;
  service: NormalService;
  destination?: NormalDestination;
  /** The kernel's state before (for updates, deletes and drains). */
  before?: Service | Destination;
  /** "updateService tcp 192.0.2.1:80: schedName rr -> wlc". */
  description: string;
}

/** Whether `address` falls inside a CIDR prefix. Throws ValidationError for a malformed prefix. */
function inPrefix(address: string, prefix: string): boolean {
  const [net, bitsText] = prefix.split('/');
  const family = familyOf(net ?? '');
  const bits = Number(bitsText);
  const max = family === AF_INET6 ? 128 : 32;
  if (!family || !Number.isInteger(bits) || bits < 0 || bits > max) {
    throw new ValidationError('apply', 'prefixes', `${JSON.stringify(prefix)} is not a CIDR prefix`, 'batch');
  }
  if (familyOf(address) !== family) return false;
  const a = addressBytes(family, address);
  const n = addressBytes(family, net!);
  for (let i = 0; i < bits; i++) {
    const bit = 0x80 >> (i % 8);
    if ((a[i >> 3]! & bit) !== (n[i >> 3]! & bit)) return false;
  }
  return true;
}

const unscoped = (scope: Scope | undefined) =>
  !scope || (!scope.addresses?.length && !scope.prefixes?.length && !scope.fwMarks?.length);

export function owns(scope: Scope | undefined, s: ServiceId & { address: string; fwMark: number }): boolean {
  if (!scope || unscoped(scope)) return true;
  if (s.fwMark) return !!scope.fwMarks?.includes(s.fwMark);
  return !!scope.addresses?.includes(s.address) || !!scope.prefixes?.some((p) => inPrefix(s.address, p));
}

/**
 * The changes from `current` to `desired`. Desired services outside the
 * scope are refused (ValidationError): ipvsd never touches what the caller
 * does not own. Deletions come first, then creates and updates, so a
 * replaced object never collides with its old self.
 */
export function plan(
  current: readonly ServiceWithDestinations[],
  desired: readonly DesiredService[],
  o: ApplyOptions & Pick<ApplyRun, 'dryRun'> = {},
): Change[] {
  const want = new Map<string, { svc: NormalService; dests: Map<string, NormalDestination> }>();
  desired.forEach((d, i) => {
    let svc: NormalService;
    try {
      svc = normalService(d, 'apply');
    } catch (e) {
      throw e instanceof ValidationError ? e.within('apply', i) : e;
    }
    const key = describeService(svc);
    if (want.has(key)) throw new ValidationError('apply', 'service', `${key} is desired twice`, 'service', i);
    if (!owns(o.scope, svc)) throw new ValidationError('apply', 'service', `${key} is outside the scope`, 'service', i);
    const dests = new Map<string, NormalDestination>();
    for (const di of d.destinations ?? []) {
      let nd: NormalDestination;
      try {
        nd = normalDestination(svc, di, 'apply');
      } catch (e) {
        throw e instanceof ValidationError ? e.within('apply', i) : e;
      }
      const dk = formatHostPort(nd);
      if (dests.has(dk))
        throw new ValidationError('apply', 'destination', `${dk} of ${key} is desired twice`, 'destination', i);
      dests.set(dk, nd);
    }
    want.set(key, { svc, dests });
  });

  const removals: Change[] = [];
  const additions: Change[] = [];
  const have = new Map(current.map((s) => [describeService(s), s]));
  for (const [key, cur] of have) {
    if (want.has(key) || !o.prune || !owns(o.scope, cur)) continue;
    removals.push({ action: 'deleteService', service: { ...cur }, before: cur, description: `deleteService ${key}` });
  }
  for (const [key, { svc, dests }] of want) {
    const cur = have.get(key);
    if (!cur) {
      additions.push({ action: 'createService', service: svc, description: `createService ${key}` });
    } else {
      const diff = serviceDifferences(svc, cur);
      if (diff.length)
        additions.push({
          action: 'updateService',
          service: svc,
          before: cur,
          description: `updateService ${key}: ${diff.join(', ')}`,
        });
    }
    const curDests = new Map((cur?.destinations ?? []).map((d) => [formatHostPort(d), d]));
    for (const [dk, d] of dests) {
      const cd = curDests.get(dk);
      if (!cd) {
        additions.push({
          action: 'createDestination',
          service: svc,
          destination: d,
          description: `createDestination ${dk} of ${key}`,
        });
        continue;
      }
      const diff = destinationDifferences(d, cd);
      if (diff.length) {
        additions.push({
          action: 'updateDestination',
          service: svc,
          destination: d,
          before: cd,
          description: `updateDestination ${dk} of ${key}: ${diff.join(', ')}`,
        });
      }
    }
    if (!o.prune) continue;
    for (const [dk, cd] of curDests) {
      if (dests.has(dk)) continue;
      const nd: NormalDestination = { ...cd };
      if (o.drain) {
        if (cd.weight !== 0) {
          additions.push({
            action: 'drainDestination',
            service: svc,
            destination: { ...nd, weight: 0 },
            before: cd,
            description: `drainDestination ${dk} of ${key}: weight ${cd.weight} -> 0`,
          });
        } else if (o.drainer && !o.dryRun) {
          // Drained by an earlier Apply (perhaps before a restart): it still goes when idle.
          o.drainer.add(svc, nd, o.drainTimeoutMs ?? 0);
        }
      } else {
        removals.push({
          action: 'deleteDestination',
          service: svc,
          destination: nd,
          before: cd,
          description: `deleteDestination ${dk} of ${key}`,
        });
      }
    }
  }
  return [...removals, ...additions];
}

function batchOpOf(c: Change): NormalBatchOp {
  switch (c.action) {
    case 'createService':
      return { op: 'newService', service: c.service };
    case 'updateService':
      return { op: 'updateService', service: c.service };
    case 'deleteService':
      return { op: 'delService', service: c.service };
    case 'createDestination':
      return { op: 'newDestination', service: c.service, destination: c.destination! };
    case 'updateDestination':
    case 'drainDestination':
      return { op: 'updateDestination', service: c.service, destination: c.destination! };
    case 'deleteDestination':
      return { op: 'delDestination', service: c.service, destination: c.destination! };
  }
}

/** How one Apply runs: for real or as a plan, and who follows it. */
export interface ApplyRun {
  /** Plan only; change nothing. */
  dryRun?: boolean;
  /** Called with the kernel's listing that the plan starts from (counters left out). */
  onListed?: (current: readonly ServiceWithDestinations[]) => void;
  /** Called with the plan before anything is changed. */
  onPlanned?: (changes: readonly Change[]) => void;
  /** Called as changes are made: how many of the plan's are done. */
  onProgress?: (done: number) => void;
}

export interface ApplyResult {
  changes: Change[];
  /** One per change, in order; empty for a dry run. */
  results: BatchItemResult[];
}

/**
 * Makes the owned part of the namespace what `desired` says, in one batch
 * (many requests per sendmsg). A dry run plans and changes nothing. Applying
 * the same state twice changes nothing the second time.
 */
export async function applyState(
  h: Handle,
  desiredOrOf: readonly DesiredService[] | ((current: readonly ServiceWithDestinations[]) => readonly DesiredService[]),
  o: ApplyOptions & ApplyRun = {},
): Promise<ApplyResult> {
  const current = await h.getServicesWithDestinations({ counters: false });
  o.onListed?.(current);
  // What is desired may depend on what the kernel holds (health keeps an undecided destination's weight).
  const desired = typeof desiredOrOf === 'function' ? desiredOrOf(current) : desiredOrOf;
  const changes = plan(current, desired, o);
  o.onPlanned?.(changes);
  if (o.dryRun || !changes.length) return { changes, results: [] };
  // The caller owns the whole namespace and wants none of it: one flush, not a delete per service.
  if (
    unscoped(o.scope) &&
    !desired.length &&
    changes.length === current.length &&
    changes.every((c) => c.action === 'deleteService')
  ) {
    await h.flush();
    o.onProgress?.(changes.length);
    return { changes, results: changes.map(() => ({ ok: true })) };
  }
  const results = await h.batchNormal(changes.map(batchOpOf), o.onProgress);
  if (o.drainer) {
    changes.forEach((c, i) => {
      if (c.action === 'drainDestination' && results[i]!.ok)
        o.drainer!.add(c.service, c.destination!, o.drainTimeoutMs ?? 0);
    });
  }
  return {
    changes,
    results: results.map((r, i) => (r.ok ? r : { ok: false, error: r.error.within(changes[i]!.description, i) })),
  };
}
