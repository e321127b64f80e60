// What differs between two states of a namespace: the options compared
// (never the counters), and the change events from one listing to the next.
import { formatHostPort } from '../inet/address.js';
import { SvcFlagHashed } from './constants.js';
import type { Destination, Service, ServiceWithDestinations } from './model.js';
import { describeService } from './validate.js';

/** The options of a service and of a destination that a change can touch. */
export const SERVICE_FIELDS = ['schedName', 'flags', 'timeout', 'netmask', 'peName'] as const;
export const DEST_FIELDS = [
  'weight',
  'connectionFlags',
  'upperThreshold',
  'lowerThreshold',
  'tunnelType',
  'tunnelPort',
  'tunnelFlags',
] as const;
type ServiceOptions = Pick<Service, (typeof SERVICE_FIELDS)[number]>;
type DestinationOptions = Pick<Destination, (typeof DEST_FIELDS)[number]>;

const SAME: readonly string[] = Object.freeze([]);

/** "weight 1 -> 3" for each field that differs (allocation-free when none does: most of a big Apply). */
function differences<T extends string>(
  fields: readonly T[],
  want: Record<T, unknown>,
  have: Record<T, unknown>,
  view: (f: T, v: unknown) => unknown = (_, v) => v,
): readonly string[] {
  let out: string[] | undefined;
  for (const f of fields) {
    const w = view(f, want[f]);
    const h = view(f, have[f]);
    if (w !== h) (out ??= []).push(`${f} ${String(h)} -> ${String(w)}`);
  }
  return out ?? SAME;
}

/** The kernel sets "hashed" on every service it holds: it is not an option. */
export const withoutHashed = (f: string, v: unknown) => (f === 'flags' ? (v as number) & ~SvcFlagHashed : v);

/** How a service's options differ, the kernel's own "hashed" flag aside. */
export const serviceDifferences = (want: ServiceOptions, have: ServiceOptions) =>
  differences(SERVICE_FIELDS, want, have, withoutHashed);
export const destinationDifferences = (want: DestinationOptions, have: DestinationOptions) =>
  differences(DEST_FIELDS, want, have);

export type StateEvent =
  | {
      kind: 'added' | 'removed' | 'updated';
      service: Service;
      oldService?: Service;
      destination?: undefined;
      oldDestination?: undefined;
    }
  | {
      kind: 'added' | 'removed' | 'updated';
      service: Service;
      destination: Destination;
      oldDestination?: Destination;
      oldService?: undefined;
    };

/**
 * The events that take `before` to `after`: services and destinations added,
 * removed (a removed service's destinations go with it, unlisted), or with
 * other options. Counters moving are not events.
 */
export function diffState(
  before: readonly ServiceWithDestinations[],
  after: readonly ServiceWithDestinations[],
): StateEvent[] {
  const events: StateEvent[] = [];
  const old = new Map(before.map((s) => [describeService(s), s]));
  const seen = new Set<string>();
  for (const s of after) {
    const key = describeService(s);
    seen.add(key);
    const o = old.get(key);
    if (!o) {
      events.push({ kind: 'added', service: s });
      for (const d of s.destinations) events.push({ kind: 'added', service: s, destination: d });
      continue;
    }
    if (serviceDifferences(s, o).length) events.push({ kind: 'updated', service: s, oldService: o });
    const oldDests = new Map(o.destinations.map((d) => [formatHostPort(d), d]));
    const seenDests = new Set<string>();
    for (const d of s.destinations) {
      const dk = formatHostPort(d);
      seenDests.add(dk);
      const od = oldDests.get(dk);
      if (!od) events.push({ kind: 'added', service: s, destination: d });
      else if (destinationDifferences(d, od).length)
        events.push({ kind: 'updated', service: s, destination: d, oldDestination: od });
    }
    for (const [dk, od] of oldDests)
      if (!seenDests.has(dk)) events.push({ kind: 'removed', service: s, destination: od });
  }
  for (const [key, o] of old) if (!seen.has(key)) events.push({ kind: 'removed', service: o });
  return events;
}
