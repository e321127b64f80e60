// Netlink attributes written: the encoder with a sticky first error.
import { KernelError } from './error.js';
import { NLA_HDRLEN } from './linux.js';
import { align } from './message.js';

/** An attribute's length (header included) is a __u16. */
const MAX_LEN = 0xffff;
const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

// Plain byte stores for values already checked: cheaper than Buffer's checked writers in the encoder's hot path.
function le16(b: Buffer, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = v >>> 8;
}
function le32(b: Buffer, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

/**
 * Builds a run of netlink attributes. The first problem (an attribute too
 * long, a value out of range) sticks and is thrown by `finish`, so encoding
 * code reads straight through without checks after every call.
 *
 * One encoder builds many messages in turn (`restart`), back to back in its
 * buffer: a batch of thousands of requests costs a few allocations, not
 * several per request. A message that outgrows the buffer moves alone to a
 * fresh one (from `allocate`); a finished message's bytes are never written
 * again.
 */
export class AttributeEncoder {
  private buf: Buffer;
  private start = 0;
  private len = 0;
  private headroom: number;
  private error: KernelError | undefined;

  /**
   * `headroom` bytes (a multiple of 4, as attributes are 4-aligned) at the
   * start of each message are left, zeroed, for the caller's own header
   * (e.g. generic netlink's). `allocate` gives every buffer, of at least
   * `capacity` bytes.
   */
  constructor(
    private readonly capacity = 128,
    headroom = 0,
    // allocUnsafe: every byte is written before it is read.
    private readonly allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size),
  ) {
    this.buf = this.allocate(Math.max(capacity, headroom + 16));
    this.headroom = headroom;
    this.begin();
  }

  /** Starts the next message after the last one finished, forgetting any error. */
  restart(headroom = this.headroom): this {
    this.headroom = headroom;
    this.start = align(this.len);
    this.error = undefined;
    this.begin();
    return this;
  }

  /** Goes on in `buf` at `at`: the next message starts there (nothing is being built). */
  moveTo(buf: Buffer, at: number): void {
    this.buf = buf;
    this.start = at;
    this.len = at;
    this.error = undefined;
  }

  /** The buffer of the message being built (or last finished), which spans `messageStart` to `end`. */
  get buffer(): Buffer {
    return this.buf;
  }
  get messageStart(): number {
    return this.start;
  }
  get end(): number {
    return this.len;
  }

  u8(type: number, v: number): this {
    if (this.check(type, v, 0xff) && this.header(type, 1)) this.buf[this.len - 1] = v;
    return this.pad();
  }
  u16(type: number, v: number): this {
    if (this.check(type, v, 0xffff) && this.header(type, 2)) le16(this.buf, this.len - 2, v);
    return this.pad();
  }
  be16(type: number, v: number): this {
    if (this.check(type, v, 0xffff) && this.header(type, 2)) {
      this.buf[this.len - 2] = v >>> 8;
      this.buf[this.len - 1] = v & 0xff;
    }
    return this.pad();
  }
  u32(type: number, v: number): this {
    if (this.check(type, v, 0xffffffff) && this.header(type, 4)) le32(this.buf, this.len - 4, v);
    return this;
  }
  be32(type: number, v: number): this {
    if (this.check(type, v, 0xffffffff) && this.header(type, 4)) this.buf.writeUInt32BE(v, this.len - 4);
    return this;
  }
  u64(type: number, v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) return this.fail(type, `${v} does not fit in 64 bits`);
    this.header(type, 8);
    this.buf.writeBigUInt64LE(v, this.len - 8);
    return this;
  }
  bytes(type: number, v: Uint8Array): this {
    if (this.header(type, v.length)) this.buf.set(v, this.len - v.length);
    return this.pad();
  }
  /** Two u32s, value then selector (NLA_BITFIELD32, IPVS's struct ip_vs_flags). */
  bitfield32(type: number, value: number, selector: number): this {
    if (!isU32(value) || !isU32(selector)) return this.fail(type, `${value}/${selector} does not fit in 32 bits`);
    this.header(type, 8);
    le32(this.buf, this.len - 8, value);
    le32(this.buf, this.len - 4, selector);
    return this;
  }
  /**
   * Reserves an attribute of `size` bytes and returns where its value goes
   * in `buffer` (write it there before encoding anything else), or -1 when
   * it cannot be had (the error sticks).
   */
  space(type: number, size: number): number {
    if (!this.header(type, size)) return -1;
    const at = this.len - size;
    this.pad();
    return at;
  }
  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING expects. */
  string(type: number, v: string): this {
    const size = Buffer.byteLength(v) + 1;
    if (this.header(type, size)) {
      this.buf.write(v, this.len - size, 'utf8');
      this.buf[this.len - 1] = 0;
    }
    return this.pad();
  }
  nested(type: number, fill: (e: this) => void): this {
    const at = this.open(type);
    fill(this);
    return this.close(type, at);
  }
  /** Opens a nested attribute: what follows is inside it until `close(type, at)`, `at` being what this returns. */
  open(type: number): number {
    const at = this.len - this.start;
    this.header(type, 0);
    return at;
  }
  close(type: number, at: number): this {
    const size = this.len - this.start - at;
    if (size > MAX_LEN) return this.fail(type, `nested attribute of ${size} bytes`);
    // `buf` may have been replaced while growing: address it from `start`.
    this.buf.writeUInt16LE(size, this.start + at);
    return this;
  }

  /** The encoded bytes (headroom included), or the first error. */
  finish(): Buffer {
    this.verify();
    return this.buf.subarray(this.start, this.len);
  }

  /** Throws the first error of the message being built. */
  verify(): void {
    if (this.error) throw this.error;
  }

  private begin(): void {
    this.reserve(this.headroom);
    // A loop, not fill(): a few bytes, thousands of times.
    for (let i = this.start; i < this.start + this.headroom; i++) this.buf[i] = 0;
    this.len = this.start + this.headroom;
  }

  private check(type: number, v: number, max: number): boolean {
    if (Number.isInteger(v) && v >= 0 && v <= max) return true;
    this.fail(type, `${v} does not fit in ${max === 0xff ? 8 : max === 0xffff ? 16 : 32} bits`);
    return false;
  }

  private header(type: number, size: number): boolean {
    if (NLA_HDRLEN + size > MAX_LEN) {
      this.fail(type, `${size} bytes is too long`);
      return false;
    }
    this.reserve(NLA_HDRLEN + align(size));
    le16(this.buf, this.len, NLA_HDRLEN + size);
    le16(this.buf, this.len + 2, type);
    this.len += NLA_HDRLEN + size;
    return true;
  }

  private pad(): this {
    while ((this.len - this.start) & 3) this.buf[this.len++] = 0;
    return this;
  }

  /** Room for `n` more bytes: a message too big for what is left moves alone to a fresh buffer. */
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const used = this.len - this.start;
    const next = this.allocate(Math.max(this.capacity, used + n));
    this.buf.copy(next, 0, this.start, this.len);
    this.buf = next;
    this.start = 0;
    this.len = used;
  }

  private fail(type: number, why: string): this {
    this.error ??= KernelError.of('encode attribute', 'EINVAL', `attribute ${type}: ${why}`);
    return this;
  }
}
