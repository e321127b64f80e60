import { AttributeEncoder } from '../netlink/attribute.js';
import type { Request } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';

export const GENL_HEADER_LENGTH = 4;

/** A generic netlink request: the family's id, a command, and the attributes `fill` encodes. */
export function genlRequest(familyId: number, cmd: number, version: number, fill?: (e: AttributeEncoder) => void, flags = 0): Request {
  const e = new AttributeEncoder(128, GENL_HEADER_LENGTH);
  fill?.(e);
  const payload = e.finish();
  payload[0] = cmd;
  payload[1] = version;
  return { type: familyId, flags, payload };
}

/** The command of a generic netlink reply; its attributes start at GENL_HEADER_LENGTH. */
export function genlCommand(payload: Buffer): number {
  if (payload.length < GENL_HEADER_LENGTH) {
    throw KernelError.of('parse generic netlink header', 'EBADMSG', `payload of ${payload.length} bytes`);
  }
  return payload[0]!;
}
