// The protobuf encoding of the messages whose size grows with the kernel's
// state (services, destinations and their counters), written straight from
// the core's models into one buffer: building protobuf-es messages and then
// serializing them costs several times the listing itself at 10,000
// services. The bytes are exactly what toBinary writes for the messages
// convert.ts builds (test/unit/wire.test.ts holds it to that), and the field
// numbers are read from the generated descriptors, not written twice.
import type { DescMessage } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import * as pb from '../../gen/ts/ipvs/v1/model_pb.js';
import type { Destination, Service, ServiceId, Stats } from '../ipvs/index.js';

const VARINT = 0;
const LEN = 2;

/** The one-byte tags of a message's fields (every field number here is below 16), by field name. */
function tags<K extends string>(schema: DescMessage, wire: Record<K, typeof VARINT | typeof LEN>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of Object.keys(wire) as K[]) {
    const n = schema.field[k]?.number;
    if (n === undefined || n > 15) throw new Error(`${schema.typeName}.${k}: no one-byte tag`);
    out[k] = (n << 3) | wire[k];
  }
  return out;
}

const STATS = tags(pb.StatsSchema, {
  connections: VARINT,
  packetsIn: VARINT,
  packetsOut: VARINT,
  bytesIn: VARINT,
  bytesOut: VARINT,
  cps: VARINT,
  ppsIn: VARINT,
  ppsOut: VARINT,
  bpsIn: VARINT,
  bpsOut: VARINT,
});
const SERVICE_ID = tags(pb.ServiceIdSchema, {
  addressFamily: VARINT,
  protocol: VARINT,
  address: LEN,
  port: VARINT,
  fwMark: VARINT,
});
const SERVICE = tags(pb.ServiceSchema, {
  id: LEN,
  schedName: LEN,
  flags: VARINT,
  timeout: VARINT,
  netmask: VARINT,
  peName: LEN,
  stats: LEN,
});
const DESTINATION = tags(pb.DestinationSchema, {
  addressFamily: VARINT,
  address: LEN,
  port: VARINT,
  weight: VARINT,
  forwardingMethod: VARINT,
  upperThreshold: VARINT,
  lowerThreshold: VARINT,
  activeConnections: VARINT,
  inactiveConnections: VARINT,
  persistentConnections: VARINT,
  tunnelType: VARINT,
  tunnelPort: VARINT,
  tunnelFlags: VARINT,
  stats: LEN,
});
const WITH_DESTINATIONS = tags(pb.ServiceWithDestinationsSchema, { service: LEN, destinations: LEN });
const DESTINATION_STATS = tags(api.DestinationStatsSchema, {
  addressFamily: VARINT,
  address: LEN,
  port: VARINT,
  weight: VARINT,
  activeConnections: VARINT,
  inactiveConnections: VARINT,
  stats: LEN,
});
const SERVICE_STATS = tags(api.ServiceStatsSchema, { service: LEN, stats: LEN, destinations: LEN });

/** Bytes of the varint of `v` (an integer in 0..2^53). */
function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * A growing buffer of protobuf fields. Length-delimited fields are opened
 * with `open` (one byte kept for the length) and closed with `close`, which
 * moves the contents up in the rare case the length needs more bytes.
 */
export class WireWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(v: number): void {
    this.reserve(10);
    const b = this.buf;
    let p = this.pos;
    while (v >= 128) {
      b[p++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    b[p++] = v;
    this.pos = p;
  }

  /** A varint field; proto3 leaves zero out (`always` for fields with presence). */
  uint(tag: number, v: number, always = false): void {
    if (v === 0 && !always) return;
    this.reserve(1);
    this.buf[this.pos++] = tag;
    this.varint(v);
  }

  string(tag: number, s: string): void {
    if (!s) return;
    const n = Buffer.byteLength(s);
    this.reserve(n + 6);
    this.buf[this.pos++] = tag;
    this.varint(n);
    this.pos += this.buf.write(s, this.pos);
  }

  /** A length-delimited field from bytes already encoded. */
  bytes(tag: number, b: Uint8Array): void {
    this.reserve(b.length + 6);
    this.buf[this.pos++] = tag;
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Starts a length-delimited field; returns where, for `close`. */
  open(tag: number): number {
    this.reserve(2);
    this.buf[this.pos++] = tag;
    return this.pos++;
  }

  close(at: number): void {
    const len = this.pos - at - 1;
    if (len < 128) {
      this.buf[at] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.reserve(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.varint(len);
    this.pos = end;
  }
}

function stats(w: WireWriter, tag: number, s: Stats): void {
  const at = w.open(tag);
  w.uint(STATS.connections, s.connections);
  w.uint(STATS.packetsIn, s.packetsIn);
  w.uint(STATS.packetsOut, s.packetsOut);
  w.uint(STATS.bytesIn, s.bytesIn);
  w.uint(STATS.bytesOut, s.bytesOut);
  w.uint(STATS.cps, s.cps);
  w.uint(STATS.ppsIn, s.ppsIn);
  w.uint(STATS.ppsOut, s.ppsOut);
  w.uint(STATS.bpsIn, s.bpsIn);
  w.uint(STATS.bpsOut, s.bpsOut);
  w.close(at);
}

/** The fields of a ServiceId (serviceIdOut). */
export function serviceIdFields(w: WireWriter, s: Required<ServiceId>): void {
  w.uint(SERVICE_ID.addressFamily, s.addressFamily);
  w.uint(SERVICE_ID.protocol, s.protocol);
  w.string(SERVICE_ID.address, s.address);
  w.uint(SERVICE_ID.port, s.port);
  w.uint(SERVICE_ID.fwMark, s.fwMark);
}

/** The fields of a Service with its counters (serviceOut). */
export function serviceFields(w: WireWriter, s: Service): void {
  const id = w.open(SERVICE.id);
  serviceIdFields(w, s);
  w.close(id);
  w.string(SERVICE.schedName, s.schedName);
  w.uint(SERVICE.flags, s.flags);
  w.uint(SERVICE.timeout, s.timeout);
  w.uint(SERVICE.netmask, s.netmask);
  w.string(SERVICE.peName, s.peName);
  stats(w, SERVICE.stats, s.stats);
}

/** The fields of a Destination with its counters (destinationOut). */
export function destinationFields(w: WireWriter, d: Destination): void {
  w.uint(DESTINATION.addressFamily, d.addressFamily);
  w.string(DESTINATION.address, d.address);
  w.uint(DESTINATION.port, d.port);
  w.uint(DESTINATION.weight, d.weight, true);
  w.uint(DESTINATION.forwardingMethod, d.connectionFlags);
  w.uint(DESTINATION.upperThreshold, d.upperThreshold);
  w.uint(DESTINATION.lowerThreshold, d.lowerThreshold);
  w.uint(DESTINATION.activeConnections, d.activeConnections);
  w.uint(DESTINATION.inactiveConnections, d.inactiveConnections);
  w.uint(DESTINATION.persistentConnections, d.persistentConnections);
  w.uint(DESTINATION.tunnelType, d.tunnelType);
  w.uint(DESTINATION.tunnelPort, d.tunnelPort);
  w.uint(DESTINATION.tunnelFlags, d.tunnelFlags);
  stats(w, DESTINATION.stats, d.stats);
}

/** The fields of a DestinationStats (WatchStats). */
export function destinationStatsFields(w: WireWriter, d: Destination): void {
  w.uint(DESTINATION_STATS.addressFamily, d.addressFamily);
  w.string(DESTINATION_STATS.address, d.address);
  w.uint(DESTINATION_STATS.port, d.port);
  w.uint(DESTINATION_STATS.weight, d.weight);
  w.uint(DESTINATION_STATS.activeConnections, d.activeConnections);
  w.uint(DESTINATION_STATS.inactiveConnections, d.inactiveConnections);
  stats(w, DESTINATION_STATS.stats, d.stats);
}

/** How a list of services with destinations is written: the service's own fields, and each destination's. */
export interface EntryShape {
  /** The tag of the destinations field inside an entry. */
  destinationsTag: number;
  head(w: WireWriter, s: Service): void;
  destination(w: WireWriter, d: Destination): void;
}

/** ServiceWithDestinations entries (ListServices, WatchEvents snapshots). */
export const WITH_DESTINATIONS_SHAPE: EntryShape = {
  destinationsTag: WITH_DESTINATIONS.destinations,
  head(w, s) {
    const at = w.open(WITH_DESTINATIONS.service);
    serviceFields(w, s);
    w.close(at);
  },
  destination: destinationFields,
};

/** ServiceStats entries (WatchStats). */
export const SERVICE_STATS_SHAPE: EntryShape = {
  destinationsTag: SERVICE_STATS.destinations,
  head(w, s) {
    const at = w.open(SERVICE_STATS.service);
    serviceIdFields(w, s);
    w.close(at);
    stats(w, SERVICE_STATS.stats, s.stats);
  },
  destination: destinationStatsFields,
};

/** The one-byte tag of a length-delimited field of a response (its list of services, events, changes). */
export const listTag = (schema: DescMessage, field: string) =>
  tags(schema, { [field]: LEN } as Record<string, typeof LEN>)[field]!;
