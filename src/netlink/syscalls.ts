// The only file that imports ffi-rs: thin libc bindings for the socket
// syscalls. Every call costs a few microseconds, so callers batch work per
// call. Functions return the result, or -errno on failure; none throws for
// a failed syscall (EAGAIN/EINTR are normal control flow for the callers).
import { createRequire } from 'node:module';
import type * as FFI from 'ffi-rs';
import {
  EIO,
  MAP_POPULATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  SYS_IO_URING_ENTER,
  SYS_IO_URING_SETUP,
} from './linux.js';

// ffi-rs is CommonJS; load it lazily so that importing this module on a
// machine without the native binary only fails when a socket is opened.
let ffi: typeof FFI | undefined;
let libc: Libc | undefined;

type Result = { value: number; errnoCode: number };
type Syscall = (args: unknown[]) => Result;
interface Libc {
  socket: Syscall;
  bind: Syscall;
  getsockname: Syscall;
  setsockopt: Syscall;
  getsockopt: Syscall;
  send: Syscall;
  recvmmsg: Syscall;
  poll: Syscall;
  open: Syscall;
  setns: Syscall;
  close: Syscall;
  syscall: Syscall;
  mmap: Syscall;
  munmap: Syscall;
  calloc: (args: unknown[]) => FFI.JsExternal;
  memmove: (args: unknown[]) => FFI.JsExternal;
  memset: (args: unknown[]) => number;
  free: (args: unknown[]) => void;
}

function bind(f: typeof FFI): Libc {
  const { DataType: T } = f;
  f.open({ library: 'libc', path: 'libc.so.6' });
  const fn = (retType: FFI.DataType, paramsType: FFI.DataType[], errno = true) =>
    ({ library: 'libc', retType, paramsType, errno }) as const;
  return f.define({
    socket: fn(T.I32, [T.I32, T.I32, T.I32]),
    bind: fn(T.I32, [T.I32, T.U64, T.U32]),
    getsockname: fn(T.I32, [T.I32, T.U64, T.U64]),
    setsockopt: fn(T.I32, [T.I32, T.I32, T.I32, T.U64, T.U32]),
    getsockopt: fn(T.I32, [T.I32, T.I32, T.I32, T.U64, T.U64]),
    send: fn(T.I64, [T.I32, T.U64, T.U64, T.I32]),
    recvmmsg: fn(T.I32, [T.I32, T.U64, T.U32, T.I32, T.U64]),
    poll: fn(T.I32, [T.U64, T.U64, T.I32]),
    open: fn(T.I32, [T.String, T.I32]),
    setns: fn(T.I32, [T.I32, T.I32]),
    close: fn(T.I32, [T.I32]),
    // io_uring has no libc wrapper: syscall(2), whose integer arguments pass as fixed ones on x86-64 and arm64.
    syscall: fn(T.I64, [T.I64, T.I64, T.I64, T.I64, T.I64, T.I64, T.I64]),
    mmap: fn(T.U64, [T.U64, T.U64, T.I32, T.I32, T.I32, T.I64]),
    // memmove returns its first argument too: the way to hold an address as an External.
    memmove: fn(T.External, [T.U64, T.U64, T.U64], false),
    munmap: fn(T.I32, [T.U64, T.U64]),
    // calloc: fresh pages come zeroed from the kernel, untouched until used (each page fault is dear in user-mode
    // Linux).
    calloc: fn(T.External, [T.U64, T.U64], false),
    // memset returns its first argument: the way to learn a pointer's address (with a length of 0).
    memset: fn(T.U64, [T.External, T.I32, T.U64], false),
    free: fn(T.Void, [T.U64], false),
  }) as unknown as Libc;
}

function c() {
  if (!libc) {
    ffi = createRequire(import.meta.url)('ffi-rs') as typeof FFI;
    libc = bind(ffi);
  }
  return libc;
}

const ret = (r: Result): number => (r.value < 0 ? -(r.errnoCode || EIO) : r.value);

/** Native memory, zeroed, seen from JS as a Buffer without copies. */
export interface Memory {
  readonly addr: number;
  readonly buf: Buffer;
}

export function alloc(size: number): Memory {
  const l = c();
  const ext = l.calloc([1, size]);
  if (ffi!.isNullPointer(ext)) throw new RangeError(`calloc(${size}) failed`);
  const addr = l.memset([ext, 0, 0]);
  return { addr, buf: ffi!.createExternalBuffer(ext, size) };
}

export function release(mem: Memory): void {
  c().free([mem.addr]);
}

/** Maps `size` bytes of `fd` at `offset` (an io_uring's rings); -errno on failure. */
export function mapShared(fd: number, size: number, offset: number): Memory | number {
  const l = c();
  const r = l.mmap([0, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset]);
  // MAP_FAILED is (void *)-1, which arrives as -1.
  if (r.value < 0 || r.value > 2 ** 52) return -(r.errnoCode || EIO);
  return { addr: r.value, buf: ffi!.createExternalBuffer(l.memmove([r.value, r.value, 0]), size) };
}

export const unmap = (mem: Memory) => ret(c().munmap([mem.addr, mem.buf.length]));

/** io_uring_setup(2): a ring of `entries` with its parameters at `paramsAddr`; the ring's fd or -errno. */
export const ioUringSetup = (entries: number, paramsAddr: number) =>
  ret(c().syscall([SYS_IO_URING_SETUP, entries, paramsAddr, 0, 0, 0, 0]));
/** io_uring_enter(2): submits `toSubmit` entries, waits for `minComplete` completions when `flags` ask. */
export const ioUringEnter = (fd: number, toSubmit: number, minComplete: number, flags: number) =>
  ret(c().syscall([SYS_IO_URING_ENTER, fd, toSubmit, minComplete, flags, 0, 0]));

export const socket = (domain: number, type: number, protocol: number) => ret(c().socket([domain, type, protocol]));
export const bindAddr = (fd: number, addr: number, len: number) => ret(c().bind([fd, addr, len]));
export const getsockname = (fd: number, addr: number, lenAddr: number) => ret(c().getsockname([fd, addr, lenAddr]));
export const setsockopt = (fd: number, level: number, opt: number, valAddr: number, len: number) =>
  ret(c().setsockopt([fd, level, opt, valAddr, len]));
export const getsockopt = (fd: number, level: number, opt: number, valAddr: number, lenAddr: number) =>
  ret(c().getsockopt([fd, level, opt, valAddr, lenAddr]));
export const send = (fd: number, addr: number, len: number, flags: number) => ret(c().send([fd, addr, len, flags]));
export const recvmmsg = (fd: number, vecAddr: number, vlen: number, flags: number) =>
  ret(c().recvmmsg([fd, vecAddr, vlen, flags, 0]));
export const poll = (fdsAddr: number, nfds: number, timeoutMs: number) => ret(c().poll([fdsAddr, nfds, timeoutMs]));
export const openPath = (path: string, flags: number) => ret(c().open([path, flags]));
export const setns = (fd: number, nstype: number) => ret(c().setns([fd, nstype]));
export const close = (fd: number) => ret(c().close([fd]));
