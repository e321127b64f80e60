// One dump's replies: matched by sequence number out of whatever datagrams
// arrive, handed on one by one, and how the dump ended. Conn reads them one
// syscall at a time; Pipeline reads many dumps' first datagrams at once.
import { KernelError } from './error.js';
import { Flags, MessageType, parseMessages, parseStatus, type PayloadReader } from './message.js';

/** How long io_uring may take over operations the kernel runs inline (a bound, never a wait in practice). */
export const REPLY_WAIT_MS = 5000;

/**
 * 'interrupted': a concurrent change (NLM_F_DUMP_INTR); 'lost': replies dropped by an overrun. Both mean: run it again.
 */
export type DumpEnd = 'ok' | 'interrupted' | 'lost';

/** Reads the datagrams already queued into `each`, never waiting: the number read. */
export type Receive = (each: (datagram: Buffer) => void) => number;

export class DumpReader {
  done = false;
  private failure: KernelError | undefined;
  private interrupted = false;
  private lost = false;

  constructor(
    private readonly seq: number,
    private readonly read: PayloadReader,
  ) {}

  /** Takes this dump's messages out of one datagram; others' are ignored. */
  datagram(d: Buffer): void {
    parseMessages(d, (m) => {
      if (m.seq !== this.seq || this.done) return;
      if (m.flags & Flags.DumpIntr) this.interrupted = true;
      if (m.type === MessageType.Done || m.type === MessageType.Error) {
        this.done = true;
        const s = parseStatus(m);
        if (s.errno) this.failure ??= new KernelError('dump', s.errno, s.text);
        return;
      }
      if (this.failure || this.interrupted) return;
      // A decoding failure must not leave the rest of the dump queued.
      try {
        this.read(m.buf, m.start, m.end);
      } catch (e) {
        this.failure = e instanceof KernelError ? e : KernelError.of('dump', 'EBADMSG', String(e));
      }
    });
  }

  /** Replies were dropped on the way (the receive buffer overran). */
  overrun(): void {
    this.lost = true;
  }

  /**
   * Receives until the dump is done; throws the kernel's or the decoder's
   * error. Nothing is waited for: the kernel writes a dump's datagrams inside
   * sendmsg and then inside each recvmsg that makes room, so what is not
   * queued is not coming.
   */
  finish(receive: Receive): DumpEnd {
    while (!this.done) {
      let got: number;
      try {
        got = receive((d) => this.datagram(d));
      } catch (e) {
        if ((e as KernelError).errno !== 'ENOBUFS') throw e;
        this.overrun();
        continue;
      }
      if (got === 0) throw KernelError.of('dump', 'EIO', 'the kernel queued no more replies and no end of the dump');
    }
    if (this.failure) throw this.failure;
    return this.interrupted ? 'interrupted' : this.lost ? 'lost' : 'ok';
  }
}
