// Keepalive, with the server's values shrunk so that this file takes seconds:
// the permit (1.5 s here, 30 s by default) is honoured, a client pinging
// faster is told GOAWAY ENHANCE_YOUR_CALM "too_many_pings" as gRPC's A8
// says, data the server sends wipes strikes, and a well-behaved idle stream
// outlives many permits and the server's own pings. Raw node:http2 sessions
// show the frames exactly; a grpc-js client shows what a real client sees.
import { once } from 'node:events';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, toBinary } from '@bufbuild/protobuf';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import {
  credentials,
  logVerbosity,
  makeGenericClientConstructor,
  setLogger,
  setLogVerbosity,
  status,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { IpvsService, WatchStatsRequestSchema } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { grpcDefinition } from '../../src/rpc/wire.js';
import { startInProcess, useServer } from './helpers.js';

const PERMIT_MS = 1500;
const KEEPALIVE = ['--keepalive-permit-ms', String(PERMIT_MS), '--keepalive-time-ms', '1000'];
const ctx = useServer([...KEEPALIVE, '--keepalive-timeout-ms', '1000']);

const sessions: ClientHttp2Session[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.destroy();
});

/** A raw HTTP/2 connection to `address`, recording the GOAWAY it gets and the server's own pings. */
async function raw(address = ctx.address) {
  const session = connect(`http://${address}`);
  sessions.push(session);
  const seen = { goaway: undefined as { code: number; data: string } | undefined, serverPings: 0 };
  session.on('goaway', (code, _last, data) => {
    seen.goaway = { code, data: data?.toString() ?? '' };
  });
  session.on('ping', () => seen.serverPings++);
  session.on('error', () => {});
  await once(session, 'connect');
  /** One ping: whether its ACK came. */
  const ping = () =>
    new Promise<boolean>((resolve) => {
      try {
        session.ping((err) => resolve(!err));
      } catch {
        resolve(false);
      }
    });
  return { session, seen, ping };
}

/** WatchStats of this file's namespace over a raw session, counting its messages. */
function rawWatch(
  session: ClientHttp2Session,
  intervalMs: number,
): { stream: ClientHttp2Stream; messages: () => number } {
  const req = toBinary(
    WatchStatsRequestSchema,
    create(WatchStatsRequestSchema, { namespace: ctx.ns.name, interval: durationFromMs(intervalMs), allowFast: true }),
  );
  const frame = Buffer.alloc(5 + req.length);
  frame.writeUInt32BE(req.length, 1);
  frame.set(req, 5);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/ipvs.v1.IpvsService/WatchStats',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  stream.end(frame);
  let chunks = 0;
  stream.on('data', () => chunks++);
  return { stream, messages: () => chunks };
}

const TOO_MANY_PINGS = { code: constants.NGHTTP2_ENHANCE_YOUR_CALM, data: 'too_many_pings' };

/** Polls `f` every 20 ms for at most `ms`. */
async function until(f: () => boolean, ms: number): Promise<boolean> {
  for (const t = Date.now(); Date.now() - t < ms; await sleep(20)) if (f()) return true;
  return f();
}

describe('the permit for client pings', () => {
  it('a client pinging faster than the permit gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" after 2 strikes', async () => {
    const { session, seen, ping } = await raw();
    const w = rawWatch(session, 3_600_000);
    expect(await until(() => w.messages() > 0, 10_000)).toBe(true); // the first tick, then silence
    // One good ping, then two strikes: all answered.
    for (let i = 0; i < 3; i++) expect(await ping()).toBe(true);
    expect(seen.goaway).toBeUndefined();
    await ping(); // the third strike
    expect(await until(() => session.destroyed || session.closed, 5000)).toBe(true);
    expect(seen.goaway).toEqual(TOO_MANY_PINGS);
  });

  it('pings at the permit on an open call are answered, and the server pings too', async () => {
    const { session, seen, ping } = await raw();
    const w = rawWatch(session, 3_600_000);
    expect(await until(() => w.messages() > 0, 10_000)).toBe(true);
    for (let i = 0; i < 4; i++) {
      expect(await ping()).toBe(true);
      await sleep(PERMIT_MS + 100);
    }
    expect(seen.goaway).toBeUndefined();
    expect(w.stream.closed).toBe(false);
    expect(seen.serverPings).toBeGreaterThanOrEqual(3); // --keepalive-time-ms 1000, answered by node:http2
  });

  it('with no call open, even pings at the permit are strikes, unless --keepalive-permit-without-calls', async () => {
    const lax = await startInProcess([...KEEPALIVE, '--keepalive-permit-without-calls']);
    try {
      const strict = await raw();
      const permitted = await raw(lax.addresses[0]);
      const answered = { strict: [] as boolean[], permitted: [] as boolean[] };
      for (let i = 0; i < 4; i++) {
        if (i) await sleep(PERMIT_MS + 100);
        const [a, b] = await Promise.all([strict.ping(), permitted.ping()]);
        answered.strict.push(a);
        answered.permitted.push(b);
      }
      // The first is good (A8 starts from the epoch), the next two are strikes, the fourth is one too many.
      expect(answered.strict.slice(0, 3)).toEqual([true, true, true]);
      expect(await until(() => strict.session.destroyed, 5000)).toBe(true);
      expect(strict.seen.goaway).toEqual(TOO_MANY_PINGS);
      expect(answered.permitted).toEqual([true, true, true, true]);
      expect(permitted.seen.goaway).toBeUndefined();
    } finally {
      await lax.shutdown();
    }
  });

  it('data the server sends wipes the strikes: pings after each tick are fine (as clients measure bandwidth)', async () => {
    const { session, seen, ping } = await raw();
    const w = rawWatch(session, 100); // a tick every 100 ms
    expect(await until(() => w.messages() > 0, 10_000)).toBe(true);
    for (let i = 0; i < 10; i++) {
      const before = w.messages();
      await until(() => w.messages() > before, 2000);
      expect(await ping()).toBe(true);
    }
    expect(seen.goaway).toBeUndefined();
  });
});

describe('grpc-js clients', () => {
  const Client = makeGenericClientConstructor(grpcDefinition(IpvsService), IpvsService.name);
  const watch = (keepaliveMs: number) => {
    const c = new Client(ctx.address, credentials.createInsecure(), { 'grpc.keepalive_time_ms': keepaliveMs });
    const req = create(WatchStatsRequestSchema, { namespace: ctx.ns.name, interval: durationFromMs(7000) });
    const call = (c as unknown as Record<string, (r: unknown) => ClientReadableStream<unknown>>).watchStats!(req);
    const got: number[] = [];
    const t0 = Date.now();
    call.on('data', () => got.push(Date.now() - t0));
    const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    return { c, call, got, ended };
  };

  it('one with grpc.keepalive_time_ms 300 on a stream is cut, and learns why (it doubles its keepalive)', async () => {
    const logged: string[] = [];
    setLogger({ error: (...a: unknown[]) => logged.push(a.join(' ')) });
    setLogVerbosity(logVerbosity.ERROR);
    try {
      const w = watch(300);
      const err = await Promise.race([w.ended, sleep(10_000).then(() => undefined)]);
      // grpc-js reports a stream ended by a GOAWAY with ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED.
      expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(logged.join('\n')).toMatch(/rejected by server because of excess pings/);
      w.c.close();
    } finally {
      setLogger(console);
      setLogVerbosity(logVerbosity.ERROR);
    }
  });

  it('one pinging every 2 s keeps an idle WatchStats up across its 7 s silence', async () => {
    const w = watch(2000);
    let err: ServiceError | undefined;
    void w.ended.then((e) => {
      err = e;
    });
    expect(await until(() => w.got.length >= 2, 12_000)).toBe(true);
    expect(w.got[1]! - w.got[0]!).toBeGreaterThan(6000); // the same stream, idle but for pings, 7 s on
    expect(err).toBeUndefined();
    w.call.cancel();
    expect((await w.ended).code).toBe(status.CANCELLED);
    w.c.close();
  });
});
