import { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { Conn } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';
import { Outbox } from '../netlink/outbox.js';
import { GENL_HEADER_LENGTH, genlCommand, RequestWriter } from './message.js';

/** The netlink protocol of generic netlink sockets. */
export const NETLINK_GENERIC = 16;

// nlctrl, the generic netlink controller (linux/genetlink.h).
const GENL_ID_CTRL = 0x10;
const CTRL_CMD_NEWFAMILY = 1;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const CTRL_ATTR_VERSION = 3;
const CTRL_ATTR_MAXATTR = 5;
const CTRL_ATTR_MCAST_GROUPS = 7;
const CTRL_ATTR_MCAST_GRP_NAME = 1;
const CTRL_ATTR_MCAST_GRP_ID = 2;

export interface Family {
  id: number;
  name: string;
  version: number;
  maxAttr: number;
  /** Multicast group ids by name. */
  groups: Map<string, number>;
}

/**
 * Resolves a generic netlink family by name. A family the kernel does not
 * know (module not loaded) fails with ENOENT.
 */
export function resolveFamily(conn: Conn, name: string): Family {
  const box = new Outbox(256);
  new RequestWriter(GENL_ID_CTRL, 1).request(box, CTRL_CMD_GETFAMILY, (e) => e.string(CTRL_ATTR_FAMILY_NAME, name));
  const [outcome] = conn.execute(box);
  if (!outcome!.ok) throw outcome!.error.within(`resolve generic netlink family ${name}`);
  const reply = outcome!.replies[0];
  if (!reply || genlCommand(reply) !== CTRL_CMD_NEWFAMILY) {
    throw KernelError.of(`resolve generic netlink family ${name}`, 'EBADMSG', 'no family in the reply');
  }
  return decodeFamily(reply);
}

export function decodeFamily(payload: Buffer): Family {
  const f: Family = { id: 0, name: '', version: 0, maxAttr: 0, groups: new Map() };
  const d = new AttributeDecoder(payload, GENL_HEADER_LENGTH);
  while (d.next()) {
    switch (d.type()) {
      case CTRL_ATTR_FAMILY_ID:
        f.id = d.u16();
        break;
      case CTRL_ATTR_FAMILY_NAME:
        f.name = d.string();
        break;
      case CTRL_ATTR_VERSION:
        f.version = d.u32();
        break;
      case CTRL_ATTR_MAXATTR:
        f.maxAttr = d.u32();
        break;
      case CTRL_ATTR_MCAST_GROUPS:
        d.nested((groups) => {
          while (groups.next()) {
            groups.nested((g) => {
              let gname = '';
              let gid = 0;
              while (g.next()) {
                if (g.type() === CTRL_ATTR_MCAST_GRP_NAME) gname = g.string();
                else if (g.type() === CTRL_ATTR_MCAST_GRP_ID) gid = g.u32();
              }
              f.groups.set(gname, gid);
            });
          }
        });
        break;
    }
  }
  d.finish();
  return f;
}
