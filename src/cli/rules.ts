// ipvsadm's rule language (what `ipvsadm -S -n` writes and `ipvsadm -R`
// reads), both ways: parsed into API operations, and written from API
// models exactly as ipvsadm writes them, so rule files move over unchanged.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AddressFamily,
  BatchOperationSchema,
  ForwardingMethod,
  Protocol,
  TunnelType,
  type BatchOperation,
  type Destination,
  type Service,
  type ServiceId,
} from '../client/index.js';
import { addressBytes, formatHostPort } from '../inet/address.js';

/** One rule line, parsed. */
export type Rule =
  | { kind: 'batch'; op: BatchOperation; line: number }
  | { kind: 'flush'; line: number }
  | { kind: 'zero'; service?: ServiceIdInit; line: number };

type ServiceIdInit = {
  addressFamily?: AddressFamily;
  protocol?: Protocol;
  address?: string;
  port?: number;
  fwMark?: number;
};

export class RuleError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const SVC_FLAGS: Record<string, number> = {
  'sh-fallback': 0x8,
  'sh-port': 0x10,
  'mh-fallback': 0x8,
  'mh-port': 0x10,
  'flag-1': 0x8,
  'flag-2': 0x10,
  'flag-3': 0x20,
};
const PERSISTENT = 0x1;
const ONE_PACKET = 0x4;
const DEFAULT_PERSISTENCE = 360;
const TUNNEL_TYPES: Record<string, TunnelType> = {
  ipip: TunnelType.IPIP_UNSPECIFIED,
  gue: TunnelType.GUE,
  gre: TunnelType.GRE,
};
const CSUM: Record<string, number> = { '--tun-nocsum': 0, '--tun-csum': 1, '--tun-remcsum': 2 };

/** "192.0.2.1:80", "[2001:db8::1]:443", "192.0.2.1" (port optional where allowed). */
export function parseHostPort(
  s: string,
  portRequired: boolean,
): { address: string; port?: number; family: AddressFamily } {
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(s) ?? /^([0-9.]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new Error(`${JSON.stringify(s)} is not ADDRESS:PORT (numeric; IPv6 in brackets)`);
  if (portRequired && m[2] === undefined) throw new Error(`${JSON.stringify(s)} needs a port`);
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) throw new Error(`port ${port} is out of range`);
  return { address: m[1]!, port, family: m[1]!.includes(':') ? AddressFamily.INET6 : AddressFamily.INET };
}

function uint(v: string | undefined, what: string, max = 0xffffffff): number {
  if (v === undefined || !/^\d+$/.test(v) || Number(v) > max)
    throw new Error(`${what} needs a number in 0..${max}, not ${JSON.stringify(v)}`);
  return Number(v);
}

/** IPv4 persistence mask "255.255.255.0" as a uint32, or an IPv6 prefix length. */
function netmask(v: string | undefined, family: AddressFamily): number {
  if (family === AddressFamily.INET6) return uint(v, '-M (IPv6 prefix length)', 128);
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(v ?? '');
  if (!m || m.slice(1).some((o) => Number(o) > 255))
    throw new Error(`-M needs a dotted IPv4 mask, not ${JSON.stringify(v)}`);
  return m.slice(1).reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Parses one rule, given as ipvsadm's arguments (no leading "ipvsadm"). */
export function parseRuleArgs(args: readonly string[], line = 0): Rule | undefined {
  if (!args.length) return undefined;
  let command: string | undefined;
  let id: ServiceIdInit | undefined;
  let ipv6 = false;
  const svc: { schedName?: string; flags: number; timeout?: number; netmask?: string; peName?: string } = { flags: 0 };
  let real: { address: string; port?: number; family: AddressFamily } | undefined;
  const dest: {
    weight?: number;
    forwardingMethod?: ForwardingMethod;
    upperThreshold?: number;
    lowerThreshold?: number;
    tunnelType?: TunnelType;
    tunnelPort?: number;
    tunnelFlags?: number;
  } = {};
  const commands: Record<string, string> = {
    '-A': 'A',
    '--add-service': 'A',
    '-E': 'E',
    '--edit-service': 'E',
    '-D': 'D',
    '--delete-service': 'D',
    '-a': 'a',
    '--add-server': 'a',
    '-e': 'e',
    '--edit-server': 'e',
    '-d': 'd',
    '--delete-server': 'd',
    '-C': 'C',
    '--clear': 'C',
    '-Z': 'Z',
    '--zero': 'Z',
  };
  const service = (protocol: Protocol, v: string | undefined) => {
    const hp = parseHostPort(v ?? '', true);
    id = { addressFamily: hp.family, protocol, address: hp.address, port: hp.port! };
  };
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const next = () => {
        if (i + 1 >= args.length) throw new Error(`${a} needs a value`);
        return args[++i]!;
      };
      if (commands[a]) {
        if (command) throw new Error(`two commands: ${a} after -${command}`);
        command = commands[a];
        continue;
      }
      switch (a) {
        case '-t':
        case '--tcp-service':
          service(Protocol.TCP, next());
          break;
        case '-u':
        case '--udp-service':
          service(Protocol.UDP, next());
          break;
        case '--sctp-service':
          service(Protocol.SCTP, next());
          break;
        case '-f':
        case '--fwmark-service':
          id = { fwMark: uint(next(), '-f', 0xffffffff) };
          break;
        case '-6':
        case '--ipv6':
          ipv6 = true;
          break;
        case '-s':
        case '--scheduler':
          svc.schedName = next();
          break;
        case '-p':
        case '--persistent':
          svc.flags |= PERSISTENT;
          if (/^\d+$/.test(args[i + 1] ?? '')) svc.timeout = uint(next(), '-p');
          break;
        case '-M':
        case '--netmask':
          svc.netmask = next();
          break;
        case '--pe':
          svc.peName = next();
          break;
        case '-o':
        case '--ops':
          svc.flags |= ONE_PACKET;
          break;
        case '-b':
        case '--sched-flags':
          for (const f of next().split(',')) {
            if (!(f in SVC_FLAGS)) throw new Error(`unknown scheduler flag ${JSON.stringify(f)}`);
            svc.flags |= SVC_FLAGS[f]!;
          }
          break;
        case '-r':
        case '--real-server':
          real = parseHostPort(next(), false);
          break;
        case '-g':
        case '--gatewaying':
          dest.forwardingMethod = ForwardingMethod.DIRECT_ROUTE;
          break;
        case '-i':
        case '--ipip':
          dest.forwardingMethod = ForwardingMethod.TUNNEL;
          break;
        case '-m':
        case '--masquerading':
          dest.forwardingMethod = ForwardingMethod.MASQ_UNSPECIFIED;
          break;
        case '-w':
        case '--weight':
          dest.weight = uint(next(), '-w', 0x7fffffff);
          break;
        case '-x':
        case '--u-threshold':
          dest.upperThreshold = uint(next(), '-x');
          break;
        case '-y':
        case '--l-threshold':
          dest.lowerThreshold = uint(next(), '-y');
          break;
        case '--tun-type': {
          const t = next();
          if (!(t in TUNNEL_TYPES)) throw new Error(`unknown tunnel type ${JSON.stringify(t)} (ipip, gue, gre)`);
          dest.tunnelType = TUNNEL_TYPES[t];
          break;
        }
        case '--tun-port':
          dest.tunnelPort = uint(next(), '--tun-port', 0xffff);
          break;
        case '--tun-nocsum':
        case '--tun-csum':
        case '--tun-remcsum':
          dest.tunnelFlags = CSUM[a];
          break;
        default:
          throw new Error(`unknown option ${JSON.stringify(a)}`);
      }
    }
    if (!command) throw new Error('no command (-A -E -D -a -e -d -C -Z)');
    if (command === 'C') return { kind: 'flush', line };
    if (command === 'Z') return { kind: 'zero', service: id, line };
    if (!id) throw new Error('no service (-t, -u, --sctp-service or -f)');
    if (id.fwMark !== undefined) id.addressFamily = ipv6 ? AddressFamily.INET6 : AddressFamily.INET;
    const family = id.addressFamily!;
    const sid = id;
    let op: MessageInitShape<typeof BatchOperationSchema>['operation'];
    if (command === 'A' || command === 'E') {
      const flags = svc.flags;
      const value = {
        id: sid,
        schedName: svc.schedName ?? '',
        flags,
        timeout: flags & PERSISTENT ? (svc.timeout ?? DEFAULT_PERSISTENCE) : 0,
        netmask: svc.netmask === undefined ? 0 : netmask(svc.netmask, family),
        peName: svc.peName ?? '',
      };
      op = { case: command === 'A' ? 'createService' : 'updateService', value };
    } else if (command === 'D') {
      op = { case: 'deleteService', value: sid };
    } else {
      if (!real) throw new Error('no real server (-r)');
      const value = {
        service: sid,
        destination: { addressFamily: real.family, address: real.address, port: real.port ?? 0, ...dest },
      };
      op = {
        case: command === 'a' ? 'createDestination' : command === 'e' ? 'updateDestination' : 'deleteDestination',
        value,
      };
    }
    return { kind: 'batch', op: create(BatchOperationSchema, { operation: op }), line };
  } catch (e) {
    throw new RuleError(line, (e as Error).message);
  }
}

/** Parses a whole `ipvsadm -S` file; blank lines and # comments are skipped. The first error throws. */
export function parseRules(text: string): Rule[] {
  const out: Rule[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.replace(/#.*/, '').trim();
    if (!l) return;
    const args = l.split(/\s+/);
    if (args[0] === 'ipvsadm') args.shift();
    const r = parseRuleArgs(args, i + 1);
    if (r) out.push(r);
  });
  return out;
}

// ---- writing, as `ipvsadm -S -n` does ----

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
