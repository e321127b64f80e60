import { DumpReader, REPLY_WAIT_MS, type DumpEnd } from './dump.js';
import { KernelError } from './error.js';
import { align, Flags, HEADER_LENGTH, MessageType, parseMessages, parseStatus, writeMessage, type PayloadReader } from './message.js';
import { Pipeline } from './pipeline.js';
import { NetlinkSocket, type SocketOptions } from './socket.js';

export interface Request {
  type: number;
  /** Extra header flags; Request (and Ack where needed) are added here. */
  flags?: number;
  payload: Uint8Array;
}

export type Outcome = { ok: true; replies: Buffer[] } | { ok: false; error: KernelError };

/** The outcome of a write: done, nothing to return. Shared, so a big batch allocates none. */
const DONE: Outcome = Object.freeze({ ok: true, replies: Object.freeze([]) as unknown as Buffer[] });

/** A dump restarted this often because of concurrent changes gives up. */
const DUMP_ATTEMPTS = 5;

/**
 * Request/response over one netlink socket, matched by sequence number.
 * Synchronous: the kernel answers inside sendmsg, so replies are read right
 * after sending, and every exchange leaves the socket with nothing pending.
 */
/** Syscalls made so far: what batching saves is visible here. */
export interface IoCounters {
  sends: number;
  receives: number;
  /** io_uring_enter calls, each carrying many dumps' sends and receives. */
  rings: number;
}

export interface ConnOptions extends SocketOptions {
  /** Run many dumps at once through io_uring where the kernel allows it. Default true. */
  ioUring?: boolean;
}

export class Conn {
  readonly io: IoCounters = { sends: 0, receives: 0, rings: 0 };
  private seq = Math.floor(Math.random() * 0x7fffffff);
  /** Opened at the first dumpMany; null once io_uring turned out unavailable (or is not wanted). */
  private pipe: Pipeline | null | undefined;

  private constructor(private readonly sock: NetlinkSocket, private readonly protocol: number, private readonly opts: ConnOptions) {
    if (opts.ioUring === false) this.pipe = null;
  }

  static open(protocol: number, opts: ConnOptions = {}): Conn {
    return new Conn(NetlinkSocket.open(protocol, opts), protocol, opts);
  }

  get closed(): boolean {
    return this.sock.closed;
  }

  /** Largest request payload that fits in one sendmsg. */
  get maxPayload(): number {
    return this.sock.sendBuffer.length - HEADER_LENGTH;
  }

  close(): void {
    this.pipe?.close();
    this.sock.close();
  }

  /**
   * Sends many requests, packed into as few sendmsg calls as the send
   * buffer allows, and returns one outcome per request, in order. Only the
   * last request of each sendmsg asks for an ack: the kernel still answers
   * every failure on its own (and goes on with the rest), and the final ack
   * proves that all before it were processed. Replies to queries (non-dump
   * GETs) come back as copied payloads.
   */
  execute(requests: readonly Request[]): Outcome[] {
    const out: Outcome[] = new Array(requests.length);
    for (let i = 0; i < requests.length; ) i = this.executeChunk(requests, i, out);
    return out;
  }

  /**
   * Runs one dump, handing each reply's payload to `read` while it is valid.
   * Restarts (bounded) when the kernel marks the dump interrupted by a
   * concurrent change or replies were lost; `reset` is called before each
   * restart so the caller can drop what it collected.
   */
  dump(req: Request, read: PayloadReader, reset: () => void): void {
    for (let attempt = 1; ; attempt++) {
      const r = this.dumpOnce(req, read);
      if (r === 'ok') return;
      if (attempt >= DUMP_ATTEMPTS) {
        throw KernelError.of('dump', r === 'interrupted' ? 'EINTR' : 'ENOBUFS', `gave up after ${attempt} attempts`);
      }
      reset();
    }
  }

  /**
   * Runs many dumps: `read(i, buf, start, end)` gets the replies of dump i, and
   * `reset(i)` comes before dump i restarts. Through io_uring, a pool's
   * width of dumps per syscall; else one after another, as dump() does.
   */
  dumpMany(requests: readonly Request[], read: (i: number, buf: Buffer, start: number, end: number) => void, reset: (i: number) => void): void {
    const p = requests.length > 1 ? this.pipeline() : null;
    if (!p) {
      requests.forEach((r, i) => this.dump(r, (b, s, e) => read(i, b, s, e), () => reset(i)));
      return;
    }
    for (let first = 0; first < requests.length; first += p.width) {
      const group = requests.slice(first, first + p.width);
      this.io.rings++;
      let ends: DumpEnd[];
      try {
        ends = p.run(group, first, read);
      } catch (e) {
        if (!(e instanceof KernelError) || !e.op.startsWith('io_uring')) throw e;
        // The ring itself failed: give it up, and run the rest one by one.
        p.close();
        this.pipe = null;
        group.forEach((_, i) => reset(first + i));
        this.dumpMany(requests.slice(first), (i, b, s, e) => read(first + i, b, s, e), (i) => reset(first + i));
        return;
      }
      // Interrupted by a concurrent change, or replies lost: that one again, alone (bounded retries).
      ends.forEach((end, i) => {
        if (end === 'ok') return;
        reset(first + i);
        this.dump(group[i]!, (b, s, e) => read(first + i, b, s, e), () => reset(first + i));
      });
    }
  }

  /** Opens what dumpMany runs on now rather than at its first use. */
  prepareDumps(): void {
    this.pipeline();
  }

  private pipeline(): Pipeline | null {
    if (this.pipe === undefined) {
      try {
        this.pipe = Pipeline.open(this.protocol, this.opts);
      } catch (e) {
        // No io_uring here (ENOSYS, or EPERM under a seccomp profile): dumps go one by one.
        if (!(e instanceof KernelError)) throw e;
        this.pipe = null;
      }
    }
    return this.pipe;
  }

  private send(len: number): void {
    this.io.sends++;
    this.sock.send(len);
  }

  private receive(each: (datagram: Buffer) => void, waitMs: number): number {
    this.io.receives++;
    return this.sock.receive(each, waitMs);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private executeChunk(requests: readonly Request[], first: number, out: Outcome[]): number {
    const buf = this.sock.sendBuffer;
    let end = 0;
    let lastOff = 0;
    let last = first;
    const base = (this.seq + 1) >>> 0;
    while (last < requests.length) {
      const r = requests[last]!;
      const size = align(HEADER_LENGTH + r.payload.length);
      if (end + size > buf.length) {
        if (last > first) break;
        out[last] = { ok: false, error: KernelError.of('send', 'EMSGSIZE', `request of ${size} bytes`) };
        return last + 1;
      }
      lastOff = end;
      end = writeMessage(buf, end, r.type, Flags.Request | (r.flags ?? 0), this.nextSeq(), r.payload);
      last++;
    }
    buf.writeUInt16LE(buf.readUInt16LE(lastOff + 6) | Flags.Ack, lastOff + 6);

    const finalSeq = this.seq;
    const count = last - first;
    const replies: (Buffer[] | undefined)[] = new Array(count);
    const errors: (KernelError | undefined)[] = new Array(count);
    const slot = (seq: number) => {
      const i = (seq - base) >>> 0;
      return i < count ? i : -1;
    };
    let done = false;
    let lost: KernelError | undefined;

    try {
      this.send(end);
    } catch (e) {
      for (let i = first; i < last; i++) out[i] = { ok: false, error: e as KernelError };
      return last;
    }
    while (!done) {
      let got: number;
      try {
        got = this.receive((d) => parseMessages(d, (m) => {
          const i = slot(m.seq);
          if (i < 0) return; // stray: a reply to an abandoned exchange
          if (m.type === MessageType.Error) {
            const s = parseStatus(m);
            if (s.errno) errors[i] = new KernelError('request', s.errno, s.text, first + i);
            if (m.seq === finalSeq) done = true;
          } else {
            (replies[i] ??= []).push(Buffer.from(m.payload));
          }
        }), lost ? 0 : REPLY_WAIT_MS);
      } catch (e) {
        // Replies dropped by an overrun, or a datagram we could not parse:
        // read what is left, then count every request without an answer as
        // unknown. Anything else means the socket itself is broken.
        if (!(e instanceof KernelError)) throw e;
        lost = e.errno === 'ENOBUFS'
          ? KernelError.of('receive', 'ENOBUFS', 'replies lost to a receive buffer overrun; outcome unknown')
          : e;
        if (e.errno === 'ENOBUFS' || e.errno === 'EBADMSG') continue;
        break;
      }
      if (got === 0) {
        lost ??= KernelError.of('receive', 'ETIMEDOUT', `no acknowledgement within ${REPLY_WAIT_MS} ms; outcome unknown`);
        break;
      }
    }
    for (let i = 0; i < count; i++) {
      const error = errors[i] ?? (lost && !done && !replies[i] ? lost : undefined);
      const got = replies[i];
      out[first + i] = error ? { ok: false, error } : got ? { ok: true, replies: got } : DONE;
    }
    return last;
  }

  private dumpOnce(req: Request, read: PayloadReader): DumpEnd {
    const seq = this.nextSeq();
    const end = writeMessage(this.sock.sendBuffer, 0, req.type, Flags.Request | Flags.Dump | (req.flags ?? 0), seq, req.payload);
    this.send(end);
    return new DumpReader(seq, read).finish((each, waitMs) => this.receive(each, waitMs));
  }
}
