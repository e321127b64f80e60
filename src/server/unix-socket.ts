// The unix socket, and who is on the other end of it. ipvsd listens on the
// path itself and hands each accepted connection to grpc-js (its connection
// injector), having first asked the kernel who connected (SO_PEERCRED).
//
// A call learns its connection's peer from grpc-js only as call.getPeer(),
// the socket's remoteAddress, which a unix socket lacks: each accepted socket
// is given its own, "unix#7 pid=… uid=… gid=…", and its credentials are kept
// under that name while it is open. The guard looks the name up: no TCP
// peer's address looks like it, and only this file writes the table, so a
// client cannot claim a uid; and it takes no private path of grpc-js (call →
// stream → session). Over TLS grpc-js sees the TLS socket's address, not this
// one: there the certificate names the peer, as on TCP.
import { chmodSync, chownSync, readFileSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { peerCredentials } from '../netlink/peercred.js';

export interface UnixSocketOptions {
  /** The file's mode; undefined: as the umask leaves it. */
  mode?: number;
  /** The file's group, a name or a gid; '' to leave it. */
  group: string;
  log: Logger;
}

/** The gid of `group` (a gid, or a name in /etc/group). */
export function groupId(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`--unix-group: no group "${group}" in ${groupFile}`);
}

export class UnixSocket {
  private readonly peers = new Map<string, { uid: number; gid: number }>();
  private accepted = 0;

  private constructor(
    private readonly net: NetServer,
    readonly path: string,
  ) {}

  /** Listens at `path`, with its mode and group set before anyone but root may connect. */
  static async listen(path: string, grpc: Server, creds: ServerCredentials, o: UnixSocketOptions): Promise<UnixSocket> {
    const gid = o.group ? groupId(o.group) : undefined;
    const injector = grpc.createConnectionInjector(creds);
    const net = createServer();
    const self = new UnixSocket(net, path);
    net.on('connection', (socket: Socket) => {
      self.admit(socket, o.log);
      injector.injectConnection(socket);
    });
    const fixed = o.mode !== undefined || gid !== undefined;
    // The file is born mode 0 (bind is synchronous), then given its group and mode: no moment with the umask's.
    const umask = fixed ? process.umask(0o777) : undefined;
    try {
      net.listen(path);
    } finally {
      if (umask !== undefined) process.umask(umask);
    }
    await new Promise<void>((resolve, reject) => {
      net.once('listening', resolve);
      net.once('error', (e) => reject(new Error(`listen unix:${path}: ${e.message}`)));
    });
    try {
      if (gid !== undefined) chownSync(path, -1, gid);
      if (fixed) chmodSync(path, o.mode ?? 0o777 & ~umask!);
    } catch (e) {
      net.close();
      throw new Error(`unix:${path}: cannot set its mode or group: ${(e as Error).message}`);
    }
    return self;
  }

  /** Names `socket` after its peer's credentials (grpc-js reports it as the call's peer). */
  private admit(socket: Socket, log: Logger): void {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    const cred = fd >= 0 ? peerCredentials(fd) : -1;
    const n = ++this.accepted;
    if (typeof cred === 'number') {
      // Without credentials the peer is plain text without a name: only rules without principals apply.
      log.warn({ errno: -cred }, 'unix socket: SO_PEERCRED failed, the peer has no principal');
      Object.defineProperty(socket, 'remoteAddress', { value: `unix#${n}` });
      return;
    }
    const name = `unix#${n} pid=${cred.pid} uid=${cred.uid} gid=${cred.gid}`;
    Object.defineProperty(socket, 'remoteAddress', { value: name });
    this.peers.set(name, { uid: cred.uid, gid: cred.gid });
    socket.once('close', () => this.peers.delete(name));
  }

  /** The credentials of the connection a call names as its peer (call.getPeer()), if it is one of this socket's. */
  peer(name: string): { uid: number; gid: number } | undefined {
    return this.peers.get(name);
  }

  /** Accepts no more connections; open ones end with the gRPC server's shutdown. */
  stop(): void {
    this.net.close();
  }
}
