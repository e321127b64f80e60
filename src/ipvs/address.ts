import { isIPv4, isIPv6 } from 'node:net';
import type { AttributeEncoder } from '../netlink/attribute.js';
import { KernelError } from '../netlink/error.js';
import { AF_INET, AF_INET6 } from './constants.js';

/** The family of an address string: AF_INET, AF_INET6, or 0 if it is neither. */
export function familyOf(address: string): number {
  if (isIPv4(address)) return AF_INET;
  if (isIPv6(address) && !address.includes('%')) return AF_INET6;
  return 0;
}

/** The 4 or 16 bytes of an address already known to be valid for `family`. */
export function addressBytes(family: number, address: string): Buffer {
  if (family === AF_INET) return Buffer.from(address.split('.').map(Number));
  const out = Buffer.alloc(16);
  let text = address;
  const v4 = text.lastIndexOf('.') > 0 ? text.slice(text.lastIndexOf(':') + 1) : '';
  if (v4) text = `${text.slice(0, text.length - v4.length)}0:0`;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  h.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  t.forEach((g, i) => out.writeUInt16BE(g, 16 - (t.length - i) * 2));
  if (v4) Buffer.from(v4.split('.').map(Number)).copy(out, 12);
  return out;
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
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
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

/** Writes a valid address as an attribute, IPv4 without intermediate allocations (the bulk path). */
export function encodeAddress(e: AttributeEncoder, type: number, family: number, address: string): void {
  if (family !== AF_INET) {
    e.bytes(type, addressBytes(family, address));
    return;
  }
  e.raw(type, 4, (buf, off) => {
    let octet = 0;
    let at = off;
    for (let i = 0; i < address.length; i++) {
      const c = address.charCodeAt(i);
      if (c === 46 /* . */) {
        buf[at++] = octet;
        octet = 0;
      } else {
        octet = octet * 10 + c - 48;
      }
    }
    buf[at] = octet;
  });
}

/** "192.0.2.1:80", "[2001:db8::1]:443": an address and port as people write them. */
export function formatHostPort(p: { addressFamily: number; address: string; port: number }): string {
  return p.addressFamily === AF_INET6 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
}

/** An address attribute from the kernel (IPVS pads IPv4 to 16 bytes), read in place: `length` bytes at `at` of `buf`. */
export function decodeAddress(op: string, family: number, buf: Buffer, at: number, length: number): string {
  const need = family === AF_INET ? 4 : 16;
  if (length < need) throw KernelError.of(op, 'EBADMSG', `address of ${length} bytes for family ${family}`);
  return formatAddress(family, buf, at);
}
