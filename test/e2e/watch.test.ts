import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventKind, Protocol, status, type WatchStatsResponse } from '../../src/client/index.js';
import { createNetns } from '../kernel/helpers.js';
import { createTopology, REAL, REAL_PORT, VIP_ADDRESS, VIP_PORT, type Topology } from '../kernel/topology.js';
import { failure, useServer } from './helpers.js';

// "*": any name under /run/netns, so a test can watch a namespace and delete it.
const ctx = useServer(['--netns', '*']);
const VIP = { address: VIP_ADDRESS, protocol: Protocol.TCP, port: VIP_PORT };
const ns = () => ctx.ns.name;

/** Reads `n` snapshots (bounded by `ms`), then cancels. */
async function take(
  n: number,
  req: Parameters<typeof ctx.client.watchStats>[0],
  ms = 20_000,
): Promise<WatchStatsResponse[]> {
  const out: WatchStatsResponse[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  for await (const s of ctx.client.watchStats(req, { signal: ac.signal })) {
    out.push(s);
    if (out.length >= n) break;
  }
  clearTimeout(timer);
  return out;
}

describe('WatchStats', () => {
  let net: Topology;
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
  });
  afterAll(() => net?.close());

  it('shows counters move while traffic flows through a VIP', async () => {
    await ctx.client.createService({ namespace: ns(), service: { id: VIP, schedName: 'rr' } });
    for (const r of REAL)
      await ctx.client.createDestination({
        namespace: ns(),
        service: VIP,
        destination: { address: r.server, port: REAL_PORT },
      });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 20_000);
    let first: WatchStatsResponse | undefined;
    let moved: WatchStatsResponse | undefined;
    for await (const s of ctx.client.watchStats({ namespace: ns() }, { signal: ac.signal })) {
      if (!first) {
        first = s;
        expect(s.services[0]?.stats?.connections).toBe(0n);
        net.request(4);
      } else if (s.services[0]?.stats?.connections === 4n) {
        moved = s;
        break;
      }
    }
    clearTimeout(timer);
    expect(moved, 'a snapshot with the 4 connections').toBeDefined();
    expect(moved!.services[0]!.destinations.map((d) => d.stats?.connections)).toEqual([2n, 2n]);
    expect(moved!.services[0]!.stats!.bytesIn).toBeGreaterThan(0n);
    expect(moved!.interval).toMatchObject({ seconds: 2n });
  });

  it('filters by service', async () => {
    await ctx.client.createService({ namespace: ns(), service: { id: VIP } });
    await ctx.client.createService({ namespace: ns(), service: { id: { ...VIP, port: 81 } } });
    const [s] = await take(1, {
      namespace: ns(),
      services: [{ address: VIP_ADDRESS, protocol: Protocol.TCP, port: 81 }],
    });
    expect(s!.services.map((x) => x.service?.port)).toEqual([81]);
  });

  it('clamps the interval: 2 s floor unless allow_fast (then 100 ms), 1 h ceiling', async () => {
    const interval = async (ms: bigint, allowFast = false) => {
      const [s] = await take(1, {
        namespace: ns(),
        interval: { seconds: ms / 1000n, nanos: Number(ms % 1000n) * 1e6 },
        allowFast,
      });
      return s!.interval!;
    };
    expect(await interval(10n)).toMatchObject({ seconds: 2n, nanos: 0 });
    expect(await interval(10n, true)).toMatchObject({ seconds: 0n, nanos: 100e6 });
    expect(await interval(250n, true)).toMatchObject({ seconds: 0n, nanos: 250e6 });
    expect(await interval(7_200_000n)).toMatchObject({ seconds: 3600n });
  });

  it('serves 100 concurrent watchers with one kernel listing per tick', async () => {
    await ctx.client.createService({ namespace: ns(), service: { id: VIP } });
    const before = ctx.server.hub.dumps;
    const all = await Promise.all(
      Array.from({ length: 100 }, () => take(3, { namespace: ns(), interval: { nanos: 300e6 }, allowFast: true })),
    );
    const ticks = new Set(all.flat().map((s) => `${s.time?.seconds}.${s.time?.nanos}`));
    const dumps = ctx.server.hub.dumps - before;
    // Every watcher saw snapshots of the same few ticks; each tick was one listing.
    expect(all.every((w) => w.length === 3)).toBe(true);
    expect(ticks.size).toBeGreaterThanOrEqual(3);
    expect(dumps).toBeLessThanOrEqual(ticks.size + 1);
  });

  it('frees a cancelled watcher at once, and polls no more without watchers', async () => {
    await take(1, { namespace: ns(), interval: { nanos: 200e6 }, allowFast: true });
    for (let i = 0; i < 50 && ctx.server.hub.watchers; i++) await sleep(20);
    expect(ctx.server.hub.watchers).toBe(0);
    const dumps = ctx.server.hub.dumps;
    await sleep(1000);
    expect(ctx.server.hub.dumps).toBe(dumps);
  });

  it('gives a client that stops reading backpressure, then the newest snapshot, not a backlog', async () => {
    // Big snapshots from a cheap listing: one service with 1000 destinations (one dump, ~30 KB a message).
    await ctx.client.createService({ namespace: ns(), service: { id: { ...VIP, port: 9000 } } });
    await ctx.client.batch({
      namespace: ns(),
      operations: Array.from({ length: 1000 }, (_, i) => ({
        operation: {
          case: 'createDestination' as const,
          value: { service: { ...VIP, port: 9000 }, destination: { address: `198.18.${i >> 8}.${i & 255}` } },
        },
      })),
    });
    const stream = ctx.client.grpc as unknown as Record<
      string,
      (...a: unknown[]) => NodeJS.ReadableStream & { cancel(): void }
    >;
    const { create } = await import('@bufbuild/protobuf');
    const { WatchStatsRequestSchema } = await import('../../src/client/index.js');
    const call = stream.watchStats!(
      create(WatchStatsRequestSchema, { namespace: ns(), interval: { nanos: 100e6 }, allowFast: true }),
    );
    const times: number[] = [];
    call.on('data', (m: WatchStatsResponse) => times.push(Number(m.time!.seconds) * 1000 + m.time!.nanos / 1e6));
    const errors: { code?: number }[] = [];
    call.on('error', (e: { code?: number }) => {
      if (e.code !== status.CANCELLED) errors.push(e);
    });
    await once(call, 'data');
    call.pause();
    const pausedAt = Date.now();
    const dumpsBefore = ctx.server.hub.dumps;
    await sleep(12_000); // ~120 ticks: far more than the transport can buffer
    const ticks = ctx.server.hub.dumps - dumpsBefore;
    const before = times.length;
    call.resume();
    const wantFresh = Date.now() - 1000;
    for (let i = 0; i < 100 && !(times.length && times[times.length - 1]! > wantFresh); i++) await sleep(100);
    call.cancel();
    // What arrived from the paused 12 s is what transport buffers held (~1 MB here), far fewer than its ticks...
    const delivered = times.filter((t) => t > pausedAt && t < pausedAt + 12_000).length;
    expect(ticks).toBeGreaterThan(60);
    expect(delivered).toBeLessThan(ticks / 2);
    // ...and once reading again, the client is handed a fresh snapshot, not the old backlog.
    expect(times[times.length - 1]!).toBeGreaterThan(wantFresh);
    expect(before).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('ends with NOT_FOUND when the namespace is deleted', async () => {
    const gone = createNetns('gone');
    const e = await failure(
      (async () => {
        let n = 0;
        for await (const _ of ctx.client.watchStats({
          namespace: gone.name,
          interval: { nanos: 200e6 },
          allowFast: true,
        })) {
          if (++n === 1) gone.remove();
          if (n > 50) throw new Error('the stream outlived its namespace');
        }
      })(),
    );
    expect(e).toMatchObject({ code: status.NOT_FOUND, field: 'namespace' });
  });
});

describe('WatchEvents', () => {
  it('starts with the whole state, then reports changes made by anyone, ipvsadm included', async () => {
    await ctx.client.createService({ namespace: ns(), service: { id: VIP, schedName: 'rr' } });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 30_000);
    const seen: string[] = [];
    let step = 0;
    for await (const m of ctx.client.watchEvents(
      { namespace: ns(), interval: { nanos: 200e6 }, allowFast: true },
      { signal: ac.signal },
    )) {
      if (step === 0) {
        expect(m.resync).toBe(true);
        expect(m.snapshot.map((s) => s.service?.id?.port)).toEqual([VIP_PORT]);
        ctx.ns.ipvsadm(`-a -t ${VIP_ADDRESS}:${VIP_PORT} -r 198.51.100.1 -m -w 1`);
        step = 1;
        continue;
      }
      for (const e of m.events) {
        seen.push(
          `${EventKind[e.kind]} ${e.newDestination?.address ?? e.oldDestination?.address ?? `service ${e.service?.port}`} w=${e.newDestination?.weight ?? '-'}/${e.oldDestination?.weight ?? '-'}`,
        );
      }
      if (step === 1 && seen.length >= 1) {
        ctx.ns.ipvsadm(`-e -t ${VIP_ADDRESS}:${VIP_PORT} -r 198.51.100.1 -m -w 9`);
        step = 2;
      } else if (step === 2 && seen.length >= 2) {
        ctx.ns.ipvsadm(`-D -t ${VIP_ADDRESS}:${VIP_PORT}`);
        step = 3;
      } else if (step === 3 && seen.length >= 3) {
        break;
      }
    }
    clearTimeout(timer);
    expect(seen).toEqual(['ADDED 198.51.100.1 w=1/-', 'UPDATED 198.51.100.1 w=9/1', 'REMOVED service 80 w=-/-']);
  });
});
