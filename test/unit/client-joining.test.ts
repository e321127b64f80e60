// The TypeScript client hands over whole messages and whole listings: the
// parts of a WatchStats tick, a WatchEvents message and an ApplyWithProgress
// result joined, the pages of ListServices and ListDestinations followed.
// Against a real grpc-js server on 127.0.0.1 whose handlers send hand-made
// parts and pages: what is under test is the client's bookkeeping, not how
// the server splits.
import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import {
  Metadata,
  status,
  type ClientReadableStream,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serve } from './fake-server.js';
import {
  ApplyWithProgressResponseSchema,
  DesiredStateView,
  EventKind,
  ListDesiredStatesResponseSchema,
  ListDestinationsResponseSchema,
  ListServicesResponseSchema,
  WatchEventsResponseSchema,
  WatchStatsRequestSchema,
  WatchStatsResponseSchema,
  type ListDesiredStatesRequest,
  type ListDestinationsRequest,
  type ListServicesRequest,
  type WatchStatsResponse,
} from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { AddressFamily, Protocol, ServiceWithDestinationsSchema } from '../../gen/ts/ipvs/v1/model_pb.js';
import { IpvsError } from '../../src/client/index.js';
import { ErrorTrailer } from '../../src/rpc/definition.js';

/** A streaming handler that sends `messages`, then ends the stream. */
const sends = (messages: object[]) => (call: ServerWritableStream<unknown, object>) => {
  for (const m of messages) call.write(m);
  call.end();
};

/** A unary handler answering each request with `answer(request)`. */
const answers =
  <Req, Res>(answer: (req: Req) => Res | Promise<Res>) =>
  (call: ServerUnaryCall<Req, Res>, done: sendUnaryData<Res>) => {
    Promise.resolve(answer(call.request)).then(
      (r) => done(null, r),
      (e: Error) => done(e),
    );
  };

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

/** What iterating `items` throws, after handing `each` every item it yields. */
async function failure<T>(items: AsyncIterable<T>, each: (x: T) => void = () => {}): Promise<unknown> {
  try {
    for await (const x of items) each(x);
  } catch (e) {
    return e;
  }
  throw new Error('the iteration ended without failing');
}

/** Page i of a listing comes with token "i" (the first with none); the last has no next token. */
const pageOf = (token: string) => Number(token || 0);
const tokenAfter = (i: number, pages: number) => (i + 1 < pages ? String(i + 1) : '');

/** A listing in short: [service number, its destinations' numbers][]. */
type Listing = [number, number[]][];

const serviceId = (n: number) => ({
  addressFamily: AddressFamily.INET,
  protocol: Protocol.TCP,
  address: `192.0.2.${n}`,
  port: 80,
});
const destination = (n: number) => ({ addressFamily: AddressFamily.INET, address: `198.51.100.${n}`, port: 8080 });
const listed = (l: Listing) =>
  l.map(([s, ds]) =>
    create(ServiceWithDestinationsSchema, {
      service: { id: serviceId(s), schedName: 'rr' },
      destinations: ds.map(destination),
    }),
  );
const T1 = { seconds: 1_700_000_000n };
const T2 = { seconds: 1_700_000_002n };

/** A WatchStats message: each service's stats are repeated in every part it is in, as the server does. */
const tick = (l: Listing, more: boolean, time = T1) =>
  create(WatchStatsResponseSchema, {
    time,
    interval: { seconds: 2n },
    more,
    services: l.map(([s, ds]) => ({
      service: serviceId(s),
      stats: { connections: BigInt(s) },
      destinations: ds.map((d) => ({ ...destination(d), activeConnections: d })),
    })),
  });
const resync = (l: Listing, more: boolean) =>
  create(WatchEventsResponseSchema, { time: T1, resync: true, skippedTicks: 3, snapshot: listed(l), more });
const added = (...ns: number[]) =>
  ns.map((n) => ({ kind: EventKind.ADDED, service: serviceId(n), newService: { id: serviceId(n) } }));
const events = (evs: ReturnType<typeof added>, more: boolean) =>
  create(WatchEventsResponseSchema, { time: T2, events: evs, more });

describe('watchStats yields whole ticks', () => {
  it('joins the parts of a tick: a service continued into the next part gets the rest of its destinations', async () => {
    const c = await serve({
      watchStats: sends([
        tick([[1, [1, 2]]], true),
        tick(
          [
            [1, [3, 4]],
            [2, [5]],
          ],
          true,
        ),
        tick(
          [
            [2, [6]],
            [3, []],
          ],
          false,
        ),
        tick([[1, [1]]], false, T2),
      ]),
    });
    expect(await all(c.watchStats())).toEqual([
      tick(
        [
          [1, [1, 2, 3, 4]],
          [2, [5, 6]],
          [3, []],
        ],
        false,
      ),
      tick([[1, [1]]], false, T2),
    ]);
  });

  it('joins a service spread over several parts into one', async () => {
    const c = await serve({
      watchStats: sends([
        tick([[1, [1]]], true),
        tick([[1, [2]]], true),
        tick(
          [
            [1, [3]],
            [2, [4]],
          ],
          false,
        ),
      ]),
    });
    expect(await all(c.watchStats())).toEqual([
      tick(
        [
          [1, [1, 2, 3]],
          [2, [4]],
        ],
        false,
      ),
    ]);
  });

  it('ends quietly when its signal aborts part-way through a tick, with nothing partial', async () => {
    let partSent!: () => void;
    const sent = new Promise<void>((r) => {
      partSent = r;
    });
    const c = await serve({
      watchStats: (call: ServerWritableStream<unknown, object>) => {
        call.write(tick([[1, [1]]], false));
        call.write(tick([[2, [2]]], true), partSent); // and the rest of the tick never comes
      },
    });
    const ac = new AbortController();
    const got: WatchStatsResponse[] = [];
    for await (const t of c.watchStats({}, { signal: ac.signal })) {
      got.push(t);
      await sent;
      await sleep(50); // the part reaches the client
      ac.abort();
    }
    expect(got).toEqual([tick([[1, [1]]], false)]);
  });

  it("a failure part-way through a tick is the server's status, as an IpvsError", async () => {
    const c = await serve({
      watchStats: (call: ServerWritableStream<unknown, object>) => {
        call.write(tick([[1, [1]]], true));
        call.emit('error', { code: status.NOT_FOUND, details: 'namespace gone', metadata: trailers('ENOENT') });
      },
    });
    await expect(all(c.watchStats())).rejects.toMatchObject({
      name: 'IpvsError',
      code: status.NOT_FOUND,
      errno: 'ENOENT',
    });
  });

  it('a stream that ends part-way through a tick is DATA_LOSS, not a tick that looks whole', async () => {
    const c = await serve({ watchStats: sends([tick([[1, [1]]], false), tick([[2, [2]]], true)]) });
    const e = await failure(c.watchStats());
    expect(e).toBeInstanceOf(IpvsError);
    expect(e).toMatchObject({ code: status.DATA_LOSS });
  });

  it('leaves the raw parts to the underlying grpc-js client', async () => {
    const parts = [tick([[1, [1]]], true), tick([[1, [2]]], false)];
    const c = await serve({ watchStats: sends(parts) });
    const raw = c.grpc as unknown as { watchStats(req: object): ClientReadableStream<WatchStatsResponse> };
    expect(await all(raw.watchStats(create(WatchStatsRequestSchema)))).toEqual(parts);
  });
});

describe('watchEvents yields whole messages', () => {
  it("joins a resync's snapshot as WatchStats joins a tick, and concatenates the parts of a set of events", async () => {
    const c = await serve({
      watchEvents: sends([
        resync(
          [
            [1, [1]],
            [2, [2]],
          ],
          true,
        ),
        resync([[2, [3]]], true),
        resync(
          [
            [2, [4]],
            [3, [5]],
          ],
          false,
        ),
        events(added(4, 5), true),
        events(added(6), false),
        events(added(7), false),
      ]),
    });
    expect(await all(c.watchEvents())).toEqual([
      resync(
        [
          [1, [1]],
          [2, [2, 3, 4]],
          [3, [5]],
        ],
        false,
      ),
      events(added(4, 5, 6), false),
      events(added(7), false),
    ]);
  });
});

describe('applyWithProgress yields one whole result', () => {
  const progress = (done: number) =>
    create(ApplyWithProgressResponseSchema, { event: { case: 'progress', value: { planned: 3, done } } });
  const change = (n: number) => ({
    description: `createService tcp 192.0.2.${n}:80`,
    code: n === 2 ? status.ALREADY_EXISTS : 0,
  });
  const result = (changes: number[], applied: number, failed: number, more: boolean) =>
    create(ApplyWithProgressResponseSchema, {
      event: { case: 'result', value: { changes: changes.map(change), applied, failed, more } },
    });

  it("passes progress through and joins the result's parts: changes in order, the counts of the last part", async () => {
    const c = await serve({
      applyWithProgress: sends([progress(1), progress(3), result([1], 2, 1, true), result([2, 3], 2, 1, false)]),
    });
    expect(await all(c.applyWithProgress())).toEqual([progress(1), progress(3), result([1, 2, 3], 2, 1, false)]);
  });
});

describe('listAllServices follows the pages', () => {
  /** A ListServices handler over these pages (page i's token is "i"), each after `delayMs`, keeping the requests it got. */
  function pages(ps: Listing[], requests: ListServicesRequest[] = [], delayMs = 0) {
    return answers(async (req: ListServicesRequest) => {
      requests.push(req);
      await sleep(delayMs);
      const i = pageOf(req.pageToken);
      return create(ListServicesResponseSchema, { services: listed(ps[i]!), nextPageToken: tokenAfter(i, ps.length) });
    });
  }

  it('sends the same request with each next_page_token until one is empty', async () => {
    const requests: ListServicesRequest[] = [];
    const c = await serve({ listServices: pages([[[1, [1]]], [[2, [2]]], [[3, []]]], requests) });
    const got = await all(c.listAllServices({ namespace: 'blue', includeDestinations: true, pageSize: 1 }));
    expect(got).toEqual(
      listed([
        [1, [1]],
        [2, [2]],
        [3, []],
      ]),
    );
    expect(requests.map((r) => [r.namespace, r.includeDestinations, r.pageSize, r.pageToken])).toEqual([
      ['blue', true, 1, ''],
      ['blue', true, 1, '1'],
      ['blue', true, 1, '2'],
    ]);
  });

  it('yields a service continued across page boundaries once, with all its destinations', async () => {
    const c = await serve({
      listServices: pages([
        [
          [1, [1]],
          [2, [2]],
        ],
        [[2, [3]]],
        [
          [2, [4]],
          [3, [5]],
        ],
        [[3, [6]]],
      ]),
    });
    expect(await all(c.listAllServices())).toEqual(
      listed([
        [1, [1]],
        [2, [2, 3, 4]],
        [3, [5, 6]],
      ]),
    );
  });

  it('yields each service as soon as it is whole, before asking for the next page', async () => {
    const requests: ListServicesRequest[] = [];
    const c = await serve({
      listServices: pages(
        [
          [
            [1, [1]],
            [2, [2]],
          ],
          [[2, [3]]],
        ],
        requests,
      ),
    });
    const it = c.listAllServices()[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(listed([[1, [1]]])[0]);
    expect(requests).toHaveLength(1);
    expect((await it.next()).value).toEqual(listed([[2, [2, 3]]])[0]);
    expect(await it.next()).toMatchObject({ done: true });
  });

  it('a failed page is an IpvsError, after the services before it', async () => {
    const first = create(ListServicesResponseSchema, {
      services: listed([
        [1, []],
        [2, []],
      ]),
      nextPageToken: '1',
    });
    const c = await serve({
      listServices: (call: ServerUnaryCall<ListServicesRequest, unknown>, done: sendUnaryData<unknown>) => {
        if (!call.request.pageToken) done(null, first);
        else done({ code: status.INVALID_ARGUMENT, details: 'stale token', metadata: trailers('EINVAL') });
      },
    });
    const got: unknown[] = [];
    const e = await failure(c.listAllServices(), (s) => got.push(s));
    expect(got).toEqual(listed([[1, []]])); // the second may continue on the page that failed
    expect(e).toMatchObject({ name: 'IpvsError', code: status.INVALID_ARGUMENT, errno: 'EINVAL' });
  });

  it('one deadline covers the whole listing, not each page', async () => {
    const c = await serve({ listServices: pages([[[1, []]], [[2, []]], [[3, []]]], [], 150) });
    await expect(all(c.listAllServices({}, { deadline: 1000 }))).resolves.toHaveLength(3);
    await expect(all(c.listAllServices({}, { deadline: 250 }))).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
    });
  });

  it('an aborted listing throws CANCELLED rather than end looking whole', async () => {
    const c = await serve({
      listServices: pages([
        [
          [1, []],
          [2, []],
        ],
        [[3, []]],
      ]),
    });
    const ac = new AbortController();
    const e = await failure(c.listAllServices({}, { signal: ac.signal }), () => ac.abort());
    expect(e).toMatchObject({ name: 'IpvsError', code: status.CANCELLED });
  });
});

describe('listAllDestinations follows the pages', () => {
  it('yields every destination of every page, asking for the same service each time', async () => {
    const requests: ListDestinationsRequest[] = [];
    const ps = [[1, 2], [3], [4, 5]];
    const c = await serve({
      listDestinations: answers((req: ListDestinationsRequest) => {
        requests.push(req);
        const i = pageOf(req.pageToken);
        return create(ListDestinationsResponseSchema, {
          destinations: ps[i]!.map(destination),
          nextPageToken: tokenAfter(i, ps.length),
        });
      }),
    });
    const got = await all(c.listAllDestinations({ namespace: 'blue', service: serviceId(1) }));
    expect(got.map((d) => d.address)).toEqual([1, 2, 3, 4, 5].map((n) => destination(n).address));
    expect(requests.map((r) => [r.namespace, r.service?.address, r.pageToken])).toEqual([
      ['blue', '192.0.2.1', ''],
      ['blue', '192.0.2.1', '1'],
      ['blue', '192.0.2.1', '2'],
    ]);
  });
});

/**
 * Splits a listing the way a server may: before any of the given units (a
 * service, or one of its destinations; unit 0 is the first service). A cut
 * before a destination starts the next part with the same service again.
 */
function split(l: Listing, cuts: ReadonlySet<number>): Listing[] {
  const parts: Listing[] = [[]];
  let unit = 0;
  for (const [s, ds] of l) {
    if (cuts.has(unit++)) parts.push([]);
    parts.at(-1)!.push([s, []]);
    for (const d of ds) {
      if (cuts.has(unit++)) parts.push([[s, []]]);
      parts.at(-1)!.at(-1)![1].push(d);
    }
  }
  return parts;
}

describe('any split of services with destinations into parts joins back to the original', () => {
  const listings = fc.uniqueArray(
    fc.tuple(fc.integer({ min: 1, max: 254 }), fc.uniqueArray(fc.integer({ min: 1, max: 254 }), { maxLength: 6 })),
    { selector: ([s]) => s, maxLength: 8 },
  );
  const splits = listings.chain((l) => {
    const units = l.reduce((n, [, ds]) => n + 1 + ds.length, 0);
    return fc.tuple(fc.constant(l), fc.uniqueArray(fc.integer({ min: 0, max: units }), { maxLength: units + 1 }));
  });

  it('in WatchStats ticks, WatchEvents resyncs and ListServices pages', async () => {
    let parts: Listing[] = [];
    const more = (i: number) => i < parts.length - 1;
    const c = await serve({
      watchStats: (call: ServerWritableStream<unknown, object>) => sends(parts.map((p, i) => tick(p, more(i))))(call),
      watchEvents: (call: ServerWritableStream<unknown, object>) =>
        sends(parts.map((p, i) => resync(p, more(i))))(call),
      listServices: answers((req: ListServicesRequest) => {
        const i = pageOf(req.pageToken);
        return create(ListServicesResponseSchema, {
          services: listed(parts[i]!),
          nextPageToken: tokenAfter(i, parts.length),
        });
      }),
    });
    await fc.assert(
      fc.asyncProperty(splits, async ([l, cuts]) => {
        parts = split(l, new Set(cuts));
        expect(await all(c.watchStats())).toEqual([tick(l, false)]);
        expect(await all(c.watchEvents())).toEqual([resync(l, false)]);
        expect(await all(c.listAllServices())).toEqual(listed(l));
      }),
      { numRuns: 150 },
    );
  });
});

describe('listAllDesiredStates follows the pages', () => {
  it('yields each desired state once, a state continued over pages with all of its services in order', async () => {
    const requests: ListDesiredStatesRequest[] = [];
    // Page by page: [name, ports of its services]; "b" spans three pages.
    const ps: [string, number[]][][] = [
      [
        ['a', [1]],
        ['b', [2, 3]],
      ],
      [['b', [4]]],
      [
        ['b', [5]],
        ['c', []],
      ],
    ];
    const c = await serve({
      listDesiredStates: answers((req: ListDesiredStatesRequest) => {
        requests.push(req);
        const i = pageOf(req.pageToken);
        return create(ListDesiredStatesResponseSchema, {
          desiredStates: ps[i]!.map(([id, ports]) => ({
            name: `desiredStates/${id}`,
            generation: 7n,
            services: ports.map((port) => ({
              service: { id: { address: '192.0.2.1', protocol: Protocol.TCP, port } },
            })),
          })),
          nextPageToken: tokenAfter(i, ps.length),
        });
      }),
    });
    const got = await all(c.listAllDesiredStates({ view: DesiredStateView.FULL }));
    expect(got.map((d) => [d.name, d.services.map((s) => s.service?.id?.port)])).toEqual([
      ['desiredStates/a', [1]],
      ['desiredStates/b', [2, 3, 4, 5]],
      ['desiredStates/c', []],
    ]);
    expect(requests.map((r) => [r.view, r.pageToken])).toEqual([
      [DesiredStateView.FULL, ''],
      [DesiredStateView.FULL, '1'],
      [DesiredStateView.FULL, '2'],
    ]);
  });
});

function trailers(errno: string): Metadata {
  const m = new Metadata();
  m.set(ErrorTrailer.errno, errno);
  return m;
}
