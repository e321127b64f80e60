// The connection table of a namespace, filtered, a page at a time, read as
// it streams from /proc/net/ip_vs_conn: each line is parsed, matched and
// handed on or dropped, and reading stops once the page is full, so a
// table of 100,000 entries never costs 100,000 objects at once. The table
// has no stable keys: a page resumes at an entry's place in the kernel's
// listing.
import { readNetLines } from '../procfs/net-file.js';
import { ConnFwdMask } from './constants.js';
import { CONNECTION_HEADER, notAnEntry, parseConnection, type Connection } from './connection.js';
import type { ServiceWithDestinations } from './model.js';

/** What entries a listing keeps; a field left out matches any. Addresses canonical, states upper case. */
export interface ConnectionFilter {
  protocol?: number;
  virtualAddress?: string;
  virtualPort?: number;
  destinationAddress?: string;
  destinationPort?: number;
  states?: ReadonlySet<string>;
  /** Templates left out, or only templates; default both. */
  templates?: 'exclude' | 'only';
}

export function matchesConnection(c: Connection, f: ConnectionFilter): boolean {
  return (
    (f.protocol === undefined || c.protocol === f.protocol) &&
    (f.virtualAddress === undefined || c.virtualAddress === f.virtualAddress) &&
    (f.virtualPort === undefined || c.virtualPort === f.virtualPort) &&
    (f.destinationAddress === undefined || c.destinationAddress === f.destinationAddress) &&
    (f.destinationPort === undefined || c.destinationPort === f.destinationPort) &&
    (f.states === undefined || f.states.has(c.state.toUpperCase())) &&
    (f.templates === undefined || c.template === (f.templates === 'only'))
  );
}

/**
 * Reads the connection table of the namespace at `netns` ('' for this thread's) from entry `from` on (entries
 * counted from 0 in the kernel's order), handing each entry that matches `filter` to `take` until it returns false.
 * Returns where the next page resumes (the index of the entry `take` refused), or undefined when the table ended.
 */
export async function readConnections(
  netns: string,
  from: number,
  filter: ConnectionFilter,
  take: (c: Connection) => boolean,
): Promise<number | undefined> {
  // The header is checked on a first page; a later one passes over it with the entries before its own.
  let index = from > 0 ? from : -1;
  let next: number | undefined;
  const line = (text: string) => {
    if (index++ < 0) {
      if (text !== CONNECTION_HEADER) throw notAnEntry(text);
      return true;
    }
    const c = parseConnection(text);
    if (!matchesConnection(c, filter) || take(c)) return true;
    next = index - 1;
    return false;
  };
  await readNetLines(netns, 'ip_vs_conn', line, from > 0 ? from + 1 : 0);
  return next;
}

/**
 * The forwarding method of the destinations at an address and port (of a family), in any of `services`, when they
 * all agree; undefined when there is none or they disagree. The connection table does not show a connection's method:
 * this is the nearest the kernel tells.
 */
export function forwardingMethods(
  services: readonly ServiceWithDestinations[],
): (family: number, address: string, port: number) => number | undefined {
  const DISAGREE = -1;
  const methods = new Map<string, number>();
  for (const s of services) {
    for (const d of s.destinations) {
      const key = `${d.addressFamily}|${d.address}|${d.port}`;
      const m = d.connectionFlags & ConnFwdMask;
      const seen = methods.get(key);
      methods.set(key, seen === undefined || seen === m ? m : DISAGREE);
    }
  }
  return (family, address, port) => {
    const m = methods.get(`${family}|${address}|${port}`);
    return m === undefined || m === DISAGREE ? undefined : m;
  };
}
