// A netlink peer for Conn's unit tests: it answers at the message level as
// the kernel's netlink does (errors and acks, a receive queue that drops
// what does not fit and then reports ENOBUFS). What the kernel really does
// is tested in test/kernel.
import type { MessageSocket } from '../../src/netlink/conn.js';
import { KernelError } from '../../src/netlink/error.js';
import { align, Flags, HEADER_LENGTH, MessageType } from '../../src/netlink/message.js';
import { Outbox } from '../../src/netlink/outbox.js';

export interface Sent {
  type: number;
  flags: number;
  seq: number;
  tag: number;
}

/** A netlink peer: `answer(tag)` says what request `tag` (its first payload byte) gets: 0 (done), an errno, or reply bytes. */
export class FakeSocket implements MessageSocket {
  readonly sendBuffer = Buffer.alloc(1024);
  closed = false;
  readonly sent: Sent[] = [];
  sends = 0;
  private queue: Buffer[] = [];
  private queued = 0;
  private overrun = false;

  constructor(
    private readonly answer: (tag: number) => number | Buffer,
    private readonly capacity = Infinity,
  ) {}

  send(len: number): void {
    this.sends++;
    for (let off = 0; off < len; ) {
      const b = this.sendBuffer;
      const m: Sent = {
        type: b.readUInt16LE(off + 4),
        flags: b.readUInt16LE(off + 6),
        seq: b.readUInt32LE(off + 8),
        tag: b[off + HEADER_LENGTH]!,
      };
      this.sent.push(m);
      const a = this.answer(m.tag);
      if (Buffer.isBuffer(a)) this.put(m.seq, m.type, 0, a);
      if (typeof a === 'number' && a !== 0) this.put(m.seq, MessageType.Error, Flags.Capped, status(-a, m));
      else if (m.flags & Flags.Ack) this.put(m.seq, MessageType.Error, Flags.Capped, status(0, m));
      off += align(b.readUInt32LE(off));
    }
  }

  receive(each: (datagram: Buffer) => void): number {
    if (!this.queue.length && this.overrun) {
      this.overrun = false;
      throw KernelError.of('recvmsg', 'ENOBUFS');
    }
    const n = this.queue.length;
    for (const d of this.queue.splice(0)) each(d);
    this.queued = 0;
    return n;
  }

  close(): void {
    this.closed = true;
  }

  private put(seq: number, type: number, flags: number, payload: Buffer): void {
    if (this.queued + payload.length > this.capacity) {
      this.overrun = true;
      return;
    }
    const d = Buffer.alloc(align(HEADER_LENGTH + payload.length));
    d.writeUInt32LE(HEADER_LENGTH + payload.length, 0);
    d.writeUInt16LE(type, 4);
    d.writeUInt16LE(flags, 6);
    d.writeUInt32LE(seq, 8);
    payload.copy(d, HEADER_LENGTH);
    this.queue.push(d);
    this.queued += payload.length;
  }
}

/** NLMSG_ERROR's payload: the error (0 for an ack), then the request's header (capped). */
function status(error: number, m: Sent): Buffer {
  const p = Buffer.alloc(4 + HEADER_LENGTH);
  p.writeInt32LE(error, 0);
  p.writeUInt16LE(m.type, 8);
  p.writeUInt32LE(m.seq, 12);
  return p;
}

/** `count` requests of 40 bytes, the first payload byte of request i being `i % 256` (its tag). */
export function requests(count: number): Outbox {
  const box = new Outbox(1024);
  for (let i = 0; i < count; i++) {
    box.begin(30, i % 256).bytes(1, new Uint8Array(16));
    box.end();
  }
  return box;
}
