// What differs between two states of a namespace: the options compared
// (never the counters), and the change events from one listing to the next
// (made by Mirror).
import { SvcFlagHashed } from './constants.js';
import type { Destination, Service } from './model.js';

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
