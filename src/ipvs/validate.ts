import { errnoNumber } from '../netlink/errno.js';
import { KernelError } from '../netlink/error.js';
import { canonicalAddress, familyOf, formatHostPort } from '../inet/address.js';
import {
  AF_INET,
  AF_INET6,
  ConnFwdTunnel,
  DaemonStateBackup,
  DaemonStateMaster,
  DEFAULT_SCHEDULER,
  FORWARDING_METHODS,
  MAX_WEIGHT,
  NAME_MAXLEN,
  PERSISTENCE_ENGINES,
  PROTOCOLS,
  SCHEDULERS,
  SVC_USER_FLAGS,
  SvcFlagHashed,
  SvcFlagPersistent,
  TunnelFlagCsum,
  TunnelFlagRemCsum,
  TunnelTypeGue,
  TUNNEL_TYPES,
} from './constants.js';
import type { DaemonInput, Destination, DestinationInput, Service, ServiceId, ServiceInput } from './model.js';

/** What a refused field belongs to. */
export type Subject = 'service' | 'destination' | 'daemon' | 'config' | 'batch' | 'sysctl';

/** A model refused before anything reached the kernel: EINVAL, naming the field. */
export class ValidationError extends KernelError {
  constructor(
    op: string,
    /** The refused field, as the model names it (e.g. "port"). */
    readonly field: string,
    readonly reason: string,
    /** Whose field it is: a service's "port" is not a destination's. */
    readonly subject: Subject,
    index?: number,
    cause?: KernelError,
  ) {
    super(op, errnoNumber('EINVAL'), `${subject === 'batch' ? '' : `${subject} `}${field}: ${reason}`, index, cause);
  }

  override within(op: string, index?: number): ValidationError {
    return new ValidationError(op, this.field, this.reason, this.subject, index, this);
  }
}

/** A service identity with every field settled. */
export type NormalServiceId = Required<ServiceId>;

/** A service to create or update, every option settled: a Service without its counters. */
export type NormalService = Omit<Service, 'stats'>;

/** A destination to create or update, every option settled: a Destination without what the kernel counts. */
export type NormalDestination = Omit<
  Destination,
  'activeConnections' | 'inactiveConnections' | 'persistentConnections' | 'stats'
>;

const isUint = (v: unknown, max: number): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const U32 = 0xffffffff;

/**
 * Checks fields for one operation; one instance serves every call (validation never re-enters, and a batch checks
 * thousands).
 */
class Check {
  op = '';
  subject: Subject = 'service';
  for(op: string, subject: Subject): this {
    this.op = op;
    this.subject = subject;
    return this;
  }
  fail(field: string, reason: string): never {
    throw new ValidationError(this.op, field, reason, this.subject);
  }
  uint(field: string, v: unknown, max: number, fallback: number): number {
    if (v === undefined) return fallback;
    if (!isUint(v, max)) this.fail(field, `${String(v)} is not an integer in 0..${max}`);
    return v;
  }
  name(field: string, v: unknown, allowed: readonly string[], fallback: string): string {
    if (v === undefined || v === '') return fallback;
    if (typeof v !== 'string' || !allowed.includes(v)) {
      this.fail(field, `${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
    }
    return v;
  }
  address(field: string, family: number, v: unknown): string {
    if (typeof v !== 'string' || !v) this.fail(field, 'an IP address is required');
    const f = familyOf(v);
    if (!f) this.fail(field, `${JSON.stringify(v)} is not an IP address`);
    if (f !== family) this.fail(field, `${v} is not an ${family === AF_INET ? 'IPv4' : 'IPv6'} address`);
    return canonicalAddress(f, v);
  }
  family(field: string, v: unknown, fallback: number): number {
    if (v === undefined || v === 0) return fallback;
    if (v !== AF_INET && v !== AF_INET6) this.fail(field, `${String(v)} is not AF_INET (2) or AF_INET6 (10)`);
    return v;
  }
}

const check = new Check();

/** A fresh NormalServiceId or NormalService to fill; the field order is the same everywhere, so V8 sees one shape. */
export const blankService = (): NormalService => ({
  addressFamily: 0,
  protocol: 0,
  address: '',
  port: 0,
  fwMark: 0,
  schedName: '',
  flags: 0,
  timeout: 0,
  netmask: 0,
  peName: '',
});
export const blankDestination = (): NormalDestination => ({
  addressFamily: 0,
  address: '',
  port: 0,
  weight: 0,
  connectionFlags: 0,
  upperThreshold: 0,
  lowerThreshold: 0,
  tunnelType: 0,
  tunnelPort: 0,
  tunnelFlags: 0,
});

/**
 * The identity of `s`, settled and checked. `out` (which it returns) may be
 * an object to reuse: a batch fills one for every item.
 */
export function normalServiceId(s: ServiceId, op: string, out: NormalServiceId = blankService()): NormalServiceId {
  const c = check.for(op, 'service');
  if (typeof s !== 'object' || s === null) c.fail('service', 'is required');
  const fwMark = c.uint('fwMark', s.fwMark, U32, 0);
  if (fwMark) {
    if (s.address) c.fail('address', 'must be empty for a firewall-mark service');
    if (s.port) c.fail('port', 'must be 0 for a firewall-mark service');
    if (s.protocol) c.fail('protocol', 'must be 0 for a firewall-mark service');
    out.addressFamily = c.family('addressFamily', s.addressFamily, AF_INET);
    out.protocol = 0;
    out.address = '';
    out.port = 0;
    out.fwMark = fwMark;
    return out;
  }
  if (!PROTOCOLS.has(s.protocol as number)) {
    c.fail('protocol', `${String(s.protocol)} is not tcp (6), udp (17) or sctp (132); or give fwMark`);
  }
  const inferred = typeof s.address === 'string' ? familyOf(s.address) : 0;
  const family = c.family('addressFamily', s.addressFamily, inferred || AF_INET);
  const address = c.address('address', family, s.address);
  out.port = c.uint('port', s.port, 0xffff, 0);
  out.addressFamily = family;
  out.protocol = s.protocol as number;
  out.address = address;
  out.fwMark = 0;
  return out;
}

/** `s` settled and checked, every option given its default; into `out` (returned), which may be reused. */
export function normalService(s: ServiceInput, op: string, out: NormalService = blankService()): NormalService {
  const id = normalServiceId(s, op, out);
  const c = check.for(op, 'service');
  const flags = c.uint('flags', s.flags, U32, 0) & ~SvcFlagHashed;
  if (flags & ~SVC_USER_FLAGS) c.fail('flags', `unknown bits 0x${(flags & ~SVC_USER_FLAGS).toString(16)}`);
  const v6 = id.addressFamily === AF_INET6;
  const netmask = c.uint('netmask', s.netmask, v6 ? 128 : U32, v6 ? 128 : U32);
  if (v6 && netmask < 1) c.fail('netmask', 'an IPv6 prefix length must be 1..128');
  out.schedName = c.name('schedName', s.schedName, SCHEDULERS, DEFAULT_SCHEDULER);
  out.flags = flags;
  out.timeout = c.uint('timeout', s.timeout, U32, flags & SvcFlagPersistent ? 360 : 0);
  out.netmask = netmask;
  out.peName = c.name('peName', s.peName, PERSISTENCE_ENGINES, '');
  return out;
}

/** `d`, a destination of `svc`, settled and checked; into `out` (returned), which may be reused. */
export function normalDestination(
  svc: NormalServiceId,
  d: DestinationInput,
  op: string,
  out: NormalDestination = blankDestination(),
): NormalDestination {
  const c = check.for(op, 'destination');
  if (typeof d !== 'object' || d === null) c.fail('destination', 'is required');
  const inferred = typeof d.address === 'string' ? familyOf(d.address) : 0;
  const family = c.family('addressFamily', d.addressFamily, inferred || svc.addressFamily);
  const connectionFlags = c.uint('connectionFlags', d.connectionFlags, U32, 0);
  if (!FORWARDING_METHODS.has(connectionFlags)) {
    c.fail(
      'connectionFlags',
      `${connectionFlags} is not a forwarding method (0 masq, 1 local, 2 tunnel, 3 droute, 4 bypass)`,
    );
  }
  if (family !== svc.addressFamily && connectionFlags !== ConnFwdTunnel) {
    c.fail('addressFamily', 'a destination of another family than its service needs tunnel forwarding');
  }
  const upperThreshold = c.uint('upperThreshold', d.upperThreshold, U32, 0);
  const lowerThreshold = c.uint('lowerThreshold', d.lowerThreshold, U32, 0);
  if (lowerThreshold > upperThreshold)
    c.fail('lowerThreshold', `${lowerThreshold} is above upperThreshold ${upperThreshold}`);
  const tunnelType = c.uint('tunnelType', d.tunnelType, 0xff, 0);
  if (!TUNNEL_TYPES.has(tunnelType)) c.fail('tunnelType', `${tunnelType} is not ipip (0), gue (1) or gre (2)`);
  const tunnelPort = c.uint('tunnelPort', d.tunnelPort, 0xffff, 0);
  if (tunnelType === TunnelTypeGue && connectionFlags === ConnFwdTunnel && !tunnelPort) {
    c.fail('tunnelPort', 'a GUE tunnel needs a port');
  }
  const tunnelFlags = c.uint('tunnelFlags', d.tunnelFlags, 0xffff, 0);
  if (tunnelFlags & ~(TunnelFlagCsum | TunnelFlagRemCsum))
    c.fail('tunnelFlags', `unknown bits 0x${tunnelFlags.toString(16)}`);
  const address = c.address('address', family, d.address);
  out.port = c.uint('port', d.port, 0xffff, svc.port);
  out.weight = c.uint('weight', d.weight, MAX_WEIGHT, 1);
  out.addressFamily = family;
  out.address = address;
  out.connectionFlags = connectionFlags;
  out.upperThreshold = upperThreshold;
  out.lowerThreshold = lowerThreshold;
  out.tunnelType = tunnelType;
  out.tunnelPort = tunnelPort;
  out.tunnelFlags = tunnelFlags;
  return out;
}

export function normalDaemon(d: DaemonInput, op: string): Required<DaemonInput> {
  const c = check.for(op, 'daemon');
  if (typeof d !== 'object' || d === null) c.fail('daemon', 'is required');
  if (d.state !== DaemonStateMaster && d.state !== DaemonStateBackup)
    c.fail('state', 'must be master (1) or backup (2)');
  if (typeof d.mcastInterface !== 'string' || !d.mcastInterface || Buffer.byteLength(d.mcastInterface) >= NAME_MAXLEN) {
    c.fail('mcastInterface', `an interface name of 1..${NAME_MAXLEN - 1} bytes is required`);
  }
  const group = d.mcastGroup ?? '';
  const groupFamily = group ? familyOf(group) : 0;
  if (group && !groupFamily) c.fail('mcastGroup', `${JSON.stringify(group)} is not an IP address`);
  return {
    state: d.state,
    mcastInterface: d.mcastInterface,
    syncId: c.uint('syncId', d.syncId, 0xff, 0),
    syncMaxLen: c.uint('syncMaxLen', d.syncMaxLen, 0xffff, 0),
    mcastGroup: group ? canonicalAddress(groupFamily, group) : '',
    mcastPort: c.uint('mcastPort', d.mcastPort, 0xffff, 0),
    mcastTtl: c.uint('mcastTtl', d.mcastTtl, 0xff, 0),
  };
}

/**
 * Short text naming a service in errors and logs: "tcp 192.0.2.1:80", "fwmark 7/ipv6".
 * Unique for a normalised id (as the kernel reports them); for caller input, serviceKey.
 */
export function describeService(s: NormalServiceId): string {
  if (s.fwMark) return `fwmark ${s.fwMark}${s.addressFamily === AF_INET6 ? '/ipv6' : ''}`;
  return `${PROTOCOLS.get(s.protocol)} ${formatHostPort(s)}`;
}

/** Names one service uniquely: the same text for two ids of one service however written. Throws ValidationError. */
export function serviceKey(s: ServiceId, op = 'serviceKey'): string {
  return describeService(normalServiceId(s, op));
}
