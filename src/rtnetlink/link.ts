// Links (interfaces) through route netlink: one looked up by name
// (RTM_GETLINK), all of them (the dump: index to name), a dummy one created
// (RTM_NEWLINK with IFLA_LINKINFO { IFLA_INFO_KIND "dummy" }), and a reply
// (struct ifinfomsg, then IFLA_* attributes) read.
import { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import {
  IFF_UP,
  IFINFOMSG,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../netlink/linux.js';
import { HEADER_LENGTH } from '../netlink/message.js';
import type { Outbox } from '../netlink/outbox.js';
import { readIfInfoHeader, writeIfInfoHeader, type IfInfoHeader } from './message.js';

export interface Link {
  index: number;
  name: string;
  /** IFF_* flags. */
  flags: number;
  /** IFLA_INFO_KIND ("dummy", "veth"…); empty for a device without link info (lo, a physical one). */
  kind: string;
}

/** Starts a link request: its attributes go into the encoder returned, then `box.end()`. */
function beginLink(box: Outbox, type: number, flags: number, h: IfInfoHeader): AttributeEncoder {
  const e = box.beginStruct(type, IFINFOMSG.size, flags);
  writeIfInfoHeader(e.buffer, e.messageStart + HEADER_LENGTH, h);
  return e;
}

const NONE: IfInfoHeader = { family: 0, type: 0, index: 0, flags: 0, change: 0 };

/** RTM_GETLINK of the interface named `name` (a query, not a dump): ENODEV when there is none. */
export function writeGetLink(box: Outbox, name: string): number {
  beginLink(box, RTM_GETLINK, 0, NONE).string(IFLA_IFNAME, name);
  return box.end();
}

/** The RTM_GETLINK dump of every interface of the namespace. */
export function writeGetLinks(box: Outbox): number {
  beginLink(box, RTM_GETLINK, 0, NONE);
  return box.end();
}

/** RTM_NEWLINK creating a dummy interface `name`, up from the start; EEXIST when the name is taken. */
export function writeNewDummy(box: Outbox, name: string): number {
  const e = beginLink(box, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, { ...NONE, flags: IFF_UP, change: IFF_UP });
  e.string(IFLA_IFNAME, name).nested(IFLA_LINKINFO, () => e.string(IFLA_INFO_KIND, 'dummy'));
  return box.end();
}

/** An RTM_NEWLINK reply, bytes `start` to `end` of `buf`. */
export function decodeLink(buf: Buffer, start: number, end: number): Link {
  const h = readIfInfoHeader(buf, start, end);
  const out: Link = { index: h.index, name: '', flags: h.flags, kind: '' };
  const d = new AttributeDecoder(buf, start + IFINFOMSG.size, end);
  while (d.next()) {
    if (d.type() === IFLA_IFNAME) out.name = d.string();
    else if (d.type() === IFLA_LINKINFO) {
      const info = d.enter();
      while (info.next()) if (info.type() === IFLA_INFO_KIND) out.kind = info.string();
      info.finish();
    }
  }
  d.finish();
  return out;
}
