// The local addresses of a network namespace, no IPVS in it: listed, added
// to a named interface (a dummy one created when asked and absent, as
// kube-proxy's kube-ipvs0 and gorb's -vipi), deleted. Each call opens a
// route netlink socket inside the namespace and closes it after.
import { AF_INET6 } from '../inet/address.js';
import { KernelError } from '../netlink/error.js';
import { IFA_F_NODAD, RT_SCOPE_UNIVERSE } from '../netlink/linux.js';
import {
  decodeAddress,
  writeDelAddress,
  writeGetAddresses,
  writeNewAddress,
  type AddressEntry,
} from '../rtnetlink/address.js';
import { decodeLink, writeGetLink, writeGetLinks, writeNewDummy, type Link } from '../rtnetlink/link.js';
import { RouteSocket } from '../rtnetlink/route.js';
import { checkInterfaceName, normalAddress, type NormalAddress } from './validate.js';

export type { AddressEntry };

/** An address of the namespace with its interface's name. */
export interface Address extends AddressEntry {
  interface: string;
}

export interface AddressInput {
  interface: string;
  address: string;
  /** 0: the full length (/32, /128). */
  prefixLength: number;
}

export interface CreateOptions {
  /** Create `interface` as a dummy interface (up) when the namespace has none of that name. */
  createInterface?: boolean;
  /** Check everything, the kernel's state too, and change nothing. */
  validateOnly?: boolean;
}

/** Every link of the namespace. */
export function listLinks(r: RouteSocket): Link[] {
  let out: Link[] = [];
  r.dump(
    'list interfaces',
    writeGetLinks,
    (b, s, e) => out.push(decodeLink(b, s, e)),
    () => {
      out = [];
    },
  );
  return out;
}

/** The link named `name`, or undefined when there is none. */
export function findLink(r: RouteSocket, name: string): Link | undefined {
  try {
    const [reply] = r.request(`find interface ${name}`, (box) => writeGetLink(box, name));
    return reply && decodeLink(reply, 0, reply.length);
  } catch (e) {
    if (e instanceof KernelError && e.errno === 'ENODEV') return undefined;
    throw e;
  }
}

/** The addresses of the namespace (of interface `index` only, when given), in the kernel's order. */
export function dumpAddresses(r: RouteSocket, index?: number): AddressEntry[] {
  let out: AddressEntry[] = [];
  r.dump(
    'list addresses',
    (box) => writeGetAddresses(box),
    (b, s, e) => {
      const a = decodeAddress(b, s, e);
      if (index === undefined || a.index === index) out.push(a);
    },
    () => {
      out = [];
    },
  );
  return out;
}

/** The link `name` must exist: ENODEV (NOT_FOUND) when it does not. */
function needLink(r: RouteSocket, op: string, name: string): Link {
  const l = findLink(r, name);
  if (!l) throw KernelError.of(op, 'ENODEV', `the namespace has no interface ${JSON.stringify(name)}`);
  return l;
}

/** The link `name`, created as a dummy interface (up) when absent. */
export function ensureDummy(r: RouteSocket, name: string): Link {
  const have = findLink(r, name);
  if (have) return have;
  try {
    r.request(`create dummy interface ${name}`, (box) => writeNewDummy(box, name));
  } catch (e) {
    // Created by someone else meanwhile: that one is used.
    if (!(e instanceof KernelError && e.errno === 'EEXIST')) throw e;
  }
  return needLink(r, `create dummy interface ${name}`, name);
}

/** A global address (RT_SCOPE_UNIVERSE): not a link-local or host one (fe80::/64, 127.0.0.1), never a VIP's. */
export const isGlobal = (a: AddressEntry) => a.scope === RT_SCOPE_UNIVERSE;

/** The request fields of an address to add: IPv6 VIPs without duplicate address detection, usable at once. */
export const targetOf = (a: NormalAddress, index: number) => ({
  ...a,
  index,
  flags: a.family === AF_INET6 ? IFA_F_NODAD : 0,
  scope: RT_SCOPE_UNIVERSE,
});

export const describeAddress = (a: NormalAddress, name: string) => `${a.address}/${a.prefixLength} on ${name}`;

/**
 * The addresses of the namespace at `netns` ('' for the server's own), each with its interface's name; of
 * interface `name` only when given (ENODEV when the namespace has none of that name).
 */
export function listAddresses(netns: string, name?: string): Address[] {
  if (name) checkInterfaceName('list addresses', name);
  return RouteSocket.with(netns, (r) => {
    const only = name ? needLink(r, 'list addresses', name) : undefined;
    const names = new Map(only ? [[only.index, only.name]] : listLinks(r).map((l) => [l.index, l.name]));
    return dumpAddresses(r, only?.index).map((a) => ({ ...a, interface: names.get(a.index) ?? '' }));
  });
}

/**
 * Adds an address to an interface: EEXIST (the kernel's) when the interface has it already, ENODEV when there is no
 * such interface and `createInterface` is not set. Returns the address as added.
 */
export function addAddress(netns: string, input: AddressInput, o: CreateOptions = {}): Address {
  const op = `add address ${input.address}`;
  checkInterfaceName(op, input.interface);
  const a = normalAddress(op, input.address, input.prefixLength);
  const what = describeAddress(a, input.interface);
  return RouteSocket.with(netns, (r) => {
    const link = o.createInterface
      ? o.validateOnly
        ? findLink(r, input.interface)
        : ensureDummy(r, input.interface)
      : needLink(r, `add address ${what}`, input.interface);
    const target = targetOf(a, link?.index ?? 0);
    if (o.validateOnly) {
      if (link && dumpAddresses(r, link.index).some((x) => clashes(x, a)))
        throw KernelError.of(`add address ${what}`, 'EEXIST', 'the interface has it already');
      return { ...target, interface: input.interface, label: '', peer: '', broadcast: '' };
    }
    r.request(`add address ${what}`, (box) => writeNewAddress(box, target));
    // As the kernel has it now (its flags: permanent; IPv4's label).
    const added = dumpAddresses(r, target.index).find((x) => clashes(x, a) && x.prefixLength === a.prefixLength);
    return { ...(added ?? { ...target, label: '', peer: '', broadcast: '' }), interface: input.interface };
  });
}

/** Whether the kernel refuses `a` because of `x` (EEXIST): IPv4 with the same prefix length, IPv6 with any. */
const clashes = (x: AddressEntry, a: NormalAddress) =>
  x.family === a.family && x.address === a.address && (a.family === AF_INET6 || x.prefixLength === a.prefixLength);

/**
 * Deletes an address from an interface: with prefix length 0 every prefix it has there. EADDRNOTAVAIL (NOT_FOUND)
 * when the interface does not have it, unless `allowMissing`; ENODEV when there is no such interface. Returns how
 * many were deleted.
 */
export function deleteAddress(netns: string, input: AddressInput, o: { allowMissing?: boolean } = {}): number {
  const op = `delete address ${input.address}`;
  checkInterfaceName(op, input.interface);
  const a = normalAddress(op, input.address, input.prefixLength);
  const any = input.prefixLength === 0;
  return RouteSocket.with(netns, (r) => {
    const link = needLink(r, op, input.interface);
    const found = dumpAddresses(r, link.index).filter(
      (x) => x.family === a.family && x.address === a.address && (any || x.prefixLength === a.prefixLength),
    );
    const what = any ? `${a.address} on ${input.interface}` : describeAddress(a, input.interface);
    if (!found.length) {
      if (o.allowMissing) return 0;
      throw KernelError.of(`delete address ${what}`, 'EADDRNOTAVAIL', `${input.interface} has no address ${what}`);
    }
    for (const x of found)
      r.request(`delete address ${describeAddress(x, input.interface)}`, (box) =>
        writeDelAddress(box, { ...x, flags: 0 }),
      );
    return found.length;
  });
}
