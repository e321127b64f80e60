// The text of ipvsadm's list views, byte for byte as ipvsadm 1.31 prints
// them (trailing spaces of its left-aligned columns included), so that
// scripts that read `ipvsadm -Ln --stats` read `ipvsctl list --stats`:
// the default view (with --tun-info), --stats, --rate, --thresholds,
// --persistent-conn (with --exact where numbers are scaled), --timeout and
// --daemon.
import { create } from '@bufbuild/protobuf';
import {
  DaemonState,
  ForwardingMethod,
  type Config,
  type Daemon,
  type Destination,
  type Info,
  type Service,
  type ServiceWithDestinations,
  StatsSchema,
  TunnelType,
  type Stats,
} from '../client/index.js';
import { formatHostPort } from '../inet/address.js';
import { largenum } from './largenum.js';
import { serviceName, serviceOptions } from './table.js';

/** Which columns a listing shows; ipvsadm picks the first of --stats, --rate, --thresholds, --persistent-conn given. */
export type View = 'default' | 'stats' | 'rate' | 'thresholds' | 'persistent-conn';

const FWD: Record<number, string> = {
  [ForwardingMethod.MASQ_UNSPECIFIED]: 'Masq',
  [ForwardingMethod.LOCAL]: 'Local',
  [ForwardingMethod.TUNNEL]: 'Tunnel',
  [ForwardingMethod.DIRECT_ROUTE]: 'Route',
  [ForwardingMethod.BYPASS]: 'Bypass',
};

const left = (v: unknown, width: number) => String(v).padEnd(width);
const right = (v: unknown, width: number) => String(v).padStart(width);
const PROT = 'Prot LocalAddress:Port';
const REMOTE = '  -> RemoteAddress:Port';

/** How a listing looks beyond its view. */
export interface Look {
  /** Every digit of counters and rates (--exact). */
  exact: boolean;
  /** A TunnelInfo column in the default view (--tun-info); the other views have none. */
  tunInfo: boolean;
}

const TUN_TITLE = `${PROT} Scheduler Flags\n${REMOTE}           Forward TunnelInfo    Weight ActiveConn InActConn`;
const TITLES: Record<View, string> = {
  default: `${PROT} Scheduler Flags\n${REMOTE}           Forward Weight ActiveConn InActConn`,
  stats: `${left(PROT, 33)}${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((t) => ` ${right(t, 8)}`).join('')}\n${REMOTE}`,
  rate: `${left(PROT, 33)}${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((t) => ` ${right(t, 8)}`).join('')}\n${REMOTE}`,
  thresholds: `${left(PROT, 33)} ${left('Uthreshold', 10)} ${left('Lthreshold', 10)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n${REMOTE}`,
  'persistent-conn': `${left(PROT, 33)} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n${REMOTE}`,
};

const ZERO = create(StatsSchema);

const counters = (s: Stats, exact: boolean) =>
  [s.connections, s.packetsIn, s.packetsOut, s.bytesIn, s.bytesOut].map((n) => largenum(n, exact)).join('');
const rates = (s: Stats, exact: boolean) =>
  [s.cps, s.ppsIn, s.ppsOut, s.bpsIn, s.bpsOut].map((n) => largenum(n, exact)).join('');

/** "n/a", "ipip", "gue:6080:+c", "gre:-c": checksum on (+c) or off (-c), remote checksum (r+c). */
function tunnelInfo(d: Destination): string {
  if (d.forwardingMethod !== ForwardingMethod.TUNNEL) return 'n/a';
  const csum = d.tunnelFlags & 0x2 ? 'r+c' : d.tunnelFlags & 0x1 ? '+c' : '-c';
  if (d.tunnelType === TunnelType.GUE) return `gue:${d.tunnelPort}:${csum}`;
  if (d.tunnelType === TunnelType.GRE) return `gre:${csum}`;
  return 'ipip';
}

function serviceRow(s: Service, view: View, exact: boolean): string {
  const name = serviceName(s.id!);
  if (view === 'stats') return left(name, 33) + counters(s.stats ?? ZERO, exact);
  if (view === 'rate') return left(name, 33) + rates(s.stats ?? ZERO, exact);
  return `${name} ${serviceOptions(s)}`;
}

function destinationRow(d: Destination, view: View, { exact, tunInfo }: Look): string {
  const name = `  -> ${left(formatHostPort(d), 28)}`;
  const st = d.stats ?? ZERO;
  const weight = d.weight ?? 1;
  switch (view) {
    case 'stats':
      return name + counters(st, exact);
    case 'rate':
      // ipvsadm scales only the byte rates of a destination; its connection and packet rates keep every digit.
      return `${name} ${right(st.cps, 8)} ${right(st.ppsIn, 8)} ${right(st.ppsOut, 8)}${largenum(st.bpsIn, exact)}${largenum(st.bpsOut, exact)}`;
    case 'thresholds':
      return `${name} ${left(d.upperThreshold, 10)} ${left(d.lowerThreshold, 10)} ${left(d.activeConnections, 10)} ${left(d.inactiveConnections, 10)}`;
    case 'persistent-conn':
      return `${name} ${left(weight, 9)} ${left(d.persistentConnections, 11)} ${left(d.activeConnections, 10)} ${left(d.inactiveConnections, 10)}`;
    default: {
      const tunnel = tunInfo ? ` ${left(tunnelInfo(d), 13)}` : '';
      return `${name} ${left(FWD[d.forwardingMethod] ?? '?', 7)}${tunnel} ${left(weight, 6)} ${left(d.activeConnections, 10)} ${left(d.inactiveConnections, 10)}`;
    }
  }
}

/** The title and a row per service and destination, in the order given. */
export function formatView(services: readonly ServiceWithDestinations[], view: View, look: Look): string {
  const lines = [view === 'default' && look.tunInfo ? TUN_TITLE : TITLES[view]];
  for (const { service, destinations } of services) {
    if (!service?.id) continue;
    lines.push(serviceRow(service, view, look.exact));
    for (const d of destinations) lines.push(destinationRow(d, view, look));
  }
  return `${lines.join('\n')}\n`;
}

/** "IP Virtual Server version 1.2.1 (size=4096)", the line above ipvsadm's whole table. */
export function formatVersion(i: Info | undefined): string {
  return `IP Virtual Server version ${i?.version} (size=${i?.connectionTableSize})\n`;
}

/** "Timeout (tcp tcpfin udp): 900 120 300", as ipvsadm -L --timeout prints it. */
export function formatTimeout(c: Config | undefined): string {
  return `Timeout (tcp tcpfin udp): ${c?.timeoutTcp ?? 0} ${c?.timeoutTcpFin ?? 0} ${c?.timeoutUdp ?? 0}\n`;
}

/** One line per running sync daemon, master first, as ipvsadm -L --daemon prints them (what the kernel reports, and only that). */
export function formatDaemons(daemons: readonly Daemon[]): string {
  return [DaemonState.MASTER, DaemonState.BACKUP]
    .flatMap((state) => daemons.filter((d) => d.state === state))
    .map((d) => {
      let line = `${d.state === DaemonState.MASTER ? 'master' : 'backup'} sync daemon (mcast=${d.mcastInterface}, syncid=${d.syncId}`;
      if (d.syncMaxLen) line += `, maxlen=${d.syncMaxLen}`;
      if (d.mcastGroup) line += `, group=${d.mcastGroup}`;
      if (d.mcastPort) line += `, port=${d.mcastPort}`;
      if (d.mcastTtl) line += `, ttl=${d.mcastTtl}`;
      return `${line})\n`;
    })
    .join('');
}
