// Many dumps at once. The kernel runs one dump at a time per socket, so a
// listing of N services is N dumps, each a send and a receive: 2N syscalls
// done one by one. Here a pool of sockets each runs one dump, and one
// io_uring_enter carries, for every socket, the request and the reads of its
// first two datagrams (the data, then NLMSG_DONE, which the kernel queues as
// the first is read). A dump longer than that finishes on its own socket.
import { DumpReader, REPLY_WAIT_MS, type DumpEnd } from './dump.js';
import { KernelError } from './error.js';
import { ENOBUFS } from './linux.js';
import { Flags } from './message.js';
import type { Outbox } from './outbox.js';
import { Ring } from './ring.js';
import { NetlinkSocket, type SocketOptions } from './socket.js';

/** Dumps in flight together: sockets in the pool. */
const WIDTH = 32;
/** Operations per socket per round: the send and two receives. */
const OPS = 3;

export class Pipeline {
  private seq = Math.floor(Math.random() * 0x7fffffff);

  private constructor(
    private readonly ring: Ring,
    private readonly sockets: NetlinkSocket[],
  ) {}

  /** A pipeline in the namespace of `opts`; throws a KernelError where io_uring cannot be had. */
  static open(protocol: number, opts: SocketOptions): Pipeline {
    const ring = Ring.open(WIDTH * OPS);
    try {
      // A small send buffer holds one dump request; two slots take the first two datagrams. Small
      // slots (and so datagrams) keep 32 sockets' memory small: each page is a dear fault in user-mode Linux.
      return new Pipeline(
        ring,
        NetlinkSocket.openMany(protocol, WIDTH, {
          ...opts,
          sendBytes: 4096,
          slots: 2,
          slotBytes: 16 * 1024,
          receiveBytes: 256 * 1024,
        }),
      );
    } catch (e) {
      ring.close();
      throw e;
    }
  }

  /** How many dumps one `run` takes. */
  get width(): number {
    return WIDTH;
  }

  close(): void {
    this.ring.close();
    for (const s of this.sockets) s.close();
  }

  /**
   * Runs dumps `first` to `last` of `box` together (at most `width`);
   * `read(k, buf, start, end)` gets the replies of dump first + k. Returns
   * how each ended ('interrupted' and 'lost' are for the caller to run
   * again); throws the first kernel or decoder error, its index being k.
   */
  run(
    box: Outbox,
    first: number,
    last: number,
    read: (k: number, buf: Buffer, start: number, end: number) => void,
  ): DumpEnd[] {
    const readers: DumpReader[] = [];
    for (let i = 0; i < last - first; i++) {
      const sock = this.sockets[i]!;
      this.seq = (this.seq + 1) >>> 0;
      const len = box.stage(first + i, sock.sendBuffer, Flags.Request | Flags.Dump, this.seq);
      const fd = sock.descriptor;
      this.ring.send(fd, sock.sendAddress, len, i * OPS, true);
      this.ring.receive(fd, sock.slotAddress(0), sock.slotBytes, i * OPS + 1, true);
      this.ring.receive(fd, sock.slotAddress(1), sock.slotBytes, i * OPS + 2, false);
      readers.push(new DumpReader(this.seq, (b, s, e) => read(i, b, s, e)));
    }
    const results = new Int32Array(readers.length * OPS);
    for (const c of this.ring.run(REPLY_WAIT_MS)) results[c.tag] = c.result;
    let failure: KernelError | undefined;
    const ends = readers.map((reader, i) => {
      const sock = this.sockets[i]!;
      try {
        if (results[i * OPS]! < 0) throw new KernelError('sendmsg', -results[i * OPS]!);
        for (const k of [1, 2]) {
          const got = results[i * OPS + k]!;
          if (got > 0) reader.datagram(sock.slot(k - 1, got));
          // Else nothing was read (EAGAIN, or cancelled with its link): finish() reads what is left.
          else if (got === -ENOBUFS) reader.overrun();
        }
        return reader.finish((each) => sock.receive(each));
      } catch (e) {
        failure ??= e instanceof KernelError ? e.within(e.op, i) : KernelError.of('dump', 'EIO', String(e));
        return 'lost';
      }
    });
    if (failure) throw failure;
    return ends;
  }
}
