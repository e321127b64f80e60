// A set of addresses kept on one interface, as a desired state keeps its
// VIPs: what is missing added and what the caller no longer wants deleted,
// each as one batch of requests (one sendmsg for hundreds).
import type { Outbox } from '../netlink/outbox.js';
import { writeDelAddress, writeNewAddress, type AddressEntry } from '../rtnetlink/address.js';
import { RouteSocket } from '../rtnetlink/route.js';
import { describeAddress, dumpAddresses, ensureDummy, findLink, targetOf } from './addresses.js';
import type { NormalAddress } from './validate.js';

/** The addresses added and deleted, as "192.0.2.10/32". */
export interface KeepOutcome {
  added: string[];
  deleted: string[];
}

const text = (a: NormalAddress) => `${a.address}/${a.prefixLength}`;

/** Runs the requests `write` encodes as one batch; the first refusal (but those `ignore` says) throws, told as `op`. */
async function batch(
  r: RouteSocket,
  op: string,
  write: (box: Outbox) => void,
  ignore = (_: string) => false,
): Promise<void> {
  const refused = await r.many(write);
  const i = refused.findIndex((e) => e !== null && !ignore(e.errno));
  if (i >= 0) throw refused[i]!.within(op, i);
}

/**
 * Makes interface `name` of the namespace at `netns` ('' for the server's own) hold every address of `want` (added
 * at full length unless given otherwise), creating it as a dummy interface (up) when absent, and deletes those of
 * its addresses for which `drop` holds and that are not wanted. Throws KernelError when the kernel refuses.
 */
export function keepAddresses(
  netns: string,
  name: string,
  want: readonly NormalAddress[],
  drop: (a: AddressEntry) => boolean,
): Promise<KeepOutcome> {
  return RouteSocket.withAsync(netns, async (r) => {
    const link = ensureDummy(r, name);
    const have = dumpAddresses(r, link.index);
    const present = new Set(have.map((a) => a.address));
    const wanted = new Set(want.map((a) => a.address));
    const add = want.filter((a) => !present.has(a.address));
    const stale = have.filter((a) => !wanted.has(a.address) && drop(a));
    await batch(r, `add addresses to ${name}`, (box) => {
      for (const a of add) writeNewAddress(box, targetOf(a, link.index));
    });
    // One deleted meanwhile is as good as deleted here.
    await batch(
      r,
      `delete addresses of ${name}`,
      (box) => {
        for (const a of stale) writeDelAddress(box, { ...a, flags: 0 });
      },
      (errno) => errno === 'EADDRNOTAVAIL',
    );
    return { added: add.map(text), deleted: stale.map(text) };
  });
}

/** Deletes the addresses of interface `name` for which `drop` holds (none when there is no such interface). */
export function dropAddresses(netns: string, name: string, drop: (a: AddressEntry) => boolean): Promise<string[]> {
  return RouteSocket.withAsync(netns, async (r) => {
    const link = findLink(r, name);
    if (!link) return [];
    const gone = dumpAddresses(r, link.index).filter(drop);
    await batch(
      r,
      `delete addresses of ${name}`,
      (box) => {
        for (const a of gone) writeDelAddress(box, { ...a, flags: 0 });
      },
      (errno) => errno === 'EADDRNOTAVAIL',
    );
    return gone.map((a) => describeAddress(a, name));
  });
}
