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
  /**
   * Three u32s per message held (its page, start and end): message `head + k`
   * is at slot `base + k`. Sent ones are dropped by moving `base`, and the
   * slots are compacted only when they run out, so a consume costs O(1).
   */
  private index = new Uint32Array(3 * 256);
  private base = 0;
  private head = 0;
  private held = 0;
  private type = 0;
  private flags = 0;

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

  /**
   * The page of message `i`, which spans `offset(i)` to `limit(i)` of it (its header's seq and flags are Conn's to
   * set).
   */
  page(i: number): Buffer {
    return this.pages[this.index[this.slot(i)]! - this.firstPage]!;
  }
  offset(i: number): number {
    return this.index[this.slot(i) + 1]!;
  }
  limit(i: number): number {
    return this.index[this.slot(i) + 2]!;
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
    const e = this.beginStruct(type, header === undefined ? 0 : 4);
    if (header !== undefined) e.buffer.writeUInt32LE(header, e.messageStart + HEADER_LENGTH);
    return e;
  }

  /**
   * Starts a message of netlink `type` whose payload opens with a family
   * header of `length` bytes (a multiple of 4), zeroed: write its fields from
   * `messageStart + HEADER_LENGTH` of the encoder's buffer before encoding
   * any attribute. `flags` go into the message's header beside the ones Conn
   * sets (a create's NLM_F_CREATE | NLM_F_EXCL).
   */
  beginStruct(type: number, length: number, flags = 0): AttributeEncoder {
    const e = this.e.restart(HEADER_LENGTH + length);
    this.type = type;
    this.flags = flags;
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
    buf.writeUInt16LE(this.flags, at + 6);
    buf.writeUInt32LE(0, at + 8);
    buf.writeUInt32LE(0, at + 12);
    if ((this.base + this.held) * 3 === this.index.length) this.makeRoom();
    const n = this.head + this.held++;
    const x = this.slot(n);
    this.index[x] = this.firstPage + this.pages.length - 1;
    this.index[x + 1] = at;
    this.index[x + 2] = e.end;
    return n;
  }

  /** Copies message `i` to the start of `to` with header `flags` added to its own, and `seq`; its length. */
  stage(i: number, to: Buffer, flags: number, seq: number): number {
    const at = this.offset(i);
    const len = this.limit(i) - at;
    if (len > to.length) throw KernelError.of('send', 'EMSGSIZE', `request of ${len} bytes`);
    this.page(i).copy(to, 0, at, at + len);
    to.writeUInt16LE(to.readUInt16LE(6) | flags, 6);
    to.writeUInt32LE(seq, 8);
    return len;
  }

  /** Drops the messages `from` on (a batch refused before any was sent). */
  truncate(from: number): void {
    const keep = from - this.head;
    if (keep >= this.held) return;
    this.held = Math.max(0, keep);
    const lastOne = this.head + this.held - 1;
    const last = this.held ? this.index[this.slot(lastOne)]! - this.firstPage : 0;
    for (const p of this.pages.splice(last + 1)) this.release(p);
    this.e.moveTo(this.pages[last]!, this.held ? align(this.limit(lastOne)) : 0);
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
    this.base += k;
    if (!this.held) {
      this.base = 0;
      // Everything sent: writing starts again at the top of the current page.
      const current = this.pages.pop()!;
      for (const p of this.pages) this.release(p);
      this.firstPage += this.pages.length;
      this.pages = [current];
      this.e.moveTo(current, 0);
      return;
    }
    const drop = this.index[this.slot(this.head)]! - this.firstPage;
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

  private slot(i: number): number {
    return (this.base + i - this.head) * 3;
  }

  /** The slots have run out: the held ones move to the front, into a twice bigger array unless half were free. */
  private makeRoom(): void {
    const from = this.base * 3;
    const to = (this.base + this.held) * 3;
    if (this.base >= this.held) {
      this.index.copyWithin(0, from, to);
    } else {
      const grown = new Uint32Array(this.index.length * 2);
      grown.set(this.index.subarray(from, to));
      this.index = grown;
    }
    this.base = 0;
  }
}
