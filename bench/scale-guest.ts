// The guest side of bench/scale.ts, inside user-mode Linux. The server runs
// as its own process (dist/, as shipped), so its memory and CPU are its own:
//   scale-guest.ts state N D T    Apply N x D from empty, list every page (twice), the tick cost with T watchers,
//                                 server peak RSS
//   scale-guest.ts watchers N D W p99 of unary writes alone, then with W WatchStats streams; dumps per tick
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, toBinary } from '@bufbuild/protobuf';
import { credentials, makeGenericClientConstructor, type ClientReadableStream } from '@grpc/grpc-js';
import {
  connectIpvs,
  IpvsService,
  WatchStatsRequestSchema,
  type IpvsClient,
  type WatchStatsRequest,
} from '../src/client/index.js';
import { freePort } from '../src/sandbox/slirp.js';
import { rip, vip } from './rules.js';
import { startServerProcess } from './server-process.js';

const [mode, n = '0', d = '0', w = '0'] = process.argv.slice(2);
const services = Number(n);
const dests = Number(d);
const BIG = 512 << 20;
const metricsPort = await freePort();

// Only the watchers mode reads /metrics: with it on, the metrics' own 2 s poller lists the whole state all along,
// which in state mode would compete with the very listing being timed (ipvsadm -Ln has no such neighbour).
const server = await startServerProcess([
  '--max-message-bytes',
  String(BIG),
  ...(mode === 'watchers' ? ['--metrics', `127.0.0.1:${metricsPort}`] : []),
]);
const { port } = server;
const c = await server.connect({ 'grpc.max_send_message_length': BIG, 'grpc.max_receive_message_length': BIG });
const watchStats = IpvsService.method.watchStats;
/** A client of WatchStats alone whose messages stay undecoded bytes. */
const CountingClient = makeGenericClientConstructor(
  {
    watchStats: {
      path: `/${IpvsService.typeName}/${watchStats.name}`,
      requestStream: false,
      responseStream: true,
      requestSerialize: (m: WatchStatsRequest) => Buffer.from(toBinary(watchStats.input, m)),
      requestDeserialize: () => ({}),
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (b: Buffer) => b.length,
    },
  },
  'CountingClient',
);
const { rss, cpuMs } = server;
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)![1]);
}
const desired = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    service: { id: { address: vip(i), protocol: 6, port: 80 }, schedName: 'wlc' },
    destinations: Array.from({ length: dests }, (_, j) => ({ address: rip(j), port: 8080, weight: 1 })),
  }));
const timed = async <T>(f: () => Promise<T>) => {
  const t = performance.now();
  const value = await f();
  return { ms: performance.now() - t, value };
};
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** `count` unary writes one after another (a weight flip on one destination), their latencies. */
async function writeLatencies(client: IpvsClient, count: number): Promise<number[]> {
  const out: number[] = [];
  const service = { address: vip(0), protocol: 6, port: 80 };
  for (let i = 0; i < count; i++) {
    const { ms } = await timed(() =>
      client.updateDestination({ service, destination: { address: rip(0), port: 8080, weight: 1 + (i % 2) } }),
    );
    out.push(ms);
  }
  return out;
}

/**
 * W WatchStats streams over 10 connections, as many clients would open them.
 * They count bytes and do not decode: the figures are the server's, not this process's.
 */
function countingWatchers(
  count: number,
  signal: AbortSignal,
  onMessage: (bytes: number, call: object) => void,
): { streams: Promise<void>[]; close(): void } {
  const channels = Array.from(
    { length: 10 },
    // A connection each: grpc-js would otherwise share one among clients of one address, and the server takes
    // at most --max-concurrent-streams (250) streams on a connection.
    () =>
      new CountingClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  setMaxListeners(count + 10, signal);
  const streams = Array.from(
    { length: count },
    (_, i) =>
      new Promise<void>((resolve) => {
        const call = channels[i % channels.length]!.watchStats!(
          create(WatchStatsRequestSchema),
        ) as ClientReadableStream<number>;
        call.on('data', (bytes: number) => onMessage(bytes, call));
        call.on('error', () => resolve());
        call.on('end', resolve);
        signal.addEventListener('abort', () => call.cancel(), { once: true });
      }),
  );
  return {
    streams,
    close: () => {
      for (const ch of channels) ch.close();
    },
  };
}

let result: Record<string, number>;
if (mode === 'state') {
  const watchers = Number(w) || 1;
  // At this size the report of every change would outweigh the work: failures only, as the README advises.
  const apply = await timed(() =>
    c.apply({ services: desired(services), prune: true, failuresOnly: true }, { deadline: 600_000 }),
  );
  if (apply.value.failed || apply.value.applied !== services * (dests + 1))
    throw new Error(`Apply: ${apply.value.applied} applied, ${apply.value.failed} failed`);
  const peakAfterApply = rss().peak;
  // Every page, by a client with the stock 4 MiB limit: right after the Apply, and again later (as a running
  // server's listings mostly are: the first one pays for collecting the Apply's garbage).
  const stock = connectIpvs(`127.0.0.1:${port}`);
  const listAll = () =>
    timed(async () => {
      let n = 0;
      for await (const x of stock.listAllServices({ includeDestinations: true }, { deadline: 600_000 }))
        n += 1 + x.destinations.length;
      return n;
    });
  const list = await listAll();
  const again = await listAll();
  stock.close();
  for (const l of [list, again]) if (l.value !== services * (dests + 1)) throw new Error(`listed ${l.value}`);
  const peakAfterList = rss().peak;
  // W counting watchers at the default 2 s, and one more that decodes, to tell where ticks end (more = false):
  // the server's CPU per tick, over four whole ticks.
  const ac = new AbortController();
  let largest = 0;
  let received = 0;
  const watching = countingWatchers(watchers, ac.signal, (bytes) => {
    received++;
    largest = Math.max(largest, bytes);
  });
  const ticks: number[] = [];
  let cpu0 = 0;
  let parts = 0;
  const raw = (
    c.grpc as unknown as { watchStats(r: WatchStatsRequest): ClientReadableStream<{ more: boolean }> }
  ).watchStats(create(WatchStatsRequestSchema));
  await new Promise<void>((resolve, reject) => {
    raw.on('data', (m) => {
      if (ticks.length) parts++;
      if (m.more) return;
      ticks.push(performance.now());
      if (ticks.length === 2) cpu0 = cpuMs();
      if (ticks.length === 6) resolve();
    });
    raw.on('error', reject);
  });
  const tickCpuMs = (cpuMs() - cpu0) / 4;
  raw.cancel();
  ac.abort();
  await Promise.allSettled(watching.streams);
  watching.close();
  const mem = rss();
  result = {
    applyMs: apply.ms,
    listMs: list.ms,
    listAgainMs: again.ms,
    tickCpuMs,
    tickPeriodMs: (ticks[5]! - ticks[1]!) / 4,
    partsPerTick: parts / 5,
    largestPart: largest,
    received,
    watchers,
    rssMb: mem.now,
    peakRssMb: mem.peak,
    peakAfterApplyMb: peakAfterApply,
    peakAfterListMb: peakAfterList,
  };
} else if (mode === 'watchers') {
  const watchers = Number(w);
  await c.apply({ services: desired(services), prune: true });
  await writeLatencies(c, 20); // warm
  const alone = await writeLatencies(c, 200);
  const ac = new AbortController();
  let messages = 0;
  let ready = 0;
  const counted = new WeakSet<object>();
  const watching = countingWatchers(watchers, ac.signal, (_, call) => {
    messages++;
    if (!counted.has(call)) {
      counted.add(call);
      ready++;
    }
  });
  for (let i = 0; i < 600 && ready < watchers; i++) await sleep(100);
  if (ready < watchers) throw new Error(`only ${ready} of ${watchers} watchers got a first snapshot`);
  const dumps0 = await metric('ipvsd_stats_dumps_total');
  const messages0 = messages;
  const t0 = performance.now();
  const busy = await writeLatencies(c, 200);
  await sleep(Math.max(0, 10_000 - (performance.now() - t0)));
  const seconds = (performance.now() - t0) / 1000;
  const dumps = (await metric('ipvsd_stats_dumps_total')) - dumps0;
  const delivered = messages - messages0;
  const open = await metric('ipvsd_stats_watchers');
  ac.abort();
  await Promise.allSettled(watching.streams);
  watching.close();
  const mem = rss();
  result = {
    watchers: open,
    seconds,
    dumps,
    ticks: seconds / 2,
    delivered,
    p50AloneMs: percentile(alone, 0.5),
    p99AloneMs: percentile(alone, 0.99),
    p50BusyMs: percentile(busy, 0.5),
    p99BusyMs: percentile(busy, 0.99),
    rssMb: mem.now,
    peakRssMb: mem.peak,
  };
} else {
  throw new Error(`unknown mode ${mode}`);
}
c.close();
await server.stop();
console.log(JSON.stringify(result));
