// Terminal views: a service as ipvsadm names it, rates with units, sparklines
// (the list views themselves are view-format.ts).
import { AddressFamily, Protocol, type Service, type ServiceId, type Stats } from '../client/index.js';
import { formatHostPort } from '../inet/address.js';
import { maskText, schedFlagsText } from './rule-format.js';

const PROT: Record<number, string> = { [Protocol.TCP]: 'TCP', [Protocol.UDP]: 'UDP', [Protocol.SCTP]: 'SCTP' };

/** "TCP  192.0.2.1:80", "FWM  7". */
export function serviceName(id: ServiceId): string {
  if (id.fwMark) return `FWM  ${id.fwMark}${id.addressFamily === AddressFamily.INET6 ? ' IPv6' : ''}`;
  return `${(PROT[id.protocol] ?? String(id.protocol)).padEnd(4)} ${formatHostPort(id)}`;
}

/** " rr (sh-fallback) persistent 60 mask 255.255.255.0 pe sip ops", as ipvsadm -Ln shows it. */
export function serviceOptions(s: Service): string {
  const parts = [s.schedName];
  const flags = schedFlagsText(s);
  if (flags) parts.push(`(${flags})`);
  if (s.flags & 0x1) {
    parts.push(`persistent ${s.timeout}`);
    const v6 = s.id?.addressFamily === AddressFamily.INET6;
    if (v6 ? s.netmask !== 128 : s.netmask >>> 0 !== 0xffffffff) parts.push(`mask ${maskText(s)}`);
    // Only with persistence, as ipvsadm -L shows it: an engine without persistence does nothing.
    if (s.peName) parts.push(`pe ${s.peName}`);
  }
  if (s.flags & 0x4) parts.push('ops');
  return parts.join(' ');
}

/** 1234567 -> "1.2M". */
export function human(n: bigint | number): string {
  let v = Number(n);
  for (const unit of ['', 'K', 'M', 'G', 'T']) {
    if (v < 1000 || unit === 'T') return unit ? `${v.toFixed(v < 10 ? 1 : 0)}${unit}` : String(Math.round(v));
    v /= 1000;
  }
  return String(v);
}

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of `values`, scaled to their own maximum: people read trends faster than numbers. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((v) => (max === 0 ? BARS[0] : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))]))
    .join('');
}

export function rateCells(s: Stats | undefined): string {
  const st = s ?? { cps: 0n, ppsIn: 0n, ppsOut: 0n, bpsIn: 0n, bpsOut: 0n, connections: 0n };
  return [human(st.connections), human(st.cps), human(st.ppsIn), human(st.ppsOut), human(st.bpsIn), human(st.bpsOut)]
    .map((c) => c.padStart(7))
    .join(' ');
}
