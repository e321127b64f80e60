// Addresses printed as `ip -o addr` prints them, up to its lifetimes (which
// ListAddresses does not carry): "2: ipvs0    inet 192.0.2.10/32 scope global ipvs0".
import type { Address } from '../client/index.js';

const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

// iproute2's order (ip/ipaddress.c): IFA_F_* bits and their names; "permanent" is shown as the lack of "dynamic".
const FLAGS: [number, string, string?][] = [
  [0x01, 'secondary', 'temporary'],
  [0x02, 'nodad'],
  [0x04, 'optimistic'],
  [0x08, 'dadfailed'],
  [0x10, 'home'],
  [0x20, 'deprecated'],
  [0x40, 'tentative'],
  [0x100, 'mngtmpaddr'],
  [0x200, 'noprefixroute'],
  [0x400, 'autojoin'],
  [0x800, 'stable-privacy'],
];
const PERMANENT = 0x80;
const INET6 = 10;

function flagNames(a: Address): string[] {
  const out = a.flags & PERMANENT ? [] : ['dynamic'];
  for (const [bit, name, v6] of FLAGS) if (a.flags & bit) out.push(a.addressFamily === INET6 && v6 ? v6 : name);
  return out;
}

/** One line per address. */
export function formatAddress(a: Address): string {
  const family = a.addressFamily === INET6 ? 'inet6' : 'inet';
  const local = a.peer ? `${a.address} peer ${a.peer}/${a.prefixLength}` : `${a.address}/${a.prefixLength}`;
  const words = [family, local];
  if (a.broadcast) words.push('brd', a.broadcast);
  words.push('scope', SCOPES[a.scope] ?? String(a.scope), ...flagNames(a));
  if (a.label) words.push(a.label);
  return `${a.interfaceIndex}: ${a.interface}    ${words.join(' ')}`;
}

export const formatAddresses = (rows: readonly Address[]) => rows.map((a) => `${formatAddress(a)}\n`).join('');
