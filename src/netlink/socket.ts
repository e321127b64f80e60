import { KernelError } from './error.js';
import { inNetns } from './netns.js';
import {
  AF_NETLINK,
  EAGAIN,
  EINTR,
  IOVEC,
  MMSGHDR,
  MSG_DONTWAIT,
  MSG_TRUNC,
  MSGHDR,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  SIZEOF,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCKADDR_NL,
  SOL_NETLINK,
  SOL_SOCKET,
} from './linux.js';
import * as sys from './syscalls.js';

// Native bytes past the vectors for one syscall argument at a time: a
// pollfd, an int option, a sockaddr_nl and its length.
const SCRATCH = 64;
/** Each receive slot's recvmmsg entry and the iovec it points at. */
const SLOT_VECTOR = MMSGHDR.size + IOVEC.size;

/**
 * Bytes of one receive slot. The kernel sizes a dump's datagrams by the
 * largest receive buffer the socket has offered, capped at 32 KiB, so a
 * socket whose slots are all this size never gets a datagram bigger.
 */
export const SLOT = 32 * 1024;

export interface SocketOptions {
  /** Network namespace path; empty for the current one. */
  netns?: string;
  /** Largest sendmsg, in bytes: the batch size. */
  sendBytes?: number;
  /** Kernel receive buffer, in bytes. */
  receiveBytes?: number;
  /** Datagrams read per recvmmsg. */
  slots?: number;
  /** Bytes of each receive slot, at most (and by default) SLOT: smaller slots get smaller datagrams. */
  slotBytes?: number;
}

/**
 * A non-blocking netlink socket with native send/receive memory. Sends are
 * written straight into `sendBuffer`; receives read many datagrams per
 * syscall. The kernel answers netlink requests inside sendmsg itself, so a
 * reply is normally waiting by the time we read.
 */
export class NetlinkSocket {
  readonly sendBuffer: Buffer;
  /** The port id the kernel gave this socket; replies are addressed to it. */
  portId = 0;
  private fd: number;
  private readonly mem: sys.Memory;
  private readonly slots: number;
  readonly slotBytes: number;
  private readonly recvBase: number;
  private readonly vec: number;
  private readonly scratch: number;

  private constructor(fd: number, mem: sys.Memory, sendBytes: number, slots: number, slotBytes: number) {
    this.fd = fd;
    this.mem = mem;
    this.slots = slots;
    this.slotBytes = slotBytes;
    this.sendBuffer = mem.buf.subarray(0, sendBytes);
    this.recvBase = sendBytes;
    this.vec = sendBytes + slots * slotBytes;
    this.scratch = this.vec + slots * SLOT_VECTOR;
    // One iovec per datagram slot; the kernel only writes msg_len and msg_flags.
    const iov = this.vec + slots * MMSGHDR.size;
    for (let i = 0; i < slots; i++) {
      const hdr = this.vec + i * MMSGHDR.size + MMSGHDR.msg_hdr;
      const v = iov + i * IOVEC.size;
      writeU64(mem.buf, v + IOVEC.iov_base, mem.addr + this.recvBase + i * slotBytes);
      writeU64(mem.buf, v + IOVEC.iov_len, slotBytes);
      writeU64(mem.buf, hdr + MSGHDR.msg_iov, mem.addr + v);
      writeU64(mem.buf, hdr + MSGHDR.msg_iovlen, 1);
    }
  }

  static open(protocol: number, opts: SocketOptions = {}): NetlinkSocket {
    return NetlinkSocket.openMany(protocol, 1, opts)[0]!;
  }

  /** `count` sockets in one namespace (entered once for all). */
  static openMany(protocol: number, count: number, opts: SocketOptions = {}): NetlinkSocket[] {
    const out: NetlinkSocket[] = [];
    try {
      inNetns(opts.netns ?? '', () => {
        for (let i = 0; i < count; i++) {
          const fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
          if (fd < 0) throw new KernelError('socket(AF_NETLINK)', -fd);
          out.push(NetlinkSocket.setUp(fd, opts));
        }
      });
    } catch (e) {
      for (const s of out) s.close();
      throw e;
    }
    return out;
  }

  private static setUp(fd: number, opts: SocketOptions): NetlinkSocket {
    const sendBytes = opts.sendBytes ?? 64 * 1024;
    const slots = opts.slots ?? 16;
    const slotBytes = Math.min(opts.slotBytes ?? SLOT, SLOT);
    let mem: sys.Memory | undefined;
    try {
      mem = sys.alloc(sendBytes + slots * (slotBytes + SLOT_VECTOR) + SCRATCH);
      const s = new NetlinkSocket(fd, mem, sendBytes, slots, slotBytes);
      s.setInt(SOL_NETLINK, NETLINK_EXT_ACK, 1, 'NETLINK_EXT_ACK');
      s.setInt(SOL_NETLINK, NETLINK_CAP_ACK, 1, 'NETLINK_CAP_ACK');
      s.setBuffer(SO_SNDBUFFORCE, SO_SNDBUF, Math.max(sendBytes * 2, 256 * 1024));
      s.setBuffer(SO_RCVBUFFORCE, SO_RCVBUF, opts.receiveBytes ?? 4 * 1024 * 1024);
      s.portId = s.bindAny();
      return s;
    } catch (e) {
      sys.close(fd);
      if (mem) sys.release(mem);
      throw e;
    }
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /**
   * For io_uring: the descriptor, and native addresses of the send buffer and of receive slot `i` (slotBytes bytes).
   */
  get descriptor(): number {
    this.assertOpen();
    return this.fd;
  }
  get sendAddress(): number {
    return this.mem.addr;
  }
  slotAddress(i: number): number {
    return this.mem.addr + this.recvBase + i * this.slotBytes;
  }
  /** The first `len` bytes received into slot `i`. */
  slot(i: number, len: number): Buffer {
    const start = this.recvBase + i * this.slotBytes;
    return this.mem.buf.subarray(start, start + len);
  }

  /** Sends the first `len` bytes of `sendBuffer` as one datagram. */
  send(len: number): void {
    this.assertOpen();
    for (;;) {
      const n = sys.send(this.fd, this.mem.addr, len, 0);
      if (n === -EINTR) continue;
      if (n < 0) throw new KernelError('sendmsg', -n);
      return;
    }
  }

  /**
   * Reads the datagrams already queued, calling `each` on every one (the
   * Buffer is only valid during the call), never waiting: the kernel answers
   * inside sendmsg. Returns the number read: 0 when none was queued.
   */
  receive(each: (datagram: Buffer) => void): number {
    this.assertOpen();
    const { buf } = this.mem;
    const vec = this.vec;
    for (;;) {
      const n = sys.recvmmsg(this.fd, this.mem.addr + vec, this.slots, MSG_DONTWAIT);
      if (n === -EINTR) continue;
      if (n === -EAGAIN) return 0;
      if (n < 0) throw new KernelError('recvmsg', -n);
      for (let i = 0; i < n; i++) {
        const h = vec + i * MMSGHDR.size;
        if (buf.readUInt32LE(h + MMSGHDR.msg_hdr + MSGHDR.msg_flags) & MSG_TRUNC)
          throw KernelError.of('recvmsg', 'EMSGSIZE', 'datagram larger than the receive slot');
        const start = this.recvBase + i * this.slotBytes;
        each(buf.subarray(start, start + buf.readUInt32LE(h + MMSGHDR.msg_len)));
      }
      return n;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    sys.close(this.fd);
    this.fd = -1;
    sys.release(this.mem);
  }

  // The native memory is freed on close: touching it after would be a use-after-free.
  private assertOpen(): void {
    if (this.fd < 0) throw KernelError.of('netlink socket', 'EBADF', 'socket is closed');
  }

  private setInt(level: number, opt: number, value: number, what: string): number {
    this.mem.buf.writeInt32LE(value, this.scratch);
    const r = sys.setsockopt(this.fd, level, opt, this.mem.addr + this.scratch, SIZEOF.int);
    if (r < 0 && what) throw new KernelError(`setsockopt(${what})`, -r);
    return r;
  }

  /** The forcing variant needs CAP_NET_ADMIN; without it, take what rmem_max allows. */
  private setBuffer(force: number, plain: number, bytes: number): void {
    if (this.setInt(SOL_SOCKET, force, bytes, '') < 0) this.setInt(SOL_SOCKET, plain, bytes, '');
  }

  private bindAny(): number {
    const { buf, addr } = this.mem;
    const at = this.scratch;
    // The sockaddr_nl, then its length for getsockname.
    const lenAt = at + SOCKADDR_NL.size;
    buf.fill(0, at, lenAt + SIZEOF.socklen_t);
    buf.writeUInt16LE(AF_NETLINK, at + SOCKADDR_NL.nl_family);
    let r = sys.bindAddr(this.fd, addr + at, SOCKADDR_NL.size);
    if (r < 0) throw new KernelError('bind(AF_NETLINK)', -r);
    buf.writeUInt32LE(SOCKADDR_NL.size, lenAt);
    r = sys.getsockname(this.fd, addr + at, addr + lenAt);
    if (r < 0) throw new KernelError('getsockname', -r);
    return buf.readUInt32LE(at + SOCKADDR_NL.nl_pid);
  }
}

/** A 64-bit field of a native struct (an address, a tag), from a number below 2^53, without a BigInt. */
export function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v % 0x100000000, off);
  buf.writeUInt32LE(Math.floor(v / 0x100000000), off + 4);
}
