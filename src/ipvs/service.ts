import type { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import { KernelError } from '../netlink/error.js';
import { decodeAddress, encodeAddress } from './address.js';
import { AF_INET, AF_INET6, SvcAttr } from './constants.js';
import type { Destination, Service, ServiceWithDestinations, Stats } from './model.js';
import { decodeStats, NO_STATS, pickStats, writableStats } from './stats.js';
import type { NormalService, NormalServiceId } from './validate.js';

/** The attributes that name a service (what commands on an existing service need). */
export function encodeServiceId(e: AttributeEncoder, s: NormalServiceId): void {
  e.u16(SvcAttr.Af, s.addressFamily);
  if (s.fwMark) {
    e.u32(SvcAttr.Fwmark, s.fwMark);
  } else {
    e.u16(SvcAttr.Protocol, s.protocol);
    encodeAddress(e, SvcAttr.Addr, s.addressFamily, s.address);
    e.be16(SvcAttr.Port, s.port);
  }
}

/** Every attribute the kernel requires to create or update a service. */
export function encodeService(e: AttributeEncoder, s: NormalService): void {
  encodeServiceId(e, s);
  e.string(SvcAttr.SchedName, s.schedName);
  if (s.peName) e.string(SvcAttr.PeName, s.peName);
  // struct ip_vs_flags { flags, mask }: replace every user-settable bit.
  e.bitfield32(SvcAttr.Flags, s.flags, 0xffffffff);
  e.u32(SvcAttr.Timeout, s.timeout);
  // IPv4: a mask in network order. IPv6: a prefix length, in host order.
  if (s.addressFamily === AF_INET6) e.u32(SvcAttr.Netmask, s.netmask);
  else e.be32(SvcAttr.Netmask, s.netmask);
}

/** A service of zero values, to decode into. */
export const emptyService = (): Service => ({
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
  stats: NO_STATS,
});

function clearService(s: Service): Service {
  s.addressFamily = s.protocol = s.port = s.fwMark = s.flags = s.timeout = s.netmask = 0;
  s.address = s.schedName = s.peName = '';
  return s;
}

/**
 * Reads the attributes inside IPVS_CMD_ATTR_SERVICE; without `counters`,
 * stats are left zero. Into `target`, every field rewritten, when given (see
 * decodeDestination).
 */
export function decodeService(d: AttributeDecoder, counters = true, target?: Service): Service {
  const into = writableStats(target);
  const s = target ? clearService(target) : emptyService();
  // Address and netmask are read in place once the family is known.
  let addrAt = -1;
  let addrLen = 0;
  let netmaskAt = -1;
  let narrowAt = -1;
  let narrowLen = 0;
  let wide: Stats | undefined;
  while (d.next()) {
    switch (d.type()) {
      case SvcAttr.Af:
        s.addressFamily = d.u16();
        break;
      case SvcAttr.Protocol:
        s.protocol = d.u16();
        break;
      case SvcAttr.Addr:
        addrAt = d.offset();
        addrLen = d.length();
        break;
      case SvcAttr.Port:
        s.port = d.be16();
        break;
      case SvcAttr.Fwmark:
        s.fwMark = d.u32();
        break;
      case SvcAttr.SchedName:
        s.schedName = d.string();
        break;
      // struct ip_vs_flags { flags, mask }: the flags come first.
      case SvcAttr.Flags:
        s.flags = d.length() >= 4 ? d.buffer.readUInt32LE(d.offset()) : 0;
        break;
      case SvcAttr.Timeout:
        s.timeout = d.u32();
        break;
      case SvcAttr.Netmask:
        netmaskAt = d.length() === 4 ? d.offset() : -1;
        break;
      case SvcAttr.PeName:
        s.peName = d.string();
        break;
      case SvcAttr.Stats:
        narrowAt = d.offset();
        narrowLen = d.length();
        break;
      case SvcAttr.Stats64:
        if (counters) wide = decodeStats(d.enter(), into);
        break;
    }
  }
  d.finish();
  s.stats = pickStats(counters, wide, d, narrowAt, narrowLen, into);
  if (s.addressFamily !== AF_INET && s.addressFamily !== AF_INET6) {
    throw KernelError.of('decode service', 'EBADMSG', `address family ${s.addressFamily}`);
  }
  if (addrAt >= 0 && !s.fwMark) s.address = decodeAddress('decode service', s.addressFamily, d.buffer, addrAt, addrLen);
  if (netmaskAt >= 0) {
    s.netmask = s.addressFamily === AF_INET6 ? d.buffer.readUInt32LE(netmaskAt) : d.buffer.readUInt32BE(netmaskAt);
  }
  return s;
}

/**
 * `s` with `destinations`, its fields listed: a spread followed by a field is several times slower in V8, and listings
 * make thousands.
 */
export function serviceWithDestinations(s: Service, destinations: Destination[]): ServiceWithDestinations {
  return {
    addressFamily: s.addressFamily,
    protocol: s.protocol,
    address: s.address,
    port: s.port,
    fwMark: s.fwMark,
    schedName: s.schedName,
    flags: s.flags,
    timeout: s.timeout,
    netmask: s.netmask,
    peName: s.peName,
    stats: s.stats,
    destinations,
  };
}
