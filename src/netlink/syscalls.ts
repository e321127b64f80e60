// The only file that imports ffi-rs: thin libc bindings for the socket
// syscalls. Every call costs a few microseconds, so callers batch work per
// call. Functions return the result, or -errno on failure; none throws for
// a failed syscall (EAGAIN/EINTR are normal control flow for the callers).
import { createRequire } from 'node:module';
import type * as FFI from 'ffi-rs';

// ffi-rs is CommonJS; load it lazily so that importing this module on a
// machine without the native binary only fails when a socket is opened.
let ffi: typeof FFI | undefined;
let libc: Libc | undefined;

type Result = { value: number; errnoCode: number };
type Syscall = (args: unknown[]) => Result;
interface Libc {
  socket: Syscall; bind: Syscall; getsockname: Syscall; setsockopt: Syscall; send: Syscall;
  recvmmsg: Syscall; poll: Syscall; open: Syscall; setns: Syscall; close: Syscall;
  malloc: (args: unknown[]) => FFI.JsExternal;
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
    send: fn(T.I64, [T.I32, T.U64, T.U64, T.I32]),
    recvmmsg: fn(T.I32, [T.I32, T.U64, T.U32, T.I32, T.U64]),
    poll: fn(T.I32, [T.U64, T.U64, T.I32]),
    open: fn(T.I32, [T.String, T.I32]),
    setns: fn(T.I32, [T.I32, T.I32]),
    close: fn(T.I32, [T.I32]),
    malloc: fn(T.External, [T.U64], false),
    // memset returns its first argument: the way to learn a pointer's address.
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

const ret = (r: Result): number => (r.value < 0 ? -(r.errnoCode || 5 /* EIO */) : r.value);

/** Native memory, zeroed, seen from JS as a Buffer without copies. */
export interface Memory {
  readonly addr: number;
  readonly buf: Buffer;
}

export function alloc(size: number): Memory {
  const l = c();
  const ext = l.malloc([size]);
  if (ffi!.isNullPointer(ext)) throw new RangeError(`malloc(${size}) failed`);
  const addr = l.memset([ext, 0, size]);
  return { addr, buf: ffi!.createExternalBuffer(ext, size) };
}

export function release(mem: Memory): void {
  c().free([mem.addr]);
}

export const socket = (domain: number, type: number, protocol: number) =>
  ret(c().socket([domain, type, protocol]));
export const bindAddr = (fd: number, addr: number, len: number) => ret(c().bind([fd, addr, len]));
export const getsockname = (fd: number, addr: number, lenAddr: number) =>
  ret(c().getsockname([fd, addr, lenAddr]));
export const setsockopt = (fd: number, level: number, opt: number, valAddr: number, len: number) =>
  ret(c().setsockopt([fd, level, opt, valAddr, len]));
export const send = (fd: number, addr: number, len: number, flags: number) =>
  ret(c().send([fd, addr, len, flags]));
export const recvmmsg = (fd: number, vecAddr: number, vlen: number, flags: number) =>
  ret(c().recvmmsg([fd, vecAddr, vlen, flags, 0]));
export const poll = (fdsAddr: number, nfds: number, timeoutMs: number) =>
  ret(c().poll([fdsAddr, nfds, timeoutMs]));
export const openPath = (path: string, flags: number) => ret(c().open([path, flags]));
export const setns = (fd: number, nstype: number) => ret(c().setns([fd, nstype]));
export const close = (fd: number) => ret(c().close([fd]));
