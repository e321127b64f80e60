// `ipvsctl list -c`: the connection table exactly as `ipvsadm -Lnc` prints
// it (ipvsadm.c's list_conn and print_conn): two header lines, then a line
// per entry in the kernel's order, with the expiry as mm:ss. Written a page
// at a time, as the pages come.
import type { Connection, IpvsClient } from '../client/index.js';
import { formatHostPort } from '../inet/address.js';

/** ip_vs_proto_name's names, which ipvsadm prints as the kernel wrote them. */
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'IP'],
  [1, 'ICMP'],
  [6, 'TCP'],
  [17, 'UDP'],
  [58, 'ICMPv6'],
  [132, 'SCTP'],
]);

const pad = (s: string, n: number) => s.padEnd(n);
const two = (n: number) => String(n).padStart(2, '0');

export const CONNECTION_HEADER_LINES = `IPVS connection entries\npro expire ${pad('state', 11)} ${pad('source', 18)} ${pad('virtual', 18)} destination\n`;

/** One entry's line, with its newline: ipvsadm's "%-3s %-6s %-11s %-18s %-18s %s\n". */
export function formatConnection(c: Connection): string {
  const protocol = PROTOCOL_NAMES.get(c.protocol) ?? `IP_${c.protocol}`;
  const expire = `${two(Math.floor(c.expiresSeconds / 60))}:${two(c.expiresSeconds % 60)}`;
  const at = (addressFamily: number, address: string, port: number) => formatHostPort({ addressFamily, address, port });
  return `${pad(protocol, 3)} ${pad(expire, 6)} ${pad(c.state, 11)} ${pad(at(c.addressFamily, c.clientAddress, c.clientPort), 18)} ${pad(at(c.addressFamily, c.virtualAddress, c.virtualPort), 18)} ${at(c.destinationAddressFamily, c.destinationAddress, c.destinationPort)}\n`;
}

/** Prints the namespace's connection table as ipvsadm -Lnc does, a page at a time. */
export async function printConnections(c: IpvsClient, namespace: string, write: (text: string) => void): Promise<void> {
  write(CONNECTION_HEADER_LINES);
  let pageToken = '';
  do {
    const page = await c.listConnections({ namespace, pageToken });
    write(page.connections.map(formatConnection).join(''));
    pageToken = page.nextPageToken;
  } while (pageToken);
}
