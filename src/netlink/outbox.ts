// Requests waiting for the kernel, encoded back to back in pages the size
// of a sendmsg. A batch of thousands is a few allocations (no Buffer or
// object per request), each page goes out in one copy, and sent pages are
// kept for the next batch: fresh memory is dear (a page fault costs about
// 300 µs in user-mode Linux). Messages are numbered from the first ever put
// in; `consume` drops them from the head once sent, so the box is a FIFO
// that a busy handle never has to empty.
import { AttributeEncoder } from './attribute-encoder.js';
import { KernelError } from './error.js';
import { align, HEADER_LENGTH } from './message.js';

/** Sent pages kept for reuse, at most (the rest go to the garbage collector). */
const SPARE_PAGES = 32;

export class Outbox {
  private readonly e: AttributeEncoder;
  private readonly spare: Buffer[] = [];
  /** Pages from the one holding message `head` on; the last is being written. Page `firstPage + k` is pages[k]. */
  private pages: Buffer[] = [];
  private firstPage = 0;
  /** Message `head + k` is bytes starts[k] to ends[k] of page pageOf[k]. */
  private pageOf = new Uint32Array(256);
  private starts = new Uint32Array(256);
  private ends = new Uint32Array(256);
  private head = 0;
  private held = 0;
  private type = 0;

  /** `pageBytes`: the most one sendmsg carries; a longer message gets a page of its own. */
  constructor(private readonly pageBytes = 64 * 1024) {
    this.e = new AttributeEncoder(pageBytes, HEADER_LENGTH, (size) => this.newPage(size));
    this.e.moveTo(this.pages[0]!, 0);
  }

  /** The number the next message gets. */
  get next(): number {
    return this.head + this.held;
  }

  /** The first message still held. */
  get first(): number {
    return this.head;
  }

  /** The page of message `i`, which spans `offset(i)` to `limit(i)` of it (its header's seq and flags are Conn's to set). */
  page(i: number): Buffer {
    return this.pages[this.pageOf[i - this.head]! - this.firstPage]!;
  }
  offset(i: number): number {
    return this.starts[i - this.head]!;
  }
  limit(i: number): number {
    return this.ends[i - this.head]!;
  }
  /** Message `i`'s payload, a view (valid until the box next changes). */
  payload(i: number): Buffer {
    return this.page(i).subarray(this.offset(i) + HEADER_LENGTH, this.limit(i));
  }

  /**
   * Starts a message of netlink `type`, its payload opening with `header`, a
   * 4-byte family header as a little-endian u32 (generic netlink's: command,
   * version) when given. Encode the attributes with the encoder returned,
   * then `end()`.
   */
  begin(type: number, header?: number): AttributeEncoder {
    const e = this.e.restart(header === undefined ? HEADER_LENGTH : HEADER_LENGTH + 4);
    if (header !== undefined) e.buffer.writeUInt32LE(header, e.messageStart + HEADER_LENGTH);
    this.type = type;
    return e;
  }

  /** Ends the message begun last and returns its number; if its encoding failed, drops it and throws the error. */
  end(): number {
    const e = this.e;
    try {
      e.verify();
    } catch (err) {
      e.moveTo(e.buffer, e.messageStart);
      throw err;
    }
    const at = e.messageStart;
    const buf = e.buffer;
    buf.writeUInt32LE(e.end - at, at);
    buf.writeUInt16LE(this.type, at + 4);
    buf.writeUInt16LE(0, at + 6);
    buf.writeUInt32LE(0, at + 8);
    buf.writeUInt32LE(0, at + 12);
    if (this.held === this.starts.length) this.grow();
    this.pageOf[this.held] = this.firstPage + this.pages.length - 1;
    this.starts[this.held] = at;
    this.ends[this.held] = e.end;
    return this.head + this.held++;
  }

  /** Copies message `i` to the start of `to` with header `flags` and `seq`; its length. */
  stage(i: number, to: Buffer, flags: number, seq: number): number {
    const at = this.offset(i);
    const len = this.limit(i) - at;
    if (len > to.length) throw KernelError.of('send', 'EMSGSIZE', `request of ${len} bytes`);
    this.page(i).copy(to, 0, at, at + len);
    to.writeUInt16LE(flags, 6);
    to.writeUInt32LE(seq, 8);
    return len;
  }

  /** Drops the messages `from` on (a batch refused before any was sent). */
  truncate(from: number): void {
    const keep = from - this.head;
    if (keep >= this.held) return;
    this.held = Math.max(0, keep);
    const last = this.held ? this.pageOf[this.held - 1]! - this.firstPage : 0;
    for (const p of this.pages.splice(last + 1)) this.release(p);
    this.e.moveTo(this.pages[last]!, this.held ? align(this.ends[this.held - 1]!) : 0);
  }

  /** Drops every message. */
  clear(): void {
    this.consume(this.next);
  }

  /** Drops the messages before `upTo`: they have been sent. */
  consume(upTo: number): void {
    const k = Math.min(upTo - this.head, this.held);
    if (k <= 0) return;
    this.head += k;
    this.held -= k;
    if (!this.held) {
      // Everything sent: writing starts again at the top of the current page.
      const current = this.pages.pop()!;
      for (const p of this.pages) this.release(p);
      this.firstPage += this.pages.length;
      this.pages = [current];
      this.e.moveTo(current, 0);
      return;
    }
    this.pageOf.copyWithin(0, k, k + this.held);
    this.starts.copyWithin(0, k, k + this.held);
    this.ends.copyWithin(0, k, k + this.held);
    const drop = this.pageOf[0]! - this.firstPage;
    for (const p of this.pages.splice(0, drop)) this.release(p);
    this.firstPage += drop;
  }

  private newPage(size: number): Buffer {
    const p =
      size <= this.pageBytes && this.spare.length
        ? this.spare.pop()!
        : Buffer.allocUnsafe(Math.max(size, this.pageBytes));
    this.pages.push(p);
    return p;
  }

  private release(p: Buffer): void {
    if (p.length === this.pageBytes && this.spare.length < SPARE_PAGES) this.spare.push(p);
  }

  private grow(): void {
    const grown = (a: Uint32Array) => {
      const b = new Uint32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.pageOf = grown(this.pageOf);
    this.starts = grown(this.starts);
    this.ends = grown(this.ends);
  }
}
