// The family headers of route netlink messages: struct ifaddrmsg (addresses)
// and struct ifinfomsg (links), written and read at their named offsets.
import { KernelError } from '../netlink/error.js';
import { IFADDRMSG, IFINFOMSG } from '../netlink/linux.js';

/** struct ifaddrmsg. */
export interface IfAddrHeader {
  /** AF_INET or AF_INET6. */
  family: number;
  /** 0..32 or 0..128. */
  prefixLength: number;
  /** The low 8 bits of the address's flags (IFA_F_*): IFA_FLAGS carries all 32. */
  flags: number;
  /** RT_SCOPE_*. */
  scope: number;
  /** The interface's index. */
  index: number;
}

/** struct ifinfomsg. */
export interface IfInfoHeader {
  /** AF_UNSPEC (0) for every request of ours. */
  family: number;
  /** ARPHRD_* of the device (replies only). */
  type: number;
  /** The interface's index; 0 when a request names it by IFLA_IFNAME. */
  index: number;
  /** IFF_* flags. */
  flags: number;
  /** Which of `flags` a request changes. */
  change: number;
}

export function writeIfAddrHeader(buf: Buffer, at: number, h: IfAddrHeader): void {
  buf.writeUInt8(h.family, at + IFADDRMSG.ifa_family);
  buf.writeUInt8(h.prefixLength, at + IFADDRMSG.ifa_prefixlen);
  buf.writeUInt8(h.flags, at + IFADDRMSG.ifa_flags);
  buf.writeUInt8(h.scope, at + IFADDRMSG.ifa_scope);
  buf.writeUInt32LE(h.index, at + IFADDRMSG.ifa_index);
}

export function readIfAddrHeader(buf: Buffer, at: number, end: number): IfAddrHeader {
  if (end - at < IFADDRMSG.size) throw short('ifaddrmsg', end - at);
  return {
    family: buf.readUInt8(at + IFADDRMSG.ifa_family),
    prefixLength: buf.readUInt8(at + IFADDRMSG.ifa_prefixlen),
    flags: buf.readUInt8(at + IFADDRMSG.ifa_flags),
    scope: buf.readUInt8(at + IFADDRMSG.ifa_scope),
    index: buf.readUInt32LE(at + IFADDRMSG.ifa_index),
  };
}

export function writeIfInfoHeader(buf: Buffer, at: number, h: IfInfoHeader): void {
  buf.writeUInt8(h.family, at + IFINFOMSG.ifi_family);
  buf.writeUInt16LE(h.type, at + IFINFOMSG.ifi_type);
  buf.writeInt32LE(h.index, at + IFINFOMSG.ifi_index);
  buf.writeUInt32LE(h.flags, at + IFINFOMSG.ifi_flags);
  buf.writeUInt32LE(h.change, at + IFINFOMSG.ifi_change);
}

export function readIfInfoHeader(buf: Buffer, at: number, end: number): IfInfoHeader {
  if (end - at < IFINFOMSG.size) throw short('ifinfomsg', end - at);
  return {
    family: buf.readUInt8(at + IFINFOMSG.ifi_family),
    type: buf.readUInt16LE(at + IFINFOMSG.ifi_type),
    index: buf.readInt32LE(at + IFINFOMSG.ifi_index),
    flags: buf.readUInt32LE(at + IFINFOMSG.ifi_flags),
    change: buf.readUInt32LE(at + IFINFOMSG.ifi_change),
  };
}

const short = (what: string, n: number) => KernelError.of(`parse ${what}`, 'EBADMSG', `payload of ${n} bytes`);
