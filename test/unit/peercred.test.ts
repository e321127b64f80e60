// SO_PEERCRED through ffi: the peer of a unix socket is this very process.
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errnoNumber } from '../../src/netlink/errno.js';
import { peerCredentials } from '../../src/netlink/peercred.js';

describe('peerCredentials', () => {
  it("reads the connecting process's pid, uid and gid from an accepted unix socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvsd-peercred-'));
    const server = createServer();
    try {
      server.listen(join(dir, 's.sock'));
      await once(server, 'listening');
      const accepted = once(server, 'connection') as Promise<[Socket]>;
      const client = connect(join(dir, 's.sock'));
      const [socket] = await accepted;
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      expect(peerCredentials(fd)).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      client.destroy();
      socket.destroy();
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns -ENOTSOCK for an fd that is not a socket', () => {
    const fd = openSync(import.meta.filename, 'r');
    try {
      expect(peerCredentials(fd)).toBe(-errnoNumber('ENOTSOCK'));
    } finally {
      closeSync(fd);
    }
  });
});
