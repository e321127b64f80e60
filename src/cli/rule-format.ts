// Writing API models in ipvsadm's rule language, exactly as `ipvsadm -S -n`
// writes it and in its order, so that `ipvsctl save` is ipvsadm's output
// and the listing reads like ipvsadm -Ln.
import {
  AddressFamily,
  ForwardingMethod,
  Protocol,
  TunnelType,
  type Destination,
  type Service,
  type ServiceId,
} from '../client/index.js';
import { addressBytes, formatHostPort } from '../inet/address.js';
import { CSUM, ONE_PACKET, PERSISTENT, TUNNEL_TYPES } from './rule-parse.js';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

const addrOf = (family: AddressFamily, address: string) =>
  address ? addressBytes(family, address) : new Uint8Array(0);

/** ipvsadm's listing order: firewall mark, family, protocol, address, port. */
export function compareServices(a: ServiceId, b: ServiceId): number {
  return (
    a.fwMark - b.fwMark ||
    a.addressFamily - b.addressFamily ||
    a.protocol - b.protocol ||
    compareBytes(addrOf(a.addressFamily, a.address), addrOf(b.addressFamily, b.address)) ||
    a.port - b.port
  );
}

/** ipvsadm's destination order: family, address, port. */
export function compareDestinations(a: Destination, b: Destination): number {
  return (
    a.addressFamily - b.addressFamily ||
    compareBytes(addrOf(a.addressFamily, a.address), addrOf(b.addressFamily, b.address)) ||
    a.port - b.port
  );
}

/** Services and their destinations in ipvsadm's order. */
export function sortLikeIpvsadm<T extends { service?: Service; destinations: Destination[] }>(list: readonly T[]): T[] {
  return [...list]
    .sort((x, y) => compareServices(x.service!.id!, y.service!.id!))
    .map((s) => ({ ...s, destinations: [...s.destinations].sort(compareDestinations) }));
}

/** "-t 192.0.2.1:80", "--sctp-service [2001:db8::1]:9", "-f 7 -6". */
export function serviceSpec(id: ServiceId): string {
  if (id.fwMark) return `-f ${id.fwMark}${id.addressFamily === AddressFamily.INET6 ? ' -6' : ''}`;
  const flag =
    { [Protocol.TCP]: '-t', [Protocol.UDP]: '-u', [Protocol.SCTP]: '--sctp-service' }[id.protocol as number] ??
    `-?${id.protocol}`;
  return `${flag} ${formatHostPort(id)}`;
}

export function maskText(s: Service): string {
  const v6 = s.id?.addressFamily === AddressFamily.INET6;
  if (v6) return String(s.netmask);
  const n = s.netmask >>> 0;
  return [24, 16, 8, 0].map((b) => (n >>> b) & 255).join('.');
}

/** The scheduler flags as ipvsadm names them ("sh-fallback,sh-port"). */
export function schedFlagsText(s: Service): string {
  const prefix = s.schedName === 'sh' || s.schedName === 'mh' ? s.schedName : 'flag';
  const names = prefix === 'flag' ? ['flag-1', 'flag-2', 'flag-3'] : [`${prefix}-fallback`, `${prefix}-port`, 'flag-3'];
  return [0x8, 0x10, 0x20].flatMap((bit, i) => (s.flags & bit ? [names[i]!] : [])).join(',');
}

export function formatService(s: Service): string {
  const parts = [`-A ${serviceSpec(s.id!)} -s ${s.schedName}`];
  if (s.flags & PERSISTENT) {
    parts.push(`-p ${s.timeout}`);
    const v6 = s.id?.addressFamily === AddressFamily.INET6;
    if (v6 ? s.netmask !== 128 : s.netmask >>> 0 !== 0xffffffff) parts.push(`-M ${maskText(s)}`);
  }
  if (s.peName) parts.push(`--pe ${s.peName}`);
  if (s.flags & ONE_PACKET) parts.push('-o');
  const flags = schedFlagsText(s);
  if (flags) parts.push(`-b ${flags}`);
  return parts.join(' ');
}

const FWD_SWITCH: Partial<Record<ForwardingMethod, string>> = {
  [ForwardingMethod.MASQ_UNSPECIFIED]: '-m',
  [ForwardingMethod.DIRECT_ROUTE]: '-g',
  [ForwardingMethod.TUNNEL]: '-i',
};

export function formatDestination(id: ServiceId, d: Destination): string {
  const fwd = FWD_SWITCH[d.forwardingMethod];
  if (!fwd)
    throw new Error(
      `destination ${d.address}: forwarding method ${ForwardingMethod[d.forwardingMethod]} has no ipvsadm rule form`,
    );
  const parts = [`-a ${serviceSpec(id)} -r ${formatHostPort(d)} ${fwd} -w ${d.weight ?? 1}`];
  if (d.forwardingMethod === ForwardingMethod.TUNNEL) {
    const type = Object.entries(TUNNEL_TYPES).find(([, v]) => v === d.tunnelType)?.[0] ?? String(d.tunnelType);
    parts.push(`--tun-type ${type}`);
    if (d.tunnelType === TunnelType.GUE) parts.push(`--tun-port ${d.tunnelPort}`);
    if (d.tunnelType !== TunnelType.IPIP_UNSPECIFIED)
      parts.push(Object.entries(CSUM).find(([, v]) => v === d.tunnelFlags)?.[0] ?? '');
  }
  return parts.filter(Boolean).join(' ');
}
