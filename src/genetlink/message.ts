import { AttributeEncoder } from '../netlink/attribute.js';
import type { Request } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';

export const GENL_HEADER_LENGTH = 4;

/**
 * Builds generic netlink requests for one family: a command, and the
 * attributes `fill` encodes. Requests built by one writer share its
 * buffers, which makes building thousands of them cheap.
 */
export class RequestWriter {
  private readonly e: AttributeEncoder;

  /** `capacity`: bytes per shared buffer; a longer request gets one of its own. */
  constructor(readonly familyId: number, readonly version: number, capacity = 64 * 1024) {
    this.e = new AttributeEncoder(capacity, GENL_HEADER_LENGTH);
  }

  request(cmd: number, fill?: (e: AttributeEncoder) => void, flags = 0): Request {
    const e = this.e.restart();
    fill?.(e);
    const payload = e.finish();
    payload[0] = cmd;
    payload[1] = this.version;
    return { type: this.familyId, flags, payload };
  }
}

/** The command of a generic netlink reply; its attributes start at GENL_HEADER_LENGTH. */
export function genlCommand(payload: Buffer): number {
  if (payload.length < GENL_HEADER_LENGTH) {
    throw KernelError.of('parse generic netlink header', 'EBADMSG', `payload of ${payload.length} bytes`);
  }
  return payload[0]!;
}
