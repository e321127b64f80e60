// Addresses through route netlink: RTM_NEWADDR and RTM_DELADDR requests, the
// RTM_GETADDR dump, and a reply (struct ifaddrmsg, then IFA_* attributes)
// read into an entry.
import { addressBytes, AF_INET, formatAddress } from '../inet/address.js';
import { AttributeDecoder } from '../netlink/attribute-decoder.js';
import { KernelError } from '../netlink/error.js';
import {
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from '../netlink/linux.js';
import { HEADER_LENGTH } from '../netlink/message.js';
import type { Outbox } from '../netlink/outbox.js';
import { readIfAddrHeader, writeIfAddrHeader, type IfAddrHeader } from './message.js';

/** One address of an interface, as the kernel lists it. */
export interface AddressEntry {
  /** AF_INET or AF_INET6. */
  family: number;
  /** The local address, canonical text. */
  address: string;
  prefixLength: number;
  /** The interface's index. */
  index: number;
  /** RT_SCOPE_*. */
  scope: number;
  /** Every IFA_F_* flag (IFA_FLAGS when the kernel sends it, else ifaddrmsg's 8 bits). */
  flags: number;
  /** IPv4's label (the interface's name, or an alias such as "eth0:1"); empty for IPv6. */
  label: string;
  /** The other end of a point-to-point link (IFA_ADDRESS when it differs from the local address). */
  peer: string;
  /** IPv4's broadcast address, when it has one. */
  broadcast: string;
}

/** An address to add or delete: already validated (family and text agree, prefix in range). */
export interface AddressTarget {
  family: number;
  address: string;
  prefixLength: number;
  index: number;
  /** ifaddrmsg's flags (IFA_F_NODAD for an IPv6 VIP); 0 to delete. */
  flags: number;
  scope: number;
}

function writeAddressRequest(box: Outbox, type: number, flags: number, a: AddressTarget): number {
  const e = box.beginStruct(type, IFADDRMSG.size, flags);
  const h: IfAddrHeader = { ...a };
  writeIfAddrHeader(e.buffer, e.messageStart + HEADER_LENGTH, h);
  const bytes = addressBytes(a.family, a.address);
  // The kernel takes IFA_LOCAL as the address and IFA_ADDRESS as its prefix's (a peer's on point-to-point links).
  e.bytes(IFA_LOCAL, bytes).bytes(IFA_ADDRESS, bytes);
  return box.end();
}

/** RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL: EEXIST when the interface has it already. */
export const writeNewAddress = (box: Outbox, a: AddressTarget) =>
  writeAddressRequest(box, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, a);

/** RTM_DELADDR: the address and prefix length must be as the kernel has them (EADDRNOTAVAIL otherwise). */
export const writeDelAddress = (box: Outbox, a: AddressTarget) => writeAddressRequest(box, RTM_DELADDR, 0, a);

/** The RTM_GETADDR dump of every address of one family (0: both) of the namespace. */
export function writeGetAddresses(box: Outbox, family = 0): number {
  const e = box.beginStruct(RTM_GETADDR, IFADDRMSG.size);
  e.buffer.writeUInt8(family, e.messageStart + HEADER_LENGTH + IFADDRMSG.ifa_family);
  return box.end();
}

/** An RTM_NEWADDR reply, bytes `start` to `end` of `buf`. */
export function decodeAddress(buf: Buffer, start: number, end: number): AddressEntry {
  const h = readIfAddrHeader(buf, start, end);
  const size = h.family === AF_INET ? 4 : 16;
  const out: AddressEntry = {
    family: h.family,
    address: '',
    prefixLength: h.prefixLength,
    index: h.index,
    scope: h.scope,
    flags: h.flags,
    label: '',
    peer: '',
    broadcast: '',
  };
  let prefix = '';
  const d = new AttributeDecoder(buf, start + IFADDRMSG.size, end);
  const addr = () => {
    if (d.length() !== size)
      throw badReply(`attribute ${d.type()} of ${d.length()} bytes in a family ${h.family} address`);
    return formatAddress(h.family, d.buffer, d.offset());
  };
  while (d.next()) {
    switch (d.type()) {
      case IFA_LOCAL:
        out.address = addr();
        break;
      case IFA_ADDRESS:
        prefix = addr();
        break;
      case IFA_BROADCAST:
        out.broadcast = addr();
        break;
      case IFA_LABEL:
        out.label = d.string();
        break;
      case IFA_FLAGS:
        out.flags = d.u32();
        break;
    }
  }
  d.finish();
  // IPv6 sends IFA_ADDRESS alone, as the local address; IPv4 both, IFA_ADDRESS being the peer's on a point-to-point link.
  if (!out.address) out.address = prefix;
  else if (prefix !== out.address) out.peer = prefix;
  if (!out.address) throw badReply('an address without IFA_LOCAL or IFA_ADDRESS');
  return out;
}

const badReply = (why: string) => KernelError.of('decode address', 'EBADMSG', why);
