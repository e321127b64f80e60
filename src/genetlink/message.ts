import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import { KernelError } from '../netlink/error.js';
import type { Outbox } from '../netlink/outbox.js';

export const GENL_HEADER_LENGTH = 4;

/** Writes generic netlink requests of one family into an Outbox. */
export class RequestWriter {
  constructor(
    readonly familyId: number,
    readonly version: number,
  ) {}

  /** Starts a request for `cmd` in `box`: encode its attributes with the encoder returned, then `box.end()`. */
  begin(box: Outbox, cmd: number): AttributeEncoder {
    // struct genlmsghdr { u8 cmd; u8 version; u16 reserved; } as one little-endian u32.
    return box.begin(this.familyId, cmd | (this.version << 8));
  }

  /** A whole request for `cmd` whose attributes `fill` encodes: its number in `box`. */
  request(box: Outbox, cmd: number, fill?: (e: AttributeEncoder) => void): number {
    const e = this.begin(box, cmd);
    fill?.(e);
    return box.end();
  }
}

/** The command of a generic netlink reply; its attributes start at GENL_HEADER_LENGTH. */
export function genlCommand(payload: Buffer): number {
  if (payload.length < GENL_HEADER_LENGTH) {
    throw KernelError.of('parse generic netlink header', 'EBADMSG', `payload of ${payload.length} bytes`);
  }
  return payload[0]!;
}
