// Who is at the other end of a connected unix socket: SO_PEERCRED, the
// kernel's record of the peer's pid, uid and gid when it connected (the
// effective ids; supplementary groups are not recorded). Node has no call for
// it, hence getsockopt(2) here, on the accepted socket's fd.
import { SIZEOF, SO_PEERCRED, SOL_SOCKET, UCRED } from './linux.js';
import { alloc, getsockopt, type Memory } from './syscalls.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

// One buffer for every call: getsockopt is synchronous, and the values are copied out at once.
let mem: Memory | undefined;

/** The credentials of the peer of unix socket `fd`, or -errno. */
export function peerCredentials(fd: number): PeerCredentials | number {
  mem ??= alloc(UCRED.size + SIZEOF.socklen_t);
  mem.buf.writeUInt32LE(UCRED.size, UCRED.size);
  const r = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, mem.addr, mem.addr + UCRED.size);
  if (r < 0) return r;
  return {
    pid: mem.buf.readInt32LE(UCRED.pid),
    uid: mem.buf.readUInt32LE(UCRED.uid),
    gid: mem.buf.readUInt32LE(UCRED.gid),
  };
}
