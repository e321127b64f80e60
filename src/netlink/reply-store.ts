// The replies of a few dumps, copied out of the receive slots as they come
// and read back dump by dump once all of them have ended. A reader that
// merges replies into long-lived objects must not start before a dump is
// whole (a dump can restart), and decoding into objects held that long is
// what costs in V8; bytes kept in one reused buffer cost neither.

const NONE = -1;

export class ReplyStore {
  private buf = Buffer.allocUnsafe(1 << 16);
  private pos = 0;
  /** Per reply: where its bytes start and end in `buf`, and the next reply of its dump. */
  private starts = new Int32Array(1024);
  private ends = new Int32Array(1024);
  private nexts = new Int32Array(1024);
  private count = 0;
  /** Per dump: its first and last reply. */
  private heads = new Int32Array(128);
  private tails = new Int32Array(128);

  /** Empties the store for `dumps` dumps. */
  clear(dumps: number): void {
    if (dumps > this.heads.length) {
      this.heads = new Int32Array(dumps);
      this.tails = new Int32Array(dumps);
    }
    this.heads.fill(NONE, 0, dumps);
    this.tails.fill(NONE, 0, dumps);
    this.pos = 0;
    this.count = 0;
  }

  /** Keeps a copy of one reply of dump `k`: bytes `start` to `end` of `b`. */
  add(k: number, b: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.pos + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    if (this.count === this.starts.length) {
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.nexts = grow(this.nexts);
    }
    const r = this.count++;
    b.copy(this.buf, this.pos, start, end);
    this.starts[r] = this.pos;
    this.ends[r] = this.pos + n;
    this.nexts[r] = NONE;
    this.pos += n;
    if (this.tails[k] === NONE) this.heads[k] = r;
    else this.nexts[this.tails[k]!] = r;
    this.tails[k] = r;
  }

  /** Dump `k` starts over: its replies so far are dropped. */
  reset(k: number): void {
    this.heads[k] = NONE;
    this.tails[k] = NONE;
  }

  /** Each reply of dump `k`, in the order it came. */
  each(k: number, read: (b: Buffer, start: number, end: number) => void): void {
    for (let r = this.heads[k]!; r !== NONE; r = this.nexts[r]!) read(this.buf, this.starts[r]!, this.ends[r]!);
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
