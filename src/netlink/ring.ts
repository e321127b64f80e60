// An io_uring, for one thing: many sends and receives on many sockets in
// one syscall (and one ffi call). Where io_uring is missing or forbidden
// (old kernels, container seccomp profiles), `Ring.open` says so and callers
// keep their one-syscall-per-operation path.
import { KernelError } from './error.js';
import { writeU64 } from './socket.js';
import {
  EINTR,
  IO_CQRING_OFFSETS,
  IO_SQRING_OFFSETS,
  IO_URING_CQE,
  IO_URING_PARAMS,
  IO_URING_SQE,
  IORING_ENTER_GETEVENTS,
  IORING_FEAT_SINGLE_MMAP,
  IORING_OFF_CQ_RING,
  IORING_OFF_SQ_RING,
  IORING_OFF_SQES,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IOSQE_IO_LINK,
  MSG_DONTWAIT,
  POLLFD,
  POLLIN,
  SIZEOF,
} from './linux.js';
import * as sys from './syscalls.js';

// Where io_uring_setup wrote each ring's offsets in the params block.
const SQ_OFF = IO_URING_PARAMS.sq_off;
const CQ_OFF = IO_URING_PARAMS.cq_off;

/** One finished operation: its tag and the syscall's result (bytes, or -errno). */
export interface Completion {
  tag: number;
  result: number;
}

export class Ring {
  private readonly sqTail: number;
  private readonly sqMask: number;
  private readonly sqArray: number;
  private readonly cqHead: number;
  private readonly cqTail: number;
  private readonly cqMask: number;
  private readonly cqes: number;
  private pending = 0;

  private constructor(
    private fd: number,
    readonly entries: number,
    private readonly params: sys.Memory,
    private readonly rings: sys.Memory,
    private readonly cqRing: sys.Memory,
    private readonly sqes: sys.Memory,
  ) {
    const p = params.buf;
    this.sqTail = p.readUInt32LE(SQ_OFF + IO_SQRING_OFFSETS.tail);
    this.sqMask = rings.buf.readUInt32LE(p.readUInt32LE(SQ_OFF + IO_SQRING_OFFSETS.ring_mask));
    this.sqArray = p.readUInt32LE(SQ_OFF + IO_SQRING_OFFSETS.array);
    this.cqHead = p.readUInt32LE(CQ_OFF + IO_CQRING_OFFSETS.head);
    this.cqTail = p.readUInt32LE(CQ_OFF + IO_CQRING_OFFSETS.tail);
    this.cqMask = cqRing.buf.readUInt32LE(p.readUInt32LE(CQ_OFF + IO_CQRING_OFFSETS.ring_mask));
    this.cqes = p.readUInt32LE(CQ_OFF + IO_CQRING_OFFSETS.cqes);
  }

  /** A ring of at least `entries` submission slots; a KernelError (ENOSYS, EPERM, …) where io_uring cannot be had. */
  static open(entries: number): Ring {
    const params = sys.alloc(IO_URING_PARAMS.size);
    const fd = sys.ioUringSetup(entries, params.addr);
    if (fd < 0) {
      sys.release(params);
      throw new KernelError('io_uring_setup', -fd);
    }
    const maps: sys.Memory[] = [];
    const map = (size: number, offset: number) => {
      const m = sys.mapShared(fd, size, offset);
      if (typeof m === 'number') throw new KernelError('mmap io_uring', -m);
      maps.push(m);
      return m;
    };
    try {
      const p = params.buf;
      const sqEntries = p.readUInt32LE(IO_URING_PARAMS.sq_entries);
      const cqEntries = p.readUInt32LE(IO_URING_PARAMS.cq_entries);
      // Each ring ends in its array: SQ indices, or the CQEs themselves.
      const sqSize = p.readUInt32LE(SQ_OFF + IO_SQRING_OFFSETS.array) + sqEntries * SIZEOF.__u32;
      const cqSize = p.readUInt32LE(CQ_OFF + IO_CQRING_OFFSETS.cqes) + cqEntries * IO_URING_CQE.size;
      const single = (p.readUInt32LE(IO_URING_PARAMS.features) & IORING_FEAT_SINGLE_MMAP) !== 0;
      const rings = map(single ? Math.max(sqSize, cqSize) : sqSize, IORING_OFF_SQ_RING);
      const cq = single ? rings : map(cqSize, IORING_OFF_CQ_RING);
      const sqes = map(sqEntries * IO_URING_SQE.size, IORING_OFF_SQES);
      return new Ring(fd, sqEntries, params, rings, cq, sqes);
    } catch (e) {
      for (const m of maps) sys.unmap(m);
      sys.close(fd);
      sys.release(params);
      throw e;
    }
  }

  /** Queues a send of `len` bytes at `addr` on `fd`; `linked`: the next operation runs only if this one succeeds. */
  send(fd: number, addr: number, len: number, tag: number, linked: boolean): void {
    this.prepare(IORING_OP_SEND, fd, addr, len, tag, linked);
  }

  /** Queues a receive of one datagram into `len` bytes at `addr`; -EAGAIN if none is waiting (it never blocks). */
  receive(fd: number, addr: number, len: number, tag: number, linked: boolean): void {
    this.prepare(IORING_OP_RECV, fd, addr, len, tag, linked);
  }

  /**
   * Submits what is queued and returns every completion. Operations never
   * block (MSG_DONTWAIT), so the kernel finishes them inside the one
   * io_uring_enter; `waitMs` bounds the wait should one be deferred.
   */
  run(waitMs: number): Completion[] {
    const n = this.pending;
    this.pending = 0;
    for (let submitted = 0; submitted < n; ) {
      const r = sys.ioUringEnter(this.fd, n - submitted, 0, IORING_ENTER_GETEVENTS);
      if (r === -EINTR) continue;
      if (r < 0) throw new KernelError('io_uring_enter', -r);
      submitted += r;
    }
    const out: Completion[] = [];
    // The clock is read only once completions are late (a read is a syscall in user-mode Linux).
    let deadline: number | undefined;
    for (;;) {
      this.reap(out);
      if (out.length >= n) return out;
      deadline ??= performance.now() + waitMs;
      if (performance.now() > deadline || !this.waitReady(Math.max(1, deadline - performance.now()))) {
        throw KernelError.of(
          'io_uring',
          'ETIMEDOUT',
          `${n - out.length} of ${n} operations unfinished after ${waitMs} ms`,
        );
      }
    }
  }

  close(): void {
    if (this.fd < 0) return;
    if (this.cqRing !== this.rings) sys.unmap(this.cqRing);
    sys.unmap(this.rings);
    sys.unmap(this.sqes);
    sys.close(this.fd);
    sys.release(this.params);
    this.fd = -1;
  }

  private prepare(op: number, fd: number, addr: number, len: number, tag: number, linked: boolean): void {
    if (this.fd < 0) throw KernelError.of('io_uring', 'EBADF', 'the ring is closed');
    if (this.pending >= this.entries)
      throw KernelError.of('io_uring', 'EOVERFLOW', `more than ${this.entries} operations queued`);
    const r = this.rings.buf;
    const tail = r.readUInt32LE(this.sqTail);
    const index = tail & this.sqMask;
    const q = this.sqes.buf;
    const at = index * IO_URING_SQE.size;
    q.fill(0, at, at + IO_URING_SQE.size);
    q.writeUInt8(op, at + IO_URING_SQE.opcode);
    q.writeUInt8(linked ? IOSQE_IO_LINK : 0, at + IO_URING_SQE.flags);
    q.writeInt32LE(fd, at + IO_URING_SQE.fd);
    writeU64(q, at + IO_URING_SQE.addr, addr);
    q.writeUInt32LE(len, at + IO_URING_SQE.len);
    q.writeUInt32LE(MSG_DONTWAIT, at + IO_URING_SQE.msg_flags);
    writeU64(q, at + IO_URING_SQE.user_data, tag);
    r.writeUInt32LE(index, this.sqArray + index * SIZEOF.__u32);
    // The kernel reads the tail in io_uring_enter, a full barrier: a plain store is enough.
    r.writeUInt32LE((tail + 1) >>> 0, this.sqTail);
    this.pending++;
  }

  private reap(out: Completion[]): void {
    const c = this.cqRing.buf;
    let head = c.readUInt32LE(this.cqHead);
    const tail = c.readUInt32LE(this.cqTail);
    for (; head !== tail; head = (head + 1) >>> 0) {
      const at = this.cqes + (head & this.cqMask) * IO_URING_CQE.size;
      // Tags are small: the high half of user_data is 0.
      out.push({ tag: c.readUInt32LE(at + IO_URING_CQE.user_data), result: c.readInt32LE(at + IO_URING_CQE.res) });
    }
    c.writeUInt32LE(head, this.cqHead);
  }

  /** Waits until completions are ready (the ring's fd polls readable then). */
  private waitReady(ms: number): boolean {
    const p = this.params.buf;
    // The params block is free after setup: reuse its start as a pollfd.
    p.writeInt32LE(this.fd, POLLFD.fd);
    p.writeUInt32LE(POLLIN, POLLFD.events); // events, and revents = 0
    const n = sys.poll(this.params.addr, 1, Math.ceil(ms));
    return n > 0;
  }
}
