// A state too big for one message: 7,000 IPv6 services x 12 destinations
// with full-length addresses and thresholds set, whose listing is over 4 MiB
// even with zero counters. Every client keeps its stock limits (4 MiB): raw gRPC streams,
// the TypeScript client, and the Go and Python examples list every page and
// read whole ticks of WatchStats and WatchEvents, all at once (so that they
// share the server's listing per tick); every message is under the server's
// cut, and the counts match ipvsadm -Ln.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { credentials, makeGenericClientConstructor, type ClientReadableStream } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { Handle, type BatchOp } from '../../src/ipvs/index.js';
import { useServer } from './helpers.js';
import { installPythonClient } from './python.js';

const SERVICES = 7000;
const DESTS = 12;
/** The server's default --max-response-bytes. */
const CUT = 1024 * 1024;
/** A watch's parts are smaller: each slow watcher holds one. */
const STREAM_CUT = 256 * 1024;
const STOCK_LIMIT = 4 * 1024 * 1024;

// The file's state is built once: no flush between its tests.
const ctx = useServer([], { flush: false });
const root = resolve(import.meta.dirname, '../..');
// Eight groups, none zero: addresses as long as IPv6 writes them.
const vip = (i: number) => `2001:db8:a:b:c:d:${(i >> 16) + 1}:${((i & 0xffff) + 1).toString(16)}`;
const rip = (j: number) => `2001:db8:1111:2222:3333:4444:5555:${(j + 1).toString(16)}`;

/** What ipvsadm -Ln shows: services and destinations. */
let expected: { services: number; destinations: number };

/** A gRPC client of one method whose messages are decoded after their size is noted: a raw stream, parts and all. */
function rawClient<I extends DescMessage, O extends DescMessage>(
  method: { name: string; input: I; output: O },
  sizes: number[],
) {
  const Client = makeGenericClientConstructor(
    {
      call: {
        path: `/${api.IpvsService.typeName}/${method.name}`,
        requestStream: false,
        responseStream: true,
        requestSerialize: (m: MessageShape<I>) => Buffer.from(toBinary(method.input, m)),
        requestDeserialize: () => ({}),
        responseSerialize: () => Buffer.alloc(0),
        responseDeserialize: (b: Buffer) => {
          sizes.push(b.length);
          return fromBinary(method.output, b);
        },
      },
    },
    'Raw',
  );
  return new Client(ctx.address, credentials.createInsecure()) as unknown as {
    call(req: MessageShape<I>): ClientReadableStream<MessageShape<O>>;
    close(): void;
  };
}

describe(`${SERVICES} IPv6 services x ${DESTS} destinations, every client with its stock 4 MiB limit`, () => {
  beforeAll(async () => {
    const h = new Handle(ctx.ns.path);
    const ops: BatchOp[] = [];
    for (let i = 0; i < SERVICES; i++) {
      const service = { address: vip(i), protocol: 6, port: 80, schedName: 'rr' };
      ops.push({ op: 'newService', service });
      // Thresholds make each destination's message bigger: fewer objects reach 4 MiB.
      for (let j = 0; j < DESTS; j++)
        ops.push({
          op: 'newDestination',
          service,
          destination: { address: rip(j), port: 58080, upperThreshold: 9_000_000, lowerThreshold: 8_000_000 },
        });
    }
    const results = await h.batch(ops);
    h.close();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    // Counted in the guest's shell: the listing itself is megabytes.
    const [services, destinations] = ctx.ns
      .exec("ipvsadm -Ln | awk '/^TCP/ { s++ } /^  -> \\[/ { d++ } END { print s, d }'")
      .trim()
      .split(' ')
      .map(Number);
    expected = { services: services!, destinations: destinations! };
    expect(expected).toEqual({ services: SERVICES, destinations: SERVICES * DESTS });
  }, 600_000);

  it('pages ListServices: every page under the cut, every service exactly once', async () => {
    const sizes: number[] = [];
    const client = new (makeGenericClientConstructor(
      {
        list: {
          path: `/${api.IpvsService.typeName}/ListServices`,
          requestStream: false,
          responseStream: false,
          requestSerialize: (m: api.ListServicesRequest) => Buffer.from(toBinary(api.ListServicesRequestSchema, m)),
          requestDeserialize: () => ({}),
          responseSerialize: () => Buffer.alloc(0),
          responseDeserialize: (b: Buffer) => {
            sizes.push(b.length);
            return fromBinary(api.ListServicesResponseSchema, b);
          },
        },
      },
      'RawList',
    ))(ctx.address, credentials.createInsecure()) as unknown as {
      list(req: api.ListServicesRequest, cb: (e: Error | null, r: api.ListServicesResponse) => void): void;
      close(): void;
    };
    const seen = new Map<string, number>();
    let token = '';
    do {
      const req = create(api.ListServicesRequestSchema, {
        namespace: ctx.ns.name,
        includeDestinations: true,
        pageToken: token,
      });
      const page = await new Promise<api.ListServicesResponse>((res, rej) =>
        client.list(req, (e, r) => (e ? rej(e) : res(r))),
      );
      for (const s of page.services)
        seen.set(s.service!.id!.address, (seen.get(s.service!.id!.address) ?? 0) + s.destinations.length);
      token = page.nextPageToken;
    } while (token);
    client.close();
    expect(sizes.length).toBeGreaterThan(4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(CUT);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(STOCK_LIMIT);
    expect(seen.size).toBe(expected.services);
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(expected.destinations);
  }, 600_000);

  const counts = (lines: string[]) =>
    Object.fromEntries(
      lines.map((l) => {
        const [what, ...kv] = l.split(' ');
        return [what, Object.fromEntries(kv.map((x) => x.split('=')).map(([k, v]) => [k, Number(v)]))];
      }),
    );
  const checkCounts = (out: string) => {
    const c = counts(out.trim().split('\n'));
    expect(c.listed).toMatchObject({ services: expected.services, destinations: expected.destinations });
    expect(c.tick).toMatchObject({ services: expected.services, destinations: expected.destinations });
    expect(c.resync).toMatchObject({ services: expected.services, destinations: expected.destinations });
    for (const k of ['listed', 'tick', 'resync']) expect(c[k].largest).toBeLessThanOrEqual(CUT);
    expect(c.listed.pages).toBeGreaterThan(4);
  };

  // Asynchronously: the server lives in this very process.
  const run = async (cmd: string, args: string[]) =>
    (await promisify(execFile)(cmd, args, { encoding: 'utf8', timeout: 300_000 })).stdout;

  /** Raw streams: a WatchStats tick and a WatchEvents resync in parts under the cut, which they join. */
  async function rawStreams() {
    const statsSizes: number[] = [];
    const eventsSizes: number[] = [];
    const stats = rawClient(api.IpvsService.method.watchStats, statsSizes);
    const events = rawClient(api.IpvsService.method.watchEvents, eventsSizes);
    const whole = async <T extends { more: boolean }>(
      stream: ClientReadableStream<T>,
      count: (m: T) => [number, number],
    ) => {
      let services = 0;
      let destinations = 0;
      let parts = 0;
      for await (const m of stream) {
        const [s, d] = count(m);
        services += s;
        destinations += d;
        parts++;
        if (!m.more) break;
      }
      stream.cancel();
      return { services, destinations, parts };
    };
    const [tick, resync] = await Promise.all([
      whole(
        stats.call(create(api.WatchStatsRequestSchema, { namespace: ctx.ns.name })),
        (m: api.WatchStatsResponse) => [m.services.length, m.services.reduce((n, s) => n + s.destinations.length, 0)],
      ),
      whole(
        events.call(create(api.WatchEventsRequestSchema, { namespace: ctx.ns.name })),
        (m: api.WatchEventsResponse) => [m.snapshot.length, m.snapshot.reduce((n, s) => n + s.destinations.length, 0)],
      ),
    ]);
    stats.close();
    events.close();
    // A service split across parts appears in both: at most one extra entry per part boundary.
    // Each whole was too big for one message: only its parts reach a stock client.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(statsSizes)).toBeGreaterThan(STOCK_LIMIT);
    expect(sum(eventsSizes)).toBeGreaterThan(STOCK_LIMIT);
    for (const r of [tick, resync]) {
      expect(r.parts).toBeGreaterThan(4);
      expect(r.destinations).toBe(expected.destinations);
      expect(r.services).toBeGreaterThanOrEqual(expected.services);
      expect(r.services).toBeLessThan(expected.services + r.parts);
    }
    expect(Math.max(...statsSizes, ...eventsSizes)).toBeLessThanOrEqual(STREAM_CUT);
    expect(Math.max(...statsSizes, ...eventsSizes)).toBeGreaterThan(STREAM_CUT * 0.9);
  }

  /** The TypeScript client: every page followed, whole ticks. */
  async function typescriptClient() {
    let services = 0;
    let destinations = 0;
    for await (const s of ctx.client.listAllServices({ namespace: ctx.ns.name, includeDestinations: true })) {
      services++;
      destinations += s.destinations.length;
    }
    expect({ services, destinations }).toEqual(expected);
    const ac = new AbortController();
    for await (const tick of ctx.client.watchStats({ namespace: ctx.ns.name }, { signal: ac.signal })) {
      expect(tick.more).toBe(false);
      expect(tick.services.length).toBe(expected.services);
      expect(tick.services.reduce((n, s) => n + s.destinations.length, 0)).toBe(expected.destinations);
      ac.abort();
    }
  }

  it('serves raw streams, the TypeScript client, Go (examples/go -count) and Python (examples/python --count) at once', async () => {
    const bin = join(mkdtempSync('/var/tmp/ipvsd-go-'), 'example');
    execFileSync('bash', [join(root, 'scripts/build-go-example.sh'), bin], { stdio: 'pipe' });
    const py = installPythonClient();
    const [go, python] = await Promise.all([
      run(bin, ['-addr', ctx.address, '-netns', ctx.ns.name, '-count']),
      run(py.python, [py.example, '--addr', ctx.address, '--netns', ctx.ns.name, '--count']),
      rawStreams(),
      typescriptClient(),
    ]);
    checkCounts(go);
    checkCounts(python);
    py.remove();
  }, 600_000);
});
