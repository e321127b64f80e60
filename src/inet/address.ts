// IP addresses as text and as bytes, for every layer: the kernel library
// writes them into requests, the CLI prints them. It knows nothing else.
import { isIPv4, isIPv6 } from 'node:net';

/** Address families (linux/socket.h), as moby/ipvs reports them (syscall.AF_INET, AF_INET6). */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** The family of an address string: AF_INET, AF_INET6, or 0 if it is neither. */
export function familyOf(address: string): number {
  if (isIPv4(address)) return AF_INET;
  if (isIPv6(address) && !address.includes('%')) return AF_INET6;
  return 0;
}

/** The 4 or 16 bytes of an address already known to be valid for `family`. */
export function addressBytes(family: number, address: string): Buffer {
  const out = Buffer.alloc(family === AF_INET ? 4 : 16);
  writeAddress(out, 0, family, address);
  return out;
}

/** Writes a dotted quad (the text from `from` on) as 4 bytes at `at`. */
function writeIPv4(buf: Uint8Array, at: number, text: string, from: number): void {
  let octet = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      buf[at++] = octet;
      octet = 0;
    } else {
      octet = octet * 10 + c - 48;
    }
  }
  buf[at] = octet;
}

/**
 * Writes the bytes of an address already known to be valid for `family`
 * (any spelling) at `at` of `buf`, allocating nothing: a batch writes
 * thousands.
 */
export function writeAddress(buf: Uint8Array, at: number, family: number, address: string): void {
  if (family === AF_INET) {
    writeIPv4(buf, at, address, 0);
    return;
  }
  let groups = 0;
  let gap = -1; // where "::" stands, in groups
  let value = 0;
  let digits = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 58 /* : */) {
      if (digits) {
        buf[at + groups * 2] = value >> 8;
        buf[at + groups * 2 + 1] = value & 0xff;
        groups++;
        value = 0;
        digits = 0;
      }
      if (address.charCodeAt(i + 1) === 58) {
        gap = groups;
        i++;
      }
    } else if (c === 46 /* . */) {
      // A dotted quad ends the address: it fills the last two groups, from the start of its text.
      let from = i;
      while (address.charCodeAt(from - 1) !== 58) from--;
      writeIPv4(buf, at + groups * 2, address, from);
      groups += 2;
      digits = 0;
      break;
    } else {
      value = value * 16 + (c <= 57 ? c - 48 : (c | 32) - 87);
      digits++;
    }
  }
  if (digits) {
    buf[at + groups * 2] = value >> 8;
    buf[at + groups * 2 + 1] = value & 0xff;
    groups++;
  }
  if (gap >= 0) {
    // The groups after "::" move to the end; zeros take their place.
    const tail = groups - gap;
    buf.copyWithin(at + 16 - tail * 2, at + gap * 2, at + groups * 2);
    buf.fill(0, at + gap * 2, at + 16 - tail * 2);
  }
}

/** The canonical text of an address (RFC 5952 for IPv6) from its bytes, at `at` of `bytes`. */
export function formatAddress(family: number, bytes: Uint8Array, at = 0): string {
  if (family === AF_INET) return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
  const g: number[] = [];
  for (let i = at; i < at + 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  // The longest run of two or more zero groups becomes "::" (the first, on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Canonical form of a valid address string of `family`. */
export function canonicalAddress(family: number, address: string): string {
  // node:net's isIPv4 accepts only canonical dotted quads (no leading zeros).
  if (family === AF_INET) return address;
  return formatAddress(family, addressBytes(family, address));
}

/** "192.0.2.1:80", "[2001:db8::1]:443": an address and port as people write them. */
export function formatHostPort(p: { addressFamily: number; address: string; port: number }): string {
  return p.addressFamily === AF_INET6 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
}
