// TCP: up when the connection is made. The socket is destroyed at once,
// before a byte is sent: the real server sees a connect and a close.
import { connect } from 'node:net';
import type { ProbeRequest, ProbeResult } from '../probe.js';
import { deadline } from './deadline.js';
import { errorReason, started, timeoutReason } from './outcome.js';

export function probeTcp(r: ProbeRequest): Promise<ProbeResult> {
  const finish = started(r.id);
  return new Promise((resolve) => {
    const socket = connect({ host: r.address, port: r.port });
    const end = (ok: boolean, reason: string) => {
      cancel();
      socket.destroy();
      resolve(finish(ok, reason));
    };
    const cancel = deadline(r.timeoutMs, () => end(false, timeoutReason(r.timeoutMs)));
    socket.once('connect', () => end(true, 'connected'));
    socket.once('error', (err) => end(false, errorReason(err)));
  });
}
