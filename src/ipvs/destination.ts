import type { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import { decodeAddress, encodeAddress } from './address.js';
import { DestAttr } from './constants.js';
import type { Destination, Stats } from './model.js';
import { decodeStats, NO_STATS, pickStats, writableStats } from './stats.js';
import type { NormalDestination } from './validate.js';

/** The attributes that name a destination inside its service. */
export function encodeDestinationId(e: AttributeEncoder, d: NormalDestination): void {
  e.u16(DestAttr.AddrFamily, d.addressFamily);
  encodeAddress(e, DestAttr.Addr, d.addressFamily, d.address);
  e.be16(DestAttr.Port, d.port);
}

/** Every attribute the kernel requires to create or update a destination. */
export function encodeDestination(e: AttributeEncoder, d: NormalDestination): void {
  encodeDestinationId(e, d);
  e.u32(DestAttr.FwdMethod, d.connectionFlags);
  e.u32(DestAttr.Weight, d.weight);
  e.u32(DestAttr.UThresh, d.upperThreshold);
  e.u32(DestAttr.LThresh, d.lowerThreshold);
  e.u8(DestAttr.TunType, d.tunnelType);
  e.be16(DestAttr.TunPort, d.tunnelPort);
  e.u16(DestAttr.TunFlags, d.tunnelFlags);
}

/** A destination of zero values, to decode into. */
export const emptyDestination = (addressFamily: number): Destination => ({
  addressFamily,
  address: '',
  port: 0,
  weight: 0,
  connectionFlags: 0,
  upperThreshold: 0,
  lowerThreshold: 0,
  activeConnections: 0,
  inactiveConnections: 0,
  persistentConnections: 0,
  tunnelType: 0,
  tunnelPort: 0,
  tunnelFlags: 0,
  stats: NO_STATS,
});

function clearDestination(d: Destination, addressFamily: number): Destination {
  d.addressFamily = addressFamily;
  d.address = '';
  d.port = d.weight = d.connectionFlags = d.upperThreshold = d.lowerThreshold = 0;
  d.activeConnections = d.inactiveConnections = d.persistentConnections = 0;
  d.tunnelType = d.tunnelPort = d.tunnelFlags = 0;
  return d;
}

/**
 * Reads the attributes inside IPVS_CMD_ATTR_DEST; `serviceFamily` is used
 * when the kernel omits the address family. Without `counters`, stats are
 * left zero (cheaper, for callers that compare configuration only). Into
 * `target`, every field rewritten, when given: a reader that keeps only what
 * changed decodes thousands without allocating them.
 */
export function decodeDestination(
  d: AttributeDecoder,
  serviceFamily: number,
  counters = true,
  target?: Destination,
): Destination {
  const into = writableStats(target);
  const out = target ? clearDestination(target, serviceFamily) : emptyDestination(serviceFamily);
  // The address comes before its family: read it in place once both are known.
  let addrAt = -1;
  let addrLen = 0;
  let narrowAt = -1;
  let narrowLen = 0;
  let wide: Stats | undefined;
  while (d.next()) {
    switch (d.type()) {
      case DestAttr.Addr:
        addrAt = d.offset();
        addrLen = d.length();
        break;
      case DestAttr.Port:
        out.port = d.be16();
        break;
      case DestAttr.FwdMethod:
        out.connectionFlags = d.u32();
        break;
      case DestAttr.Weight:
        out.weight = d.u32();
        break;
      case DestAttr.UThresh:
        out.upperThreshold = d.u32();
        break;
      case DestAttr.LThresh:
        out.lowerThreshold = d.u32();
        break;
      case DestAttr.ActiveConns:
        out.activeConnections = d.u32();
        break;
      case DestAttr.InactConns:
        out.inactiveConnections = d.u32();
        break;
      case DestAttr.PersistConns:
        out.persistentConnections = d.u32();
        break;
      case DestAttr.AddrFamily:
        out.addressFamily = d.u16();
        break;
      case DestAttr.TunType:
        out.tunnelType = d.u8();
        break;
      case DestAttr.TunPort:
        out.tunnelPort = d.be16();
        break;
      case DestAttr.TunFlags:
        out.tunnelFlags = d.u16();
        break;
      case DestAttr.Stats:
        narrowAt = d.offset();
        narrowLen = d.length();
        break;
      case DestAttr.Stats64:
        if (counters) wide = decodeStats(d.enter(), into);
        break;
    }
  }
  d.finish();
  out.stats = pickStats(counters, wide, d, narrowAt, narrowLen, into);
  if (addrAt >= 0) out.address = decodeAddress('decode destination', out.addressFamily, d.buffer, addrAt, addrLen);
  return out;
}
