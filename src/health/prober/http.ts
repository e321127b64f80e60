// HTTP(S): one GET on a connection of its own (no agent's pool, Connection:
// close), up when the status is in a range and, if asked, the body's first
// 64 KiB match. One timer covers it all, connect to body, so that a server
// that accepts and never answers fails in time.
import { readFile } from 'node:fs/promises';
import { type ClientRequest, request as plainRequest } from 'node:http';
import { request as tlsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { HttpProbe, ProbeRequest, ProbeResult } from '../probe.js';
import { deadline } from './deadline.js';
import { errorReason, hostPart, started, timeoutReason } from './outcome.js';

export const BODY_BYTES = 64 * 1024;

/** The TLS server name a Host header implies: '' (none) for an address. */
function serverName(host: string): string {
  if (host.startsWith('[')) return '';
  const name = host.replace(/:\d+$/, '');
  return isIP(name) ? '' : name;
}

function send(
  r: ProbeRequest,
  h: HttpProbe,
  body: RegExp | undefined,
  ca: Buffer | undefined,
  end: (ok: boolean, why: string) => void,
) {
  const host = h.host ?? (r.port === (h.tls ? 443 : 80) ? hostPart(r) : `${hostPart(r)}:${r.port}`);
  const options = {
    host: r.address,
    port: r.port,
    path: h.path,
    method: 'GET',
    agent: false as const,
    headers: { Host: host, Connection: 'close', 'User-Agent': 'ipvsd-health', Accept: '*/*' },
  };
  const req = h.tls
    ? tlsRequest({ ...options, servername: h.sni ?? serverName(host), rejectUnauthorized: h.verify, ca })
    : plainRequest(options);
  req.on('error', (err) => end(false, errorReason(err, h.tls)));
  req.on('response', (res) => {
    const status = res.statusCode ?? 0;
    const up = h.statuses.some(([lo, hi]) => status >= lo && status <= hi);
    if (!up || !body) return end(up, `HTTP ${status}`);
    const chunks: Buffer[] = [];
    let size = 0;
    const judge = () => {
      const match = body.test(Buffer.concat(chunks).subarray(0, BODY_BYTES).toString('utf8'));
      end(match, match ? `HTTP ${status}` : `body does not match /${h.body}/`);
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if ((size += chunk.length) >= BODY_BYTES) judge();
    });
    res.on('end', judge);
    res.on('error', (err) => end(false, errorReason(err, h.tls)));
  });
  req.end();
  return req;
}

export function probeHttp(r: ProbeRequest): Promise<ProbeResult> {
  const h = r.http!;
  const finish = started(r.id);
  const body = h.body === undefined ? undefined : new RegExp(h.body);
  return new Promise((resolve) => {
    let req: ClientRequest | undefined;
    let done = false;
    const end = (ok: boolean, reason: string) => {
      if (done) return;
      done = true;
      cancel();
      req?.destroy();
      resolve(finish(ok, reason));
    };
    const cancel = deadline(r.timeoutMs, () => end(false, timeoutReason(r.timeoutMs)));
    const ca = h.caFile ? readFile(h.caFile) : Promise.resolve(undefined);
    ca.then(
      (pem) => {
        if (!done) req = send(r, h, body, pem, end);
      },
      (err) => end(false, `CA file: ${errorReason(err)}`),
    );
  });
}
