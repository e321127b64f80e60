// A route netlink socket inside one network namespace: requests (alone or
// many per sendmsg) and dumps, over src/netlink's Conn.
import { Conn } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';
import { NETLINK_ROUTE } from '../netlink/linux.js';
import { Outbox } from '../netlink/outbox.js';

/** Requests per slice of `many`: tens of milliseconds of kernel time at most. */
const SLICE = 32;

/** What `many` gives back for each request: null when it was done. */
export type Refusal = KernelError | null;

export class RouteSocket {
  private readonly box: Outbox;

  private constructor(private readonly conn: Conn) {
    this.box = new Outbox(conn.sendBytes);
  }

  /**
   * Opens one inside the namespace at `netns` ('' for the current one); it stays bound to that namespace for its
   * life. Throws KernelError (ENOENT: no such namespace file).
   */
  static open(netns: string): RouteSocket {
    // A listing of a host's addresses fits a small receive buffer; io_uring is for many dumps at once.
    return new RouteSocket(Conn.open(NETLINK_ROUTE, { netns, ioUring: false, receiveBytes: 1 << 20 }));
  }

  /** Runs `fn` with a socket in `netns`, closed after. */
  static with<T>(netns: string, fn: (r: RouteSocket) => T): T {
    const r = RouteSocket.open(netns);
    try {
      return fn(r);
    } finally {
      r.close();
    }
  }

  /** Runs `fn` with a socket in `netns`, closed once its promise settles. */
  static async withAsync<T>(netns: string, fn: (r: RouteSocket) => Promise<T>): Promise<T> {
    const r = RouteSocket.open(netns);
    try {
      return await fn(r);
    } finally {
      r.close();
    }
  }

  close(): void {
    this.conn.close();
  }

  /** One request written by `write`: its replies' payloads; a refusal throws, told as part of `op`. */
  request(op: string, write: (box: Outbox) => number): Buffer[] {
    const at = write(this.box);
    try {
      const [o] = this.conn.execute(this.box, at, at + 1);
      if (!o!.ok) throw o!.error.within(op);
      return o!.replies;
    } finally {
      this.box.consume(at + 1);
    }
  }

  /**
   * Requests written by `write`, a slice of them per sendmsg, with a turn of the event loop between slices: the
   * kernel takes most of a millisecond over each address in user-mode Linux, and a desired state may have
   * thousands. It carries on past a refused one. Each one's refusal, in order (null when it was done).
   */
  async many(write: (box: Outbox) => void): Promise<Refusal[]> {
    const first = this.box.next;
    write(this.box);
    const last = this.box.next;
    const out: Refusal[] = [];
    try {
      for (let i = first; i < last; i += SLICE) {
        if (i > first) await new Promise((r) => setImmediate(r));
        for (const o of this.conn.execute(this.box, i, Math.min(last, i + SLICE))) out.push(o.ok ? null : o.error);
      }
      return out;
    } finally {
      this.box.consume(last);
    }
  }

  /**
   * One dump written by `write`; `read` gets each reply's payload in place (bytes `start` to `end` of `buf`), and
   * `reset` comes before the dump starts again (a concurrent change interrupted it): drop what was read.
   */
  dump(
    op: string,
    write: (box: Outbox) => number,
    read: (buf: Buffer, start: number, end: number) => void,
    reset: () => void,
  ): void {
    const at = write(this.box);
    try {
      this.conn.dump(this.box, at, read, reset);
    } catch (e) {
      throw e instanceof KernelError ? e.within(op) : e;
    } finally {
      this.box.consume(at + 1);
    }
  }
}
