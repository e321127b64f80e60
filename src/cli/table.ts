// Terminal views: the ipvsadm-like listing, rates with units, sparklines.
import {
  AddressFamily,
  ForwardingMethod,
  Protocol,
  type Destination,
  type Service,
  type ServiceId,
  type Stats,
} from '../client/index.js';
import { formatHostPort } from '../inet/address.js';
import { maskText, schedFlagsText } from './rule-format.js';

const PROT: Record<number, string> = { [Protocol.TCP]: 'TCP', [Protocol.UDP]: 'UDP', [Protocol.SCTP]: 'SCTP' };
const FWD: Record<number, string> = {
  [ForwardingMethod.MASQ_UNSPECIFIED]: 'Masq',
  [ForwardingMethod.LOCAL]: 'Local',
  [ForwardingMethod.TUNNEL]: 'Tunnel',
  [ForwardingMethod.DIRECT_ROUTE]: 'Route',
  [ForwardingMethod.BYPASS]: 'Bypass',
};

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
  }
  if (s.peName) parts.push(`pe ${s.peName}`);
  if (s.flags & 0x4) parts.push('ops');
  return parts.join(' ');
}

export function listTable(services: { service?: Service; destinations: Destination[] }[]): string {
  const lines = [
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const { service: s, destinations } of services) {
    if (!s?.id) continue;
    lines.push(`${serviceName(s.id)} ${serviceOptions(s)}`);
    for (const d of destinations) {
      lines.push(
        `  -> ${formatHostPort(d).padEnd(28)} ${(FWD[d.forwardingMethod] ?? '?').padEnd(7)} ${String(d.weight ?? 1).padEnd(6)} ${String(d.activeConnections).padEnd(10)} ${d.inactiveConnections}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
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
