// Netlink attributes read: the decoder with a sticky first error.
import { KernelError } from './error.js';
import { NLA_HDRLEN, NLA_TYPE_MASK } from './linux.js';
import { align } from './message.js';

/**
 * Walks a run of netlink attributes:
 *
 *   const d = new AttributeDecoder(payload);
 *   while (d.next()) switch (d.type()) { case PORT: port = d.be16(); break; }
 *   d.finish();
 *
 * A malformed header or a value of the wrong size sticks as the first error
 * (the accessors then return zero values) and `finish` throws it.
 */
export class AttributeDecoder {
  private off: number;
  private cur = -1;
  private curLen = 0;
  private curType = 0;
  private error: KernelError | undefined;
  private spare: AttributeDecoder | undefined;

  constructor(
    private buf: Buffer,
    offset = 0,
    private end = buf.length,
  ) {
    this.off = offset;
  }

  /** Walks another run of attributes, from the start, forgetting any error. */
  reset(buf: Buffer, offset = 0, end = buf.length): this {
    this.buf = buf;
    this.off = offset;
    this.end = end;
    this.cur = -1;
    this.curLen = 0;
    this.error = undefined;
    return this;
  }

  next(): boolean {
    if (this.error || this.off + NLA_HDRLEN > this.end) return false;
    const len = this.buf.readUInt16LE(this.off);
    if (len < NLA_HDRLEN || this.off + len > this.end) {
      this.fail(`attribute length ${len} at offset ${this.off} overruns ${this.end}`);
      return false;
    }
    this.curType = this.buf.readUInt16LE(this.off + 2) & NLA_TYPE_MASK;
    this.cur = this.off + NLA_HDRLEN;
    this.curLen = len - NLA_HDRLEN;
    this.off += align(len);
    return true;
  }

  type(): number {
    return this.curType;
  }

  u8(): number {
    return this.sized(1) ? this.buf.readUInt8(this.cur) : 0;
  }
  u16(): number {
    return this.sized(2) ? this.buf.readUInt16LE(this.cur) : 0;
  }
  be16(): number {
    return this.sized(2) ? this.buf.readUInt16BE(this.cur) : 0;
  }
  u32(): number {
    return this.sized(4) ? this.buf.readUInt32LE(this.cur) : 0;
  }
  be32(): number {
    return this.sized(4) ? this.buf.readUInt32BE(this.cur) : 0;
  }
  u64(): bigint {
    return this.sized(8) ? this.buf.readBigUInt64LE(this.cur) : 0n;
  }
  /**
   * An unsigned integer of whatever width the attribute carries (1, 2, 4 or
   * 8 bytes), as a number: exact below 2^53, the nearest double above.
   */
  uint(): number {
    switch (this.curLen) {
      case 1:
        return this.buf[this.cur]!;
      case 2:
        return this.buf.readUInt16LE(this.cur);
      case 4:
        return this.buf.readUInt32LE(this.cur);
      case 8:
        return this.buf.readUInt32LE(this.cur + 4) * 0x100000000 + this.buf.readUInt32LE(this.cur);
    }
    this.fail(`attribute ${this.curType}: ${this.curLen} bytes is not an integer`);
    return 0;
  }
  /**
   * The attribute's value in place, `length()` bytes from `offset()` of `buffer`: read it before the buffer is reused.
   */
  get buffer(): Buffer {
    return this.buf;
  }
  offset(): number {
    return this.cur;
  }
  length(): number {
    return this.curLen;
  }
  /** A copy of the attribute's bytes. */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(this.cur, this.cur + this.curLen));
  }
  /** A string, with the kernel's NUL terminator dropped. */
  string(): string {
    let e = this.cur + this.curLen;
    while (e > this.cur && this.buf[e - 1] === 0) e--;
    return this.buf.toString('utf8', this.cur, e);
  }
  /**
   * A decoder of the current attribute's contents, reused by every call:
   * valid until the next `enter` here (a listing walks thousands of nests
   * without allocating a decoder for each). Its errors stay its own.
   */
  enter(): AttributeDecoder {
    this.spare ??= new AttributeDecoder(this.buf, 0, 0);
    return this.spare.reset(this.buf, this.cur, this.cur + this.curLen);
  }
  /** A decoder of the current attribute's contents, to read now or later; its errors stay its own. */
  child(): AttributeDecoder {
    return new AttributeDecoder(this.buf, this.cur, this.cur + this.curLen);
  }
  /** Decodes the current attribute's contents with a child decoder; its error becomes ours. */
  nested(read: (d: AttributeDecoder) => void): void {
    const child = this.child();
    read(child);
    if (child.error) this.error ??= child.error;
  }

  err(): KernelError | undefined {
    return this.error;
  }

  finish(): void {
    if (this.error) throw this.error;
  }

  private sized(n: number): boolean {
    if (this.curLen === n) return true;
    this.fail(`attribute ${this.curType}: want ${n} bytes, got ${this.curLen}`);
    return false;
  }

  private fail(why: string): void {
    this.error ??= KernelError.of('decode attribute', 'EBADMSG', why);
  }
}
