import { KernelError } from '../netlink/error.js';
import type { Request } from '../netlink/conn.js';

export const GENL_HEADER_LENGTH = 4;

/** A generic netlink request: the family's id, a command and its attributes. */
export function genlRequest(familyId: number, cmd: number, version: number, attrs: Uint8Array, flags = 0): Request {
  const payload = Buffer.allocUnsafe(GENL_HEADER_LENGTH + attrs.length);
  payload[0] = cmd;
  payload[1] = version;
  payload.writeUInt16LE(0, 2);
  payload.set(attrs, GENL_HEADER_LENGTH);
  return { type: familyId, flags, payload };
}

/** The command of a generic netlink reply; its attributes start at GENL_HEADER_LENGTH. */
export function genlCommand(payload: Buffer): number {
  if (payload.length < GENL_HEADER_LENGTH) {
    throw KernelError.of('parse generic netlink header', 'EBADMSG', `payload of ${payload.length} bytes`);
  }
  return payload[0]!;
}
