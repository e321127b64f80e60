import { KernelError } from './error.js';

export const HEADER_LENGTH = 16;

/** Control message types (linux/netlink.h). */
export const MessageType = { Noop: 1, Error: 2, Done: 3, Overrun: 4 } as const;

/** Header flags (linux/netlink.h). */
export const Flags = {
  Request: 0x1,
  Multi: 0x2,
  Ack: 0x4,
  Echo: 0x8,
  DumpIntr: 0x10,
  Dump: 0x300,
  /** On NLMSG_ERROR: the original request's payload was left out. */
  Capped: 0x100,
  /** On NLMSG_ERROR/DONE: extended-ack attributes follow. */
  AckTlvs: 0x200,
} as const;

const EXTACK_MSG = 1;

export interface Message {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  /** The payload is bytes `start` to `end` of `buf`, valid only while the receive buffer is: copy it to keep it. */
  buf: Buffer;
  start: number;
  end: number;
  /** The payload as a Buffer of its own (a view: same validity). */
  readonly payload: Buffer;
}

/** Where a message's payload lies; readers of dumps take it in place (a listing has thousands). */
export type PayloadReader = (buf: Buffer, start: number, end: number) => void;

export const align = (n: number): number => (n + 3) & ~3;

/** Writes one message at `off` of `buf`; returns the aligned end. */
export function writeMessage(
  buf: Buffer,
  off: number,
  type: number,
  flags: number,
  seq: number,
  payload: Uint8Array,
): number {
  const len = HEADER_LENGTH + payload.length;
  buf.writeUInt32LE(len, off);
  buf.writeUInt16LE(type, off + 4);
  buf.writeUInt16LE(flags, off + 6);
  buf.writeUInt32LE(seq, off + 8);
  buf.writeUInt32LE(0, off + 12);
  buf.set(payload, off + HEADER_LENGTH);
  const end = off + align(len);
  buf.fill(0, off + len, end);
  return end;
}

/** Splits one datagram into its messages; each is valid only during its `each`. */
export function parseMessages(datagram: Buffer, each: (m: Message) => void): void {
  const m: Message = {
    type: 0,
    flags: 0,
    seq: 0,
    portId: 0,
    buf: datagram,
    start: 0,
    end: 0,
    get payload() {
      return this.buf.subarray(this.start, this.end);
    },
  };
  let off = 0;
  while (off + HEADER_LENGTH <= datagram.length) {
    const len = datagram.readUInt32LE(off);
    if (len < HEADER_LENGTH || off + len > datagram.length) {
      throw KernelError.of('parse netlink message', 'EBADMSG', `length ${len} at offset ${off} of ${datagram.length}`);
    }
    // One object for the datagram's messages: `each` reads it before the next.
    m.type = datagram.readUInt16LE(off + 4);
    m.flags = datagram.readUInt16LE(off + 6);
    m.seq = datagram.readUInt32LE(off + 8);
    m.portId = datagram.readUInt32LE(off + 12);
    m.start = off + HEADER_LENGTH;
    m.end = off + len;
    each(m);
    off += align(len);
  }
}

export interface Status {
  /** 0 for an ack, else a positive errno. */
  errno: number;
  /** The kernel's extended-ack message, if any. */
  text: string;
}

/** Reads the status carried by NLMSG_ERROR (an ack or an error) or NLMSG_DONE. */
export function parseStatus(m: Pick<Message, 'type' | 'flags' | 'payload'>): Status {
  const p = m.payload;
  if (p.length < 4) throw KernelError.of('parse netlink status', 'EBADMSG', `payload of ${p.length} bytes`);
  const errno = -p.readInt32LE(0) | 0;
  let text = '';
  if (m.flags & Flags.AckTlvs) {
    let off = 4;
    if (m.type === MessageType.Error) {
      // The echoed request: its header only when capped, else all of it.
      off += m.flags & Flags.Capped || p.length < 4 + HEADER_LENGTH ? HEADER_LENGTH : p.readUInt32LE(4);
    }
    while (off + 4 <= p.length) {
      const len = p.readUInt16LE(off);
      if (len < 4 || off + len > p.length) break;
      if ((p.readUInt16LE(off + 2) & 0x3fff) === EXTACK_MSG) {
        text = p.toString('utf8', off + 4, off + len).replace(/\0+$/, '');
      }
      off += align(len);
    }
  }
  return { errno, text };
}
