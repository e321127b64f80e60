// Limits one client cannot exhaust, each on a server of its own. --max-watchers
// 3: a fourth watcher is RESOURCE_EXHAUSTED while the three keep getting
// ticks, and once one is cancelled a new one is taken. --write-rate-limit
// 0.5/s with bursts of 3: a burst of writes past it is refused saying when to
// retry, reads go on, another principal (the unix socket's uid 0 beside
// loopback TCP's host) writes undisturbed, and after the wait writes pass.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressFamily, Protocol } from '../../gen/ts/ipvs/v1/model_pb.js';
import { connectIpvs, IpvsError, status, type IpvsClient } from '../../src/client/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { createNetns, type Netns } from '../kernel/helpers.js';
import { failure, startInProcess, until } from './helpers.js';

let ns: Netns;
const servers: RunningServer[] = [];
const clients: IpvsClient[] = [];

async function serve(extra: string[]): Promise<{ server: RunningServer; tcp: IpvsClient; unix: IpvsClient }> {
  const sock = `/run/ipvsd-${ns.name}-${servers.length}.sock`;
  const server = await startInProcess(
    ['--unix', sock, '--netns', ns.name, ...extra],
    pino({ level: process.env.IPVSD_TEST_LOG ?? 'silent' }),
  );
  servers.push(server);
  const tcp = connectIpvs(server.addresses[0]!);
  const unix = connectIpvs(`unix:${sock}`);
  clients.push(tcp, unix);
  return { server, tcp, unix };
}

beforeAll(() => {
  ns = createNetns('limits');
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.shutdown();
  ns?.remove();
});

describe('--max-watchers', () => {
  let c: IpvsClient;
  beforeAll(async () => {
    ({ tcp: c } = await serve(['--max-watchers', '3']));
  });

  /** A WatchStats stream at 200 ms that counts its ticks until aborted, and keeps how it ended. */
  function watcher() {
    const ac = new AbortController();
    const w = { ticks: 0, ended: undefined as unknown, ac };
    const done = (async () => {
      try {
        for await (const _ of c.watchStats(
          { namespace: ns.name, interval: { nanos: 200e6 }, allowFast: true },
          { signal: ac.signal, resubscribe: false },
        ))
          w.ticks++;
        w.ended = 'ended';
      } catch (e) {
        w.ended = e;
      }
    })();
    return Object.assign(w, { done });
  }

  it('refuses one over the most with RESOURCE_EXHAUSTED; the others keep ticking; a cancelled one frees its slot', async () => {
    const open = [watcher(), watcher(), watcher()];
    expect(await until(() => open.every((w) => w.ticks >= 1), 10_000)).not.toBe(-1);

    const refused = await failure(
      (async () => {
        for await (const _ of c.watchEvents({ namespace: ns.name }, { resubscribe: false }));
      })(),
    );
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/^WatchEvents: the server has 3 watchers open, its most \(--max-watchers\)/);
    const fourth = watcher();
    await fourth.done;
    expect((fourth.ended as IpvsError).code).toBe(status.RESOURCE_EXHAUSTED);

    const before = open.map((w) => w.ticks);
    expect(await until(() => open.every((w, i) => w.ticks >= before[i]! + 3), 10_000)).not.toBe(-1);
    expect(open.map((w) => w.ended)).toEqual([undefined, undefined, undefined]);
    // Unary calls are not watchers.
    expect((await c.getInfo({})).info?.version).toBeTruthy();

    open[0]!.ac.abort();
    await open[0]!.done;
    // The server learns of the cancel a moment later: a new watcher is taken within a second or so.
    let next = watcher();
    for (let i = 0; i < 20 && next.ticks === 0; i++) {
      await sleep(250);
      if (next.ended !== undefined) next = watcher();
    }
    expect(await until(() => next.ticks >= 2, 10_000)).not.toBe(-1);
    for (const w of [open[1]!, open[2]!, next]) w.ac.abort();
    await Promise.all([open[1]!.done, open[2]!.done, next.done]);
  });
});

describe('--write-rate-limit', () => {
  let tcp: IpvsClient;
  let unix: IpvsClient;
  beforeAll(async () => {
    ({ tcp, unix } = await serve(['--write-rate-limit', '0.5/s', '--write-rate-burst', '3']));
  });
  const svc = (port: number) => ({
    namespace: ns.name,
    service: {
      id: { addressFamily: AddressFamily.INET, protocol: Protocol.TCP, address: '198.51.100.7', port },
      schedName: 'rr',
    },
  });
  const code = (p: Promise<unknown>) =>
    p.then(
      () => status.OK,
      (e: unknown) => {
        if (!(e instanceof IpvsError)) throw e;
        return e.code;
      },
    );

  it("refuses a burst past the limit with a retry hint; reads and another principal's writes go on", async () => {
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => code(tcp.createService(svc(1000 + i)))));
    expect(burst.filter((c) => c === status.OK)).toHaveLength(3);
    expect(burst.filter((c) => c === status.RESOURCE_EXHAUSTED)).toHaveLength(5);
    const refused = await failure(tcp.createService(svc(2000)));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(
      /^write rate limit: this client may write 0\.5 times a second, 3 at once \(--write-rate-limit\); retry in [12]\.\d{3} s$/,
    );
    expect(ns.saved().filter((l) => l.includes('198.51.100.7'))).toHaveLength(3);

    // Reads are not limited.
    const reads = await Promise.all(Array.from({ length: 20 }, () => code(tcp.listServices({ namespace: ns.name }))));
    expect(reads.every((c) => c === status.OK)).toBe(true);
    // The unix socket's peer is another principal (unix:uid:0), with its own bucket.
    const other = await Promise.all([3000, 3001, 3002].map((p) => code(unix.createService(svc(p)))));
    expect(other).toEqual([status.OK, status.OK, status.OK]);

    // The hint is honest: after it, the first principal writes again.
    const wait = Number(/retry in ([\d.]+) s/.exec(refused.details)![1]);
    await sleep(wait * 1000 + 50);
    expect(await code(tcp.createService(svc(4000)))).toBe(status.OK);
  });
});
