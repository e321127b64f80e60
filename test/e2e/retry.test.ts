// The TypeScript client's defaults across a server restart (the server shut
// down as SIGTERM does, then started again on the same port): reads resume,
// retried by the service config while the server is down; no write is ever
// retried, in flight or attempted while it is down, so the kernel (ipvsadm)
// holds each at most once; and watches subscribe again. Host-side, against a
// fake server, test/unit/client-retries.test.ts pins each rule down.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectIpvs, EventKind, IpvsError, Protocol, status, type IpvsClient } from '../../src/client/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { createNetns, type Netns } from '../kernel/helpers.js';
import { startInProcess } from './helpers.js';

let ns: Netns;
/** The RPCs each server run logged ('rpc' lines: method and code), by run. */
const logs: { method: string; code: string }[][] = [];
let server: RunningServer | undefined;
let port = 0;

/** Starts a server (the same port as the last, once there was one) logging its RPCs into logs. */
async function start(): Promise<RunningServer> {
  const lines: { method: string; code: string }[] = [];
  logs.push(lines);
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  server = await startInProcess(['--listen', `127.0.0.1:${port}`, '--netns', ns.name], log);
  port = Number(server.addresses[0]!.split(':').at(-1));
  return server;
}

/** Stops the server; `downMs` later, starts the next run on the same port. Resolves when it serves. */
async function restart(downMs: number): Promise<void> {
  await server!.shutdown();
  server = undefined;
  await sleep(downMs);
  await start();
}

const calls = (run: number, method: string) => logs[run]!.filter((l) => l.method === method);
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof IpvsError ? status[e.code] : String(e)),
  );
const service = (port: number) => ({ address: '192.0.2.50', protocol: Protocol.TCP, port });
const saved = (port: number) => `-A -t 192.0.2.50:${port} -s wlc`;

let c: IpvsClient;
beforeAll(async () => {
  ns = createNetns('r');
  await start();
  c = connectIpvs(`127.0.0.1:${port}`); // the defaults, as shipped
});
afterEach(async () => {
  if (!server) await start();
  await c.flush({ namespace: ns.name });
});
afterAll(async () => {
  c?.close();
  await server?.shutdown();
  ns?.remove();
});

describe('a server restarted under a client', () => {
  it('a listing in a loop resumes; writes in flight or while it is down fail UNAVAILABLE at once, never retried', async () => {
    const namespace = ns.name;
    const reads: { at: number; outcome: string }[] = [];
    const writes: { port: number; outcome: string; ms: number }[] = [];
    let stop = false;
    const listing = (async () => {
      while (!stop) {
        const at = Date.now();
        reads.push({ at, outcome: await outcome(c.listServices({ namespace, includeDestinations: true })) });
        await sleep(10);
      }
    })();
    const writing = (async () => {
      for (let p = 1000; !stop; p++) {
        const t = Date.now();
        const o = await outcome(c.createService({ namespace, service: { id: service(p), schedName: 'wlc' } }));
        writes.push({ port: p, outcome: o, ms: Date.now() - t });
        await sleep(10);
      }
    })();
    const okSince = (t: number) => reads.filter((r) => r.at >= t && r.outcome === 'OK').length;
    const wroteSince = (n: number) => writes.slice(n).filter((w) => w.outcome === 'OK').length;
    while (okSince(0) < 10 || wroteSince(0) < 5) await sleep(20);

    const writesBefore = writes.length;
    await server!.shutdown(); // as on SIGTERM: calls still open end UNAVAILABLE
    server = undefined;
    const writesShut = writes.length;
    await sleep(500);
    const writesDown = writes.length;
    await start();
    const up = Date.now();
    for (let i = 0; i < 600 && (okSince(up) < 10 || wroteSince(writesDown) < 5); i++) await sleep(50);
    stop = true;
    await Promise.all([listing, writing]);

    // Reads: the loop went on, and read again after the restart; a read only ever failed as UNAVAILABLE.
    expect(okSince(up)).toBeGreaterThanOrEqual(10);
    expect(reads.filter((r) => r.outcome !== 'OK').map((r) => r.outcome)).toEqual(
      reads.filter((r) => r.outcome !== 'OK').map(() => 'UNAVAILABLE'),
    );
    expect(reads.slice(-5).map((r) => r.outcome)).toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);

    // Writes: OK or UNAVAILABLE, never ALREADY_EXISTS (what a create retried after it was applied would get);
    // the failed ones failed at once, without the backoff a retry would take.
    expect(new Set(writes.map((w) => w.outcome))).toEqual(new Set(['OK', 'UNAVAILABLE']));
    const failed = writes.filter((w) => w.outcome !== 'OK');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.filter((w) => w.ms > 1000)).toEqual([]);
    // Those attempted while it was down reached no server.
    const whileDown = writes.slice(writesShut, writesDown);
    expect(whileDown.length).toBeGreaterThan(0);
    expect(whileDown.filter((w) => w.outcome !== 'UNAVAILABLE')).toEqual([]);
    // Each OK write reached one server once; the second run saw no other create than those it answered OK.
    const logged = [0, 1].map((run) => calls(logs.length - 2 + run, 'CreateService'));
    expect(logged[1]!.every((l) => l.code === 'OK')).toBe(true);
    const ok = writes.filter((w) => w.outcome === 'OK');
    expect(logged[0]!.filter((l) => l.code === 'OK').length + logged[1]!.length).toBe(ok.length);

    // The kernel: every OK write once; of the failed ones, at most those the first run was given as it shut down.
    const kernel = ns.saved().filter((l) => l.startsWith('-A'));
    expect(new Set(kernel).size).toBe(kernel.length);
    for (const w of ok) expect(kernel).toContain(saved(w.port));
    const inFlight = writes.slice(writesBefore, writesShut).filter((w) => w.outcome !== 'OK');
    const extra = kernel.filter((l) => !ok.some((w) => saved(w.port) === l));
    expect(extra.filter((l) => !inFlight.some((w) => saved(w.port) === l))).toEqual([]);
  }, 60_000);

  it('a read started while it is down is retried until it is back; a write started with it is not', async () => {
    await server!.shutdown();
    server = undefined;
    // Reconnect sooner than grpc-js's default 1 s, so that the reads' retries meet the next run: a caller's option.
    const quick = connectIpvs(`127.0.0.1:${port}`, {
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 300 },
    });
    const reads = Array.from({ length: 10 }, () => outcome(quick.getInfo({ namespace: ns.name })));
    const write = outcome(quick.createService({ namespace: ns.name, service: { id: service(80) } }));
    await sleep(300);
    await start();
    expect(await write).toBe('UNAVAILABLE');
    const got = await Promise.all(reads);
    expect(got.filter((o) => o !== 'OK' && o !== 'UNAVAILABLE')).toEqual([]);
    expect(got.filter((o) => o === 'OK').length).toBeGreaterThan(0);
    expect(calls(logs.length - 1, 'GetInfo').length).toBe(got.filter((o) => o === 'OK').length);
    await sleep(3500); // longer than any retry's backoff (0.2 + 0.4 + 0.8 + 1.6 s at most)
    expect(calls(logs.length - 1, 'CreateService')).toEqual([]);
    expect(ns.saved()).toEqual([]);
    quick.close();
  }, 60_000);

  it('watchStats and watchEvents subscribe again; an opted-out watch ends UNAVAILABLE; an abort still ends them', async () => {
    const namespace = ns.name;
    const ac = new AbortController();
    const ticks: number[] = [];
    const events: { resync: boolean; added: string[] }[] = [];
    const stats = (async () => {
      for await (const _ of c.watchStats(
        { namespace, interval: { nanos: 200e6 }, allowFast: true },
        { signal: ac.signal },
      ))
        ticks.push(Date.now());
    })();
    const watching = (async () => {
      for await (const m of c.watchEvents(
        { namespace, interval: { nanos: 200e6 }, allowFast: true },
        { signal: ac.signal },
      ))
        events.push({
          resync: m.resync,
          added: m.events.filter((e) => e.kind === EventKind.ADDED).map((e) => `${e.service?.port}`),
        });
    })();
    const optedOut = outcome(
      (async () => {
        for await (const _ of c.watchStats({ namespace }, { resubscribe: false })) {
        }
      })(),
    );
    while (ticks.length < 3 || events.length < 1) await sleep(20);

    await restart(300);
    const up = Date.now();
    expect(await optedOut).toBe('UNAVAILABLE');
    while (ticks.filter((t) => t > up).length < 3 || events.filter((e) => e.resync).length < 2) await sleep(20);
    // The new WatchEvents stream began with the whole state again; what changes now arrives as events.
    await c.createService({ namespace, service: { id: service(81) } });
    for (let i = 0; i < 100 && !events.some((e) => e.added.includes('81')); i++) await sleep(50);
    expect(events.some((e) => !e.resync && e.added.includes('81'))).toBe(true);
    expect(events.filter((e) => e.resync)).toHaveLength(2);

    const aborted = Date.now();
    ac.abort();
    await Promise.all([stats, watching]); // quietly
    expect(Date.now() - aborted).toBeLessThan(2000);
  }, 60_000);
});
