// Floods from one client against the default limits, each 10,000 WatchStats
// streams on one HTTP/2 connection written by hand (h2-flood.ts): all at
// once, ignoring --max-concurrent-streams (250); and opened and reset 250 at
// a time (HTTP/2 "rapid reset"). The server never runs more than 250 of
// them at once (each one running is a watcher), cuts the connection with
// GOAWAY, keeps its memory bounded and its watchers go back to none; another
// client's unary p99 latency during the floods is printed beside its p99
// without them (asserted only against a generous bound).
import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { WatchStatsRequestSchema } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { connectIpvs } from '../../src/client/index.js';
import { floodStreams, type FloodResult } from './h2-flood.js';
import { until, useServer } from './helpers.js';

const ATTEMPTS = 10_000;
const MAX_CONCURRENT_STREAMS = 250;
const WATCH = '/ipvs.v1.IpvsService/WatchStats';

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;
const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
const round = (ms: number) => Math.round(ms * 10) / 10;

describe('a flood of streams from one client', () => {
  const ctx = useServer();

  it('holds the limits, keeps memory bounded, and leaves another client served', async () => {
    const port = Number(ctx.address.split(':')[1]);
    const probe = connectIpvs(ctx.address);
    const timed = async () => {
      const t = performance.now();
      await probe.getInfo({});
      return performance.now() - t;
    };
    for (let i = 0; i < 20; i++) await timed();
    const alone: number[] = [];
    for (let i = 0; i < 200; i++) alone.push(await timed());

    const rss = { before: process.memoryUsage().rss, peak: 0, after: 0 };
    let peakWatchers = 0;
    const sampler = setInterval(() => {
      peakWatchers = Math.max(peakWatchers, ctx.server.hub.watchers);
      rss.peak = Math.max(rss.peak, process.memoryUsage().rss);
    }, 10);
    const request = toBinary(WatchStatsRequestSchema, create(WatchStatsRequestSchema, { namespace: ctx.ns.name }));
    let flooding = true;
    const floods = (async () => {
      const atOnce = await floodStreams(port, WATCH, request, { attempts: ATTEMPTS, burst: ATTEMPTS });
      const rapidReset = await floodStreams(port, WATCH, request, {
        attempts: ATTEMPTS,
        burst: MAX_CONCURRENT_STREAMS,
        resetAfterMs: 10,
      });
      return { atOnce, rapidReset };
    })().finally(() => {
      flooding = false;
    });
    const during: number[] = [];
    while (flooding) during.push(await timed());
    const { atOnce, rapidReset } = await floods;
    clearInterval(sampler);
    // The server let go of every stream of both connections.
    expect(await until(() => ctx.server.hub.watchers === 0, 10_000)).not.toBe(-1);
    rss.after = process.memoryUsage().rss;
    // And serves a new client as before.
    const after: number[] = [];
    for (let i = 0; i < 50; i++) after.push(await timed());
    probe.close();

    const report = {
      atOnce,
      rapidReset,
      peakWatchers,
      rssMiB: { before: mib(rss.before), peak: mib(rss.peak), after: mib(rss.after) },
      getInfoP99Ms: { alone: round(p99(alone)), duringFloods: round(p99(during)), after: round(p99(after)) },
      probeCallsDuringFloods: during.length,
    };
    console.log(`flood: ${JSON.stringify(report)}`);

    for (const f of [atOnce, rapidReset] as FloodResult[]) {
      expect(f.attempts).toBe(ATTEMPTS);
      // The server cut the connection, having processed a small part of it.
      expect(f.goaway).toBeDefined();
      expect(f.goaway!.lastStream).toBeLessThan(2 * ATTEMPTS);
    }
    // Never more streams running than one connection may have.
    expect(peakWatchers).toBeGreaterThan(0);
    expect(peakWatchers).toBeLessThanOrEqual(MAX_CONCURRENT_STREAMS);
    expect(rss.peak - rss.before).toBeLessThan(128 * 2 ** 20);
    expect(p99(during)).toBeLessThan(10_000);
  });
});
