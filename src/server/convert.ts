// Translation between the API's messages and the core's models. Enum
// numbers are the kernel's own on both sides, so values pass through and
// the core's validation judges them; only presence is checked here.
import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import * as pb from '../../gen/ts/ipvs/v1/model_pb.js';
import type {
  Config,
  Daemon,
  DaemonInput,
  Destination,
  DestinationInput,
  Info,
  NormalDestination,
  NormalService,
  Service,
  ServiceId,
  ServiceInput,
  Stats,
  Subject,
} from '../ipvs/index.js';
import type { FieldPath } from './handler.js';
import { RpcError } from './status.js';

/** The message field that a core model field maps to, where the names differ. */
const RENAMED: Readonly<Record<string, string>> = { connectionFlags: 'forwarding_method' };
const ID_FIELDS = new Set(['addressFamily', 'protocol', 'address', 'port', 'fwMark']);
/** lowerCamelCase to snake_case: "createService" -> "create_service". */
export const snakeCase = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const snake = (f: string) => RENAMED[f] ?? snakeCase(f);

/**
 * The request path of a refused core field: `serviceIsNested` when the
 * request carries a Service (whose identity is under `id`), not a ServiceId.
 */
export function fieldPath(subject: Subject, field: string, serviceIsNested: boolean): string {
  if (subject === 'service') return `service.${serviceIsNested && ID_FIELDS.has(field) ? 'id.' : ''}${snake(field)}`;
  if (subject === 'batch') return field;
  return `${subject}.${snake(field)}`;
}

/** The field path of a request that carries a ServiceId ("service.port"), or none. */
export const idPath: FieldPath<unknown> = (e) => fieldPath(e.subject, e.field, false);
/** The field path of a request that carries a Service ("service.id.port"). */
export const nestedPath: FieldPath<unknown> = (e) => fieldPath(e.subject, e.field, true);

function required<T>(v: T | undefined, field: string): T {
  if (v === undefined) throw new RpcError(status.INVALID_ARGUMENT, `${field} is required`, field);
  return v;
}

export function serviceIdIn(p: pb.ServiceId | undefined, field = 'service'): ServiceId {
  const id = required(p, field);
  return {
    addressFamily: id.addressFamily,
    protocol: id.protocol,
    address: id.address,
    port: id.port,
    fwMark: id.fwMark,
  };
}

export function serviceIn(p: pb.Service | undefined, field = 'service'): ServiceInput {
  const s = required(p, field);
  return {
    ...serviceIdIn(s.id, `${field}.id`),
    schedName: s.schedName,
    flags: s.flags,
    timeout: s.timeout,
    netmask: s.netmask || undefined,
    peName: s.peName,
  };
}

export function destinationIn(p: pb.Destination | undefined, field = 'destination'): DestinationInput {
  const d = required(p, field);
  return {
    address: d.address,
    addressFamily: d.addressFamily,
    port: d.port || undefined,
    weight: d.weight,
    connectionFlags: d.forwardingMethod,
    upperThreshold: d.upperThreshold,
    lowerThreshold: d.lowerThreshold,
    tunnelType: d.tunnelType,
    tunnelPort: d.tunnelPort,
    tunnelFlags: d.tunnelFlags,
  };
}

export function daemonIn(p: pb.Daemon | undefined): DaemonInput {
  const d = required(p, 'daemon');
  return {
    state: d.state,
    mcastInterface: d.mcastInterface,
    syncId: d.syncId,
    syncMaxLen: d.syncMaxLen,
    mcastGroup: d.mcastGroup,
    mcastPort: d.mcastPort,
    mcastTtl: d.mcastTtl,
  };
}

export function configIn(p: pb.Config | undefined): Partial<Config> {
  const c = required(p, 'config');
  return { timeoutTcp: c.timeoutTcp, timeoutTcpFin: c.timeoutTcpFin, timeoutUdp: c.timeoutUdp };
}

export const statsOut = (s: Stats): pb.Stats =>
  create(pb.StatsSchema, {
    connections: BigInt(s.connections),
    packetsIn: BigInt(s.packetsIn),
    packetsOut: BigInt(s.packetsOut),
    bytesIn: BigInt(s.bytesIn),
    bytesOut: BigInt(s.bytesOut),
    cps: BigInt(s.cps),
    ppsIn: BigInt(s.ppsIn),
    ppsOut: BigInt(s.ppsOut),
    bpsIn: BigInt(s.bpsIn),
    bpsOut: BigInt(s.bpsOut),
  });

export function serviceIdOut(s: ServiceId): pb.ServiceId {
  return create(pb.ServiceIdSchema, {
    addressFamily: s.addressFamily,
    protocol: s.protocol,
    address: s.address,
    port: s.port,
    fwMark: s.fwMark,
  });
}

/** A desired (normalised, counter-less) service, as the API carries it. */
export function normalServiceOut(s: NormalService): pb.Service {
  return create(pb.ServiceSchema, {
    id: serviceIdOut(s),
    schedName: s.schedName,
    flags: s.flags,
    timeout: s.timeout,
    netmask: s.netmask,
    peName: s.peName,
  });
}

export function normalDestinationOut(d: NormalDestination): pb.Destination {
  return create(pb.DestinationSchema, {
    addressFamily: d.addressFamily,
    address: d.address,
    port: d.port,
    weight: d.weight,
    forwardingMethod: d.connectionFlags,
    upperThreshold: d.upperThreshold,
    lowerThreshold: d.lowerThreshold,
    tunnelType: d.tunnelType,
    tunnelPort: d.tunnelPort,
    tunnelFlags: d.tunnelFlags,
  });
}

export function serviceOut(s: Service): pb.Service {
  return Object.assign(normalServiceOut(s), { stats: statsOut(s.stats) });
}

export function destinationOut(d: Destination): pb.Destination {
  return Object.assign(normalDestinationOut(d), {
    activeConnections: d.activeConnections,
    inactiveConnections: d.inactiveConnections,
    persistentConnections: d.persistentConnections,
    stats: statsOut(d.stats),
  });
}

export const configOut = (c: Config): pb.Config => create(pb.ConfigSchema, c);

export const infoOut = (i: Info): pb.Info =>
  create(pb.InfoSchema, { version: i.version, versionCode: i.versionCode, connectionTableSize: i.connectionTableSize });

export const daemonOut = (d: Daemon): pb.Daemon => create(pb.DaemonSchema, d);
