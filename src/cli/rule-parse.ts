// Reading ipvsadm's rule language (what `ipvsadm -S -n` writes and
// `ipvsadm -R` reads) into API operations, so that rule files and ipvsadm
// habits carry over. The flag tables are the language's words both ways:
// rule-format.ts writes them back.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AddressFamily,
  BatchOperationSchema,
  ForwardingMethod,
  Protocol,
  TunnelType,
  type BatchOperation,
} from '../client/index.js';

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
export const PERSISTENT = 0x1;
export const ONE_PACKET = 0x4;
const DEFAULT_PERSISTENCE = 360;
export const TUNNEL_TYPES: Record<string, TunnelType> = {
  ipip: TunnelType.IPIP_UNSPECIFIED,
  gue: TunnelType.GUE,
  gre: TunnelType.GRE,
};
export const CSUM: Record<string, number> = { '--tun-nocsum': 0, '--tun-csum': 1, '--tun-remcsum': 2 };

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
