// What an address request must be before anything reaches the kernel: an
// interface name the kernel would take, an IP address, a prefix length in
// its family's range. A refusal names the field as the API does.
import { AF_INET6, canonicalAddress, familyOf } from '../inet/address.js';
import { errnoNumber } from '../netlink/errno.js';
import { KernelError } from '../netlink/error.js';
import { IFNAMSIZ } from '../netlink/linux.js';

/** A refused field of an address request (EINVAL: INVALID_ARGUMENT), nothing sent. */
export class AddressError extends KernelError {
  constructor(
    op: string,
    /** The refused field, as the API names it ("address", "prefix_length", "interface"). */
    readonly field: string,
    readonly reason: string,
  ) {
    super(op, errnoNumber('EINVAL'), `${field}: ${reason}`);
  }
}

/** An address with its family settled and its text canonical. */
export interface NormalAddress {
  family: number;
  address: string;
  prefixLength: number;
}

/** The longest prefix of a family: a VIP's default. */
export const fullLength = (family: number) => (family === AF_INET6 ? 128 : 32);

/**
 * An interface name as the kernel's dev_valid_name takes it: 1 to 15 bytes, not "." or "..", no "/", ":" or white
 * space (":" is IPv4 alias syntax, not a device).
 */
export function checkInterfaceName(op: string, name: string, field = 'interface'): void {
  const bytes = Buffer.byteLength(name);
  let why = '';
  if (!name) why = 'is required';
  else if (bytes >= IFNAMSIZ) why = `${JSON.stringify(name)} is ${bytes} bytes, more than ${IFNAMSIZ - 1}`;
  else if (name === '.' || name === '..' || /[/:\s]/.test(name))
    why = `${JSON.stringify(name)} is not an interface name (no "/", ":" or white space; not "." or "..")`;
  if (why) throw new AddressError(op, field, why);
}

/** An address and prefix length (0: the full length, /32 or /128) checked. */
export function normalAddress(op: string, address: string, prefixLength: number): NormalAddress {
  const family = familyOf(address);
  if (!family) throw new AddressError(op, 'address', `${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  const max = fullLength(family);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max)
    throw new AddressError(op, 'prefix_length', `${prefixLength} is not 0..${max} (0: ${max})`);
  return { family, address: canonicalAddress(family, address), prefixLength: prefixLength || max };
}
