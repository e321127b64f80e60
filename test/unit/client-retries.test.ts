// The TypeScript client's defaults for restarts: grpc-js retries the
// idempotent reads of the service config on UNAVAILABLE and never a write,
// and watchStats/watchEvents subscribe again when a stream that delivered
// breaks with UNAVAILABLE, boundedly, ending quietly on an abort. Against a
// real grpc-js server on 127.0.0.1 whose handlers fail on cue; the server's
// side of a restart is test/e2e/retry.test.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { create, type DescMessage } from '@bufbuild/protobuf';
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { serve } from './fake-server.js';
import {
  ApplyWithProgressResponseSchema,
  IpvsService,
  WatchEventsResponseSchema,
  WatchStatsResponseSchema,
} from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { defaultServiceConfig } from '../../gen/ts/ipvs/v1/service_config.js';
import { defaultChannelOptions, IpvsError, resubscribeBackoff, type IpvsClient } from '../../src/client/index.js';
import { resubscribing, type Backoff } from '../../src/client/resubscribe.js';

const unavailable = { code: status.UNAVAILABLE, details: 'restarting' };

/** A unary handler failing UNAVAILABLE its first `failures` calls, then answering an empty `output`; counts calls. */
function flaky(output: DescMessage, failures: number) {
  const h = (_call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) => {
    h.calls++;
    if (h.calls <= failures) done(unavailable);
    else done(null, create(output));
  };
  h.calls = 0;
  return h;
}

const unary = IpvsService.methods.filter((m) => m.methodKind === 'unary');
const retried = new Set(defaultServiceConfig.methodConfig.flatMap((c) => c.name.map((n) => n.method)));
const reads = unary.filter((m) => retried.has(m.name));
const writes = unary.filter((m) => !retried.has(m.name));
type Call = (req?: object) => Promise<unknown>;
const method = (c: IpvsClient, name: string) => (c as unknown as Record<string, Call>)[name]!;

async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e instanceof IpvsError ? status[e.code] : e),
  );
}

describe('the service config', () => {
  it('retries exactly the List*, Get*, GetInfo and GetConfig methods, on UNAVAILABLE only', () => {
    expect(reads.map((m) => m.name).sort()).toEqual(
      [
        'GetConfig',
        'GetDesiredState',
        'GetInfo',
        'GetService',
        'ListAddresses',
        'ListConnections',
        'ListDaemons',
        'ListDesiredStates',
        'ListDestinationHealth',
        'ListDestinations',
        'ListServices',
        'ListSysctls',
      ].sort(),
    );
    expect(unary.every((m) => retried.has(m.name) === /^(List|Get)/.test(m.name))).toBe(true);
    expect(defaultServiceConfig.methodConfig.map((c) => c.retryPolicy.retryableStatusCodes)).toEqual([['UNAVAILABLE']]);
    expect(defaultChannelOptions['grpc.service_config']).toBe(JSON.stringify(defaultServiceConfig));
  });

  it('every read that fails UNAVAILABLE succeeds on its next attempt', async () => {
    const handlers = Object.fromEntries(reads.map((m) => [m.localName, flaky(m.output, 1)]));
    const c = await serve(handlers);
    for (const m of reads) {
      expect(await outcome(method(c, m.localName)())).toBe('ok');
      expect([m.name, handlers[m.localName]!.calls]).toEqual([m.name, 2]);
    }
  });

  it('a read fails UNAVAILABLE after 5 attempts', async () => {
    const h = flaky(IpvsService.method.getInfo.output, Infinity);
    const c = await serve({ getInfo: h });
    expect(await outcome(c.getInfo())).toBe('UNAVAILABLE');
    expect(h.calls).toBe(5);
  });

  it('no write is retried: each fails UNAVAILABLE on its one attempt', async () => {
    const handlers = Object.fromEntries(writes.map((m) => [m.localName, flaky(m.output, 1)]));
    const c = await serve(handlers);
    for (const m of writes) {
      expect([m.name, await outcome(method(c, m.localName)())]).toEqual([m.name, 'UNAVAILABLE']);
      expect([m.name, handlers[m.localName]!.calls]).toEqual([m.name, 1]);
    }
  });

  it('is not retried on other codes, and a caller may turn it off', async () => {
    let calls = 0;
    const c = await serve({
      getInfo: (_: unknown, done: sendUnaryData<unknown>) => {
        calls++;
        done({ code: status.INTERNAL, details: 'no' });
      },
    });
    expect(await outcome(c.getInfo())).toBe('INTERNAL');
    expect(calls).toBe(1);
    const h = flaky(IpvsService.method.getInfo.output, 1);
    const off = await serve({ getInfo: h }, { channelOptions: { 'grpc.service_config': '{}' } });
    expect(await outcome(off.getInfo())).toBe('UNAVAILABLE');
    expect(h.calls).toBe(1);
  });
});

const tick = (n: number) => create(WatchStatsResponseSchema, { services: [{ stats: { connections: BigInt(n) } }] });
const connections = (t: { services: { stats?: { connections: bigint } }[] }) =>
  Number(t.services[0]?.stats?.connections);

/** A streaming handler whose i-th call (from 0) sends `script[i]`'s ticks, and after them fails UNAVAILABLE or ends. */
function script(calls: { ticks: number[]; after: 'fail' | 'end' }[], requests: unknown[] = []) {
  let i = 0;
  return (call: ServerWritableStream<unknown, object>) => {
    requests.push(call.request);
    const step = calls[Math.min(i++, calls.length - 1)]!;
    for (const n of step.ticks) call.write(tick(n));
    if (step.after === 'end') call.end();
    else setTimeout(() => call.emit('error', unavailable), 20);
  };
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

describe('watch re-subscription', () => {
  it('watchStats subscribes again with the same request when its stream breaks, and after a failed attempt', async () => {
    const requests: unknown[] = [];
    const c = await serve({
      watchStats: script(
        [
          { ticks: [1, 2], after: 'fail' },
          { ticks: [], after: 'fail' },
          { ticks: [3], after: 'end' },
        ],
        requests,
      ),
    });
    const got = await all(c.watchStats({ namespace: 'blue', allowFast: true }));
    expect(got.map(connections)).toEqual([1, 2, 3]);
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}` : v)))).size).toBe(
      1,
    );
  });

  it('watchEvents too: the new stream starts with its resync', async () => {
    let calls = 0;
    const c = await serve({
      watchEvents: (call: ServerWritableStream<unknown, object>) => {
        calls++;
        call.write(create(WatchEventsResponseSchema, { resync: true, skippedTicks: calls }));
        if (calls === 1) setTimeout(() => call.emit('error', unavailable), 20);
        else call.end();
      },
    });
    const got = await all(c.watchEvents());
    expect(got.map((m) => [m.resync, m.skippedTicks])).toEqual([
      [true, 1],
      [true, 2],
    ]);
  });

  it('is not done for a watch that never delivered, for other codes, when turned off, or for ApplyWithProgress', async () => {
    const never = await serve({ watchStats: script([{ ticks: [], after: 'fail' }]) });
    await expect(all(never.watchStats())).rejects.toMatchObject({ code: status.UNAVAILABLE });

    const gone = await serve({
      watchStats: (call: ServerWritableStream<unknown, object>) => {
        call.write(tick(1));
        setTimeout(() => call.emit('error', { code: status.NOT_FOUND, details: 'namespace gone' }), 20);
      },
    });
    await expect(all(gone.watchStats())).rejects.toMatchObject({ code: status.NOT_FOUND });

    const handlers = { watchStats: script([{ ticks: [1], after: 'fail' }]) };
    const off = await serve(handlers, { resubscribe: false });
    await expect(all(off.watchStats())).rejects.toMatchObject({ code: status.UNAVAILABLE });
    const on = await serve({ watchStats: script([{ ticks: [1], after: 'fail' }]) });
    await expect(all(on.watchStats({}, { resubscribe: false }))).rejects.toMatchObject({ code: status.UNAVAILABLE });

    let applies = 0;
    const apply = await serve({
      applyWithProgress: (call: ServerWritableStream<unknown, object>) => {
        applies++;
        call.write(
          create(ApplyWithProgressResponseSchema, { event: { case: 'progress', value: { planned: 2, done: 1 } } }),
        );
        setTimeout(() => call.emit('error', unavailable), 20);
      },
    });
    await expect(all(apply.applyWithProgress())).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(applies).toBe(1);
  });

  it('the backoff is the service config retry policy of the reads', () => {
    expect(resubscribeBackoff).toEqual({ attempts: 5, initialMs: 200, maxMs: 5000, multiplier: 2 });
  });
});

describe('resubscribing', () => {
  const fast: Backoff = { attempts: 3, initialMs: 10, maxMs: 40, multiplier: 2 };
  const down = () => new IpvsError(unavailable);

  it('gives up after `attempts` re-subscriptions in a row that deliver nothing, throwing the last UNAVAILABLE', async () => {
    let opened = 0;
    const open = async function* () {
      opened++;
      if (opened === 1) yield 1;
      throw down();
    };
    await expect(all(resubscribing(open, {}, fast))).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(opened).toBe(1 + fast.attempts);
  });

  it('counts again from a stream that delivered: any number of breaks far enough apart', async () => {
    let opened = 0;
    const open = async function* () {
      opened++;
      if (opened % 3 === 0 || opened === 1) yield opened; // two failed attempts, then one that delivers
      if (opened < 12) throw down();
    };
    expect(await all(resubscribing(open, {}, fast))).toEqual([1, 3, 6, 9, 12]);
  });

  it('ends quietly when aborted while waiting to subscribe again', async () => {
    const ac = new AbortController();
    const open = async function* () {
      yield 1;
      throw down();
    };
    const t = Date.now();
    setTimeout(() => ac.abort(), 50);
    expect(
      await all(resubscribing(open, { signal: ac.signal }, { ...fast, initialMs: 60_000, maxMs: 60_000 })),
    ).toEqual([1]);
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it('one deadline for every subscription, counted from the first', async () => {
    const deadlines: unknown[] = [];
    let opened = 0;
    const open = async function* (o: { deadline?: number | Date }) {
      deadlines.push(o.deadline);
      yield ++opened;
      if (opened < 3) throw down();
    };
    const before = Date.now();
    await sleep(1);
    expect(await all(resubscribing(open, { deadline: 10_000 }, fast))).toEqual([1, 2, 3]);
    expect(deadlines).toHaveLength(3);
    expect(new Set(deadlines).size).toBe(1);
    expect((deadlines[0] as Date).getTime()).toBeGreaterThan(before + 9_000);
  });
});
