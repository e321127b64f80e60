import { DumpReader, type DumpEnd } from './dump.js';
import { KernelError } from './error.js';
import { Flags, MessageType, parseMessages, parseStatus, type PayloadReader } from './message.js';
import type { Outbox } from './outbox.js';
import { Pipeline } from './pipeline.js';
import { NetlinkSocket, type SocketOptions } from './socket.js';

export type Outcome = { ok: true; replies: Buffer[] } | { ok: false; error: KernelError };

/** The outcome of a write: done, nothing to return. Shared, so a big batch allocates none. */
const DONE: Outcome = Object.freeze({ ok: true, replies: Object.freeze([]) as unknown as Buffer[] });

/** A dump restarted this often because of concurrent changes gives up. */
const DUMP_ATTEMPTS = 5;

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

/** What Conn needs of a socket (NetlinkSocket's): a fake one tests Conn's bookkeeping on the host. */
export interface MessageSocket {
  readonly sendBuffer: Buffer;
  readonly closed: boolean;
  /** Sends the first `len` bytes of sendBuffer as one datagram. */
  send(len: number): void;
  /**
   * Hands each queued datagram to `each` (valid during the call), never waiting; the number read. Throws KernelError
   * ENOBUFS after an overrun.
   */
  receive(each: (datagram: Buffer) => void): number;
  close(): void;
}

/**
 * Request/response over one netlink socket, matched by sequence number.
 * Synchronous and never waiting: the kernel answers inside sendmsg, so
 * replies are read right after sending, and every exchange leaves the socket
 * with nothing pending.
 */
export class Conn {
  readonly io: IoCounters = { sends: 0, receives: 0, rings: 0 };
  private seq = Math.floor(Math.random() * 0x7fffffff);
  /** Opened at the first dumpMany; null once io_uring turned out unavailable (or is not wanted). */
  private pipe: Pipeline | null | undefined;

  private constructor(
    private readonly sock: MessageSocket,
    private readonly protocol: number,
    private readonly opts: ConnOptions,
  ) {
    if (opts.ioUring === false) this.pipe = null;
  }

  static open(protocol: number, opts: ConnOptions = {}): Conn {
    return new Conn(NetlinkSocket.open(protocol, opts), protocol, opts);
  }

  /** A Conn over any socket, dumps one by one (no io_uring pool). */
  static over(sock: MessageSocket): Conn {
    return new Conn(sock, 0, { ioUring: false });
  }

  get closed(): boolean {
    return this.sock.closed;
  }

  /** Bytes of one sendmsg: the page size of an Outbox that feeds this Conn best. */
  get sendBytes(): number {
    return this.sock.sendBuffer.length;
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
  execute(box: Outbox, first = box.first, last = box.next): Outcome[] {
    const out: Outcome[] = new Array(last - first);
    for (let i = first; i < last; ) i = this.executeChunk(box, i, last, first, out);
    return out;
  }

  /**
   * Runs one dump, handing each reply's payload to `read` while it is valid.
   * Restarts (bounded) when the kernel marks the dump interrupted by a
   * concurrent change or replies were lost; `reset` is called before each
   * restart so the caller can drop what it collected.
   */
  dump(box: Outbox, i: number, read: PayloadReader, reset: () => void): void {
    for (let attempt = 1; ; attempt++) {
      const r = this.dumpOnce(box, i, read);
      if (r === 'ok') return;
      if (attempt >= DUMP_ATTEMPTS) {
        throw KernelError.of('dump', r === 'interrupted' ? 'EINTR' : 'ENOBUFS', `gave up after ${attempt} attempts`);
      }
      reset();
    }
  }

  /**
   * Runs dumps `first` to `last` of `box`: `read(k, buf, start, end)` gets
   * the replies of dump first + k, and `reset(k)` comes before it restarts.
   * Through io_uring, a pool's width of dumps per syscall; else one after
   * another, as dump() does.
   */
  dumpMany(
    box: Outbox,
    first: number,
    last: number,
    read: (k: number, buf: Buffer, start: number, end: number) => void,
    reset: (k: number) => void,
  ): void {
    const p = last - first > 1 ? this.pipeline() : null;
    if (!p) {
      for (let i = first; i < last; i++)
        this.dump(
          box,
          i,
          (b, s, e) => read(i - first, b, s, e),
          () => reset(i - first),
        );
      return;
    }
    for (let from = first; from < last; from += p.width) {
      const to = Math.min(last, from + p.width);
      this.io.rings++;
      let ends: DumpEnd[];
      try {
        ends = p.run(box, from, to, (k, b, s, e) => read(from - first + k, b, s, e));
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        // A dump's own failure: its index within this call's dumps.
        if (!e.op.startsWith('io_uring')) throw e.index === undefined ? e : e.within(e.op, from - first + e.index);
        // The ring itself failed: give it up, and run the rest one by one.
        p.close();
        this.pipe = null;
        for (let i = from; i < to; i++) reset(i - first);
        this.dumpMany(
          box,
          from,
          last,
          (k, b, s, e) => read(from - first + k, b, s, e),
          (k) => reset(from - first + k),
        );
        return;
      }
      // Interrupted by a concurrent change, or replies lost: that one again, alone (bounded retries).
      ends.forEach((end, k) => {
        if (end === 'ok') return;
        const at = from - first + k;
        reset(at);
        this.dump(
          box,
          from + k,
          (b, s, e) => read(at, b, s, e),
          () => reset(at),
        );
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

  /** Reads what is queued, never waiting (see executeChunk). */
  private receive(each: (datagram: Buffer) => void): number {
    this.io.receives++;
    return this.sock.receive(each);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /**
   * Sends the messages of `box` from `first` on that fit in one sendmsg and
   * reads their outcomes into `out`, where message `i` is `out[i - base]`.
   * Returns the first message not sent.
   */
  private executeChunk(box: Outbox, first: number, last: number, base: number, out: Outcome[]): number {
    const buf = this.sock.sendBuffer;
    const page = box.page(first);
    const from = box.offset(first);
    let to = first;
    // Messages of one page lie back to back: as many as fit go in one copy.
    while (to < last && box.page(to) === page && box.limit(to) - from <= buf.length) to++;
    if (to === first) {
      out[first - base] = {
        ok: false,
        error: KernelError.of('send', 'EMSGSIZE', `request of ${box.limit(first) - from} bytes`),
      };
      return first + 1;
    }
    const end = box.limit(to - 1) - from;
    page.copy(buf, 0, from, from + end);
    const seq0 = (this.seq + 1) >>> 0;
    for (let i = first; i < to; i++) {
      const at = box.offset(i) - from;
      // Beside the request's own flags (a create's), set when it was encoded.
      buf.writeUInt16LE(buf.readUInt16LE(at + 6) | Flags.Request | (i === to - 1 ? Flags.Ack : 0), at + 6);
      buf.writeUInt32LE(this.nextSeq(), at + 8);
    }
    const finalSeq = this.seq;
    const count = to - first;
    const replies: (Buffer[] | undefined)[] = new Array(count);
    const errors: (KernelError | undefined)[] = new Array(count);
    const slot = (seq: number) => {
      const k = (seq - seq0) >>> 0;
      return k < count ? k : -1;
    };
    let done = false;
    let lost: KernelError | undefined;

    try {
      this.send(end);
    } catch (e) {
      for (let i = first; i < to; i++) out[i - base] = { ok: false, error: e as KernelError };
      return to;
    }
    while (!done) {
      let got: number;
      try {
        got = this.receive((d) =>
          parseMessages(d, (m) => {
            const k = slot(m.seq);
            if (k < 0) return; // stray: a reply to an abandoned exchange
            if (m.type === MessageType.Error) {
              const s = parseStatus(m);
              if (s.errno) errors[k] = new KernelError('request', s.errno, s.text, first - base + k);
              if (m.seq === finalSeq) done = true;
            } else {
              (replies[k] ??= []).push(Buffer.from(m.payload));
            }
          }),
        );
      } catch (e) {
        // Replies dropped by an overrun, or a datagram we could not parse:
        // read what is left, then count every request without an answer as
        // unknown. Anything else means the socket itself is broken.
        if (!(e instanceof KernelError)) throw e;
        lost =
          e.errno === 'ENOBUFS'
            ? KernelError.of('receive', 'ENOBUFS', 'replies lost to a receive buffer overrun; outcome unknown')
            : e;
        if (e.errno === 'ENOBUFS' || e.errno === 'EBADMSG') continue;
        break;
      }
      // The kernel runs generic netlink requests inside sendmsg: once it returns, every reply is
      // queued or was dropped, so a drained queue without the final ack means lost replies, never late ones.
      if (got === 0) {
        lost ??= KernelError.of('receive', 'ENOBUFS', 'replies lost (no acknowledgement queued); outcome unknown');
        break;
      }
    }
    for (let k = 0; k < count; k++) {
      const error = errors[k] ?? (lost && !done && !replies[k] ? lost : undefined);
      const got = replies[k];
      out[first - base + k] = error ? { ok: false, error } : got ? { ok: true, replies: got } : DONE;
    }
    return to;
  }

  private dumpOnce(box: Outbox, i: number, read: PayloadReader): DumpEnd {
    const seq = this.nextSeq();
    this.send(box.stage(i, this.sock.sendBuffer, Flags.Request | Flags.Dump, seq));
    return new DumpReader(seq, read).finish((each) => this.receive(each));
  }
}
