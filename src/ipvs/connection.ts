// One line of /proc/net/ip_vs_conn, the kernel's connection table (the only
// place it shows it): ip_vs_conn_seq_show in net/netfilter/ipvs/ip_vs_conn.c
// writes
//   "%-3s %08X %04X %08X %04X %s %04X %-11s %7u%s\n"
// protocol, client, virtual and destination address (IPv4 as 8 hex digits,
// IPv6 as %pI6: 8 groups of 4 lowercase hex digits) and port (4 hex digits),
// state, seconds to expiry, then " PENAME PEDATA" when a persistence engine
// left data. The client and virtual addresses share a family; the
// destination's may differ (a tunnel to the other family).
import { AF_INET, AF_INET6, formatAddress } from '../inet/address.js';
import { KernelError } from '../netlink/error.js';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from './constants.js';

/** An entry of the connection table. */
export interface Connection {
  /** IPPROTO number; 0 (IPPROTO_IP) for a firewall-mark service's template. */
  protocol: number;
  /** Of the client and virtual addresses. */
  addressFamily: number;
  clientAddress: string;
  clientPort: number;
  virtualAddress: string;
  virtualPort: number;
  destinationAddressFamily: number;
  destinationAddress: string;
  destinationPort: number;
  /** The kernel's name of the state (ESTABLISHED, UDP, NONE, ...). */
  state: string;
  /** Whole seconds to expiry. */
  expiresSeconds: number;
  /** A persistence template: client port 0 and state NONE or ASSURED, as the kernel writes every template. */
  template: boolean;
  /** A firewall-mark template's mark (the kernel keeps it in the virtual address); 0 otherwise. */
  fwMark: number;
  peName: string;
  peData: string;
}

/** The file's first line. */
export const CONNECTION_HEADER = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData';

/** ip_vs_proto_name's names. */
const PROTOCOL_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['IP', 0],
  ['ICMP', 1],
  ['TCP', IPPROTO_TCP],
  ['UDP', IPPROTO_UDP],
  ['ICMPv6', 58],
  ['SCTP', IPPROTO_SCTP],
]);

/** The template states (ip_vs_ctpl_state_name_table). */
const TEMPLATE_STATES = new Set(['NONE', 'ASSURED']);

const V4 = '[0-9A-F]{8}';
const V6 = '[0-9a-f]{4}(?::[0-9a-f]{4}){7}';
const PORT = '([0-9A-F]{4})';
const LINE = new RegExp(
  `^(\\S+) +(${V4}|${V6}) ${PORT} (${V4}|${V6}) ${PORT} (${V4}|${V6}) ${PORT} (\\S+) +(\\d{1,10})(?: (\\S+) (.*))?$`,
);
const scratch = new Uint8Array(16);

/** The family and canonical text of an address as the file writes it. */
function address(text: string): [number, string] {
  if (text.length === 8) {
    const n = Number.parseInt(text, 16);
    return [AF_INET, `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`];
  }
  for (let g = 0; g < 8; g++) {
    const v = Number.parseInt(text.slice(g * 5, g * 5 + 4), 16);
    scratch[g * 2] = v >> 8;
    scratch[g * 2 + 1] = v & 255;
  }
  return [AF_INET6, formatAddress(AF_INET6, scratch)];
}

function protocolNumber(name: string): number | undefined {
  const known = PROTOCOL_NUMBERS.get(name);
  if (known !== undefined) return known;
  // ip_vs_proto_name's fallback: "IP_%u".
  const m = /^IP_(\d{1,3})$/.exec(name);
  return m && Number(m[1]) < 256 ? Number(m[1]) : undefined;
}

/** The error every line that is no connection entry gets. */
export const notAnEntry = (line: string) =>
  KernelError.of(
    'read /proc/net/ip_vs_conn',
    'EPROTO',
    `not a connection entry: ${JSON.stringify(line.slice(0, 160))}`,
  );

/** An entry from its line; KernelError (EPROTO) for any line that is not one. */
export function parseConnection(line: string): Connection {
  const m = LINE.exec(line);
  const protocol = m ? protocolNumber(m[1]!) : undefined;
  const expiresSeconds = m ? Number(m[9]) : 0;
  if (!m || protocol === undefined || expiresSeconds > 0xffffffff) throw notAnEntry(line);
  const [addressFamily, clientAddress] = address(m[2]!);
  const [virtualFamily, virtualAddress] = address(m[4]!);
  if (virtualFamily !== addressFamily) throw notAnEntry(line);
  const [destinationAddressFamily, destinationAddress] = address(m[6]!);
  const clientPort = Number.parseInt(m[3]!, 16);
  const state = m[8]!;
  const template = clientPort === 0 && TEMPLATE_STATES.has(state);
  return {
    protocol,
    addressFamily,
    clientAddress,
    clientPort,
    virtualAddress,
    virtualPort: Number.parseInt(m[5]!, 16),
    destinationAddressFamily,
    destinationAddress,
    destinationPort: Number.parseInt(m[7]!, 16),
    state,
    expiresSeconds,
    template,
    fwMark: template && protocol === 0 ? Number.parseInt(m[4]!.replace(':', '').slice(0, 8), 16) : 0,
    peName: m[10] ?? '',
    peData: m[11] ?? '',
  };
}
