// UDP: send the payload, up at the first reply (that matches, if asked)
// before the timeout. The socket is connected, so that an ICMP port
// unreachable fails the probe at once instead of waiting for the timeout.
import { createSocket } from 'node:dgram';
import type { ProbeRequest, ProbeResult } from '../probe.js';
import { deadline } from './deadline.js';
import { errorReason, started } from './outcome.js';

export function probeUdp(r: ProbeRequest): Promise<ProbeResult> {
  const u = r.udp!;
  const finish = started(r.id);
  const payload = Buffer.from(u.payload, 'base64');
  const expect = u.expect === undefined ? undefined : new RegExp(u.expect);
  return new Promise((resolve) => {
    const socket = createSocket(r.address.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const end = (ok: boolean, reason: string) => {
      if (done) return;
      done = true;
      cancel();
      socket.close();
      resolve(finish(ok, reason));
    };
    const cancel = deadline(r.timeoutMs, () => end(false, 'UDP no reply'));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      end(false, err.code === 'ECONNREFUSED' ? 'UDP port unreachable' : errorReason(err)),
    );
    socket.on('message', (reply) => {
      if (!expect) return end(true, `UDP reply, ${reply.length} bytes`);
      // latin1: every byte is one character, so that a binary protocol's reply can be matched too.
      const match = expect.test(reply.toString('latin1'));
      end(match, match ? `UDP reply, ${reply.length} bytes` : `reply does not match /${u.expect}/`);
    });
    socket.connect(r.port, r.address, () => {
      if (!done) socket.send(payload, (err) => err && end(false, errorReason(err)));
    });
  });
}
