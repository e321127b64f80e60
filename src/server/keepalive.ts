// Keepalive: the server's own pings, and its policy for the client's.
//
// The server pings every connection itself (grpc-js's grpc.keepalive_time_ms
// and grpc.keepalive_timeout_ms) so that a peer that vanished (a rebooted
// host, a NAT that forgot it) is dropped with its streams.
//
// The client's pings are held to gRPC's A8 "Server Enforcement", which
// grpc-js 1.14 lacks (it answers any number of pings): so it is here, on each
// HTTP/2 session. A ping sooner than the permit after the last good one (with
// no call open and no permit without calls: sooner than 2 hours) is a strike;
// past the most strikes the client is told GOAWAY ENHANCE_YOUR_CALM with
// "too_many_pings" and the connection closes at once, failing its calls, so
// that a misconfigured client is noticed (gRPC clients then double their
// keepalive time). HEADERS or DATA the server sends wipe the slate, as A8
// says: clients also ping after data to measure bandwidth (grpc-go, grpcio).
import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Server, ServerOptions } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';

/** A8's limit when no call is open: TCP keepalive's least interval (RFC 1122). */
export const WITHOUT_CALLS_MS = 2 * 60 * 60 * 1000;

export type PingPolicy = Pick<
  ServerConfig,
  'keepalivePermitMs' | 'keepalivePermitWithoutCalls' | 'keepaliveMaxPingStrikes'
>;

/** The grpc-js options of the server's own pings. */
export const keepaliveOptions = (c: ServerConfig): ServerOptions => ({
  'grpc.keepalive_time_ms': c.keepaliveTimeMs,
  'grpc.keepalive_timeout_ms': c.keepaliveTimeoutMs,
});

/** One connection's count of pings against the policy (A8's suggested algorithm). */
export class PingStrikes {
  private lastGood = Number.NEGATIVE_INFINITY;
  strikes = 0;
  constructor(
    private readonly p: PingPolicy,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A ping came with `calls` open: false once the client is past its strikes. */
  ping(calls: number): boolean {
    const t = this.now();
    const least = calls === 0 && !this.p.keepalivePermitWithoutCalls ? WITHOUT_CALLS_MS : this.p.keepalivePermitMs;
    if (t - this.lastGood < least) return ++this.strikes <= this.p.keepaliveMaxPingStrikes;
    this.lastGood = t;
    return true;
  }

  /** The server sent HEADERS or DATA: the next ping is good whenever it comes. */
  sent(): void {
    this.lastGood = Number.NEGATIVE_INFINITY;
    this.strikes = 0;
  }
}

const TOO_MANY_PINGS = Buffer.from('too_many_pings', 'ascii');
/**
 * More than the control frames the server writes between two pings (PING ACK 17, WINDOW_UPDATE 13, SETTINGS ACK 9
 * bytes).
 */
const CONTROL_BYTES = 64;

/**
 * Where grpc-js keeps the HTTP/2 servers of its listeners and their open
 * sessions. Private to grpc-js (1.10 to 1.14 at least): it offers no hook on
 * sessions, and a ping is seen only on its session. Checked, so that a grpc-js
 * that moved it fails at start, not silently.
 */
type Internals = {
  http2Servers?: Map<
    { on(e: 'session', f: (s: ServerHttp2Session) => void): unknown },
    { sessions?: Set<ServerHttp2Session> }
  >;
};

/** Holds every connection of `server`'s listeners (bound by now) to `policy`. */
export function enforcePingPolicy(server: Server, policy: PingPolicy, log: Logger): void {
  const servers = (server as unknown as Internals).http2Servers;
  if (!(servers instanceof Map)) {
    throw new Error('@grpc/grpc-js changed: keepalive.ts finds none of its HTTP/2 servers (see Internals)');
  }
  const held = new WeakSet<ServerHttp2Session>();
  const hold = (session: ServerHttp2Session) => {
    if (held.has(session)) return;
    held.add(session);
    watchSession(session, policy, log);
  };
  for (const [h2, info] of servers) {
    h2.on('session', hold);
    // Connections made before this call (between listen and now).
    for (const s of info.sessions ?? []) hold(s);
  }
}

function watchSession(session: ServerHttp2Session, policy: PingPolicy, log: Logger): void {
  const strikes = new PingStrikes(policy);
  let calls = 0;
  // Before grpc-js's own listener, which may answer at once.
  session.prependListener('stream', (stream: ServerHttp2Stream) => {
    calls++;
    stream.once('close', () => calls--);
    onSend(stream, () => strikes.sent());
  });
  let written = 0;
  session.on('ping', () => {
    // A message long in the writing is one write() but many DATA frames, and clients ping for bandwidth
    // between them (grpc-go's BDP estimator): bytes gone out since the last ping count as data sent.
    const now = session.socket?.bytesWritten ?? 0;
    if (now - written > CONTROL_BYTES) strikes.sent();
    written = now;
    if (strikes.ping(calls) || session.destroyed) return;
    log.warn(
      { peer: session.socket?.remoteAddress ?? 'unix socket', strikes: strikes.strikes, calls },
      'client pings too often: GOAWAY too_many_pings',
    );
    try {
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, session.state.lastProcStreamID ?? 0, TOO_MANY_PINGS);
    } finally {
      // Flushes the GOAWAY, then closes: the open calls fail, so the misconfiguration shows.
      session.destroy(undefined, constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  });
}

/**
 * Calls `sent` as `stream` sends HEADERS (respond, as grpc-js sends metadata
 * or a trailers-only status) or DATA (write, a message). Node's http2 has no
 * event for a frame sent, hence the two methods wrapped on this one stream.
 */
function onSend(stream: ServerHttp2Stream, sent: () => void): void {
  const respond = stream.respond;
  const write = stream.write as (this: ServerHttp2Stream, ...a: unknown[]) => boolean;
  stream.respond = function (this: ServerHttp2Stream, ...a: Parameters<ServerHttp2Stream['respond']>) {
    sent();
    respond.apply(this, a);
  };
  stream.write = function (this: ServerHttp2Stream, ...a: unknown[]) {
    sent();
    return write.apply(this, a);
  } as ServerHttp2Stream['write'];
}
