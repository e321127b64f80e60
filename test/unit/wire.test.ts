// The server's hand-written protobuf encoding and the cutting of big
// answers into parts: the bytes are exactly what protobuf-es writes for the
// same messages, and any cut joins back to the whole, every part under its limit.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import * as pb from '../../gen/ts/ipvs/v1/model_pb.js';
import { formatAddress } from '../../src/inet/address.js';
import type { Destination, ServiceWithDestinations, Stats } from '../../src/ipvs/index.js';
import { destinationOut, serviceIdOut, serviceOut, statsOut } from '../../src/server/convert.js';
import { cutServices, HEADER_ROOM } from '../../src/server/parts.js';
import {
  destinationFields,
  destinationStatsFields,
  listTag,
  SERVICE_STATS_SHAPE,
  serviceFields,
  WireWriter,
  WITH_DESTINATIONS_SHAPE,
} from '../../src/server/wire.js';

const u32 = fc.nat({ max: 0xffffffff });
const counter = fc.oneof(fc.constant(0), fc.nat({ max: 1000 }), fc.maxSafeInteger().map(Math.abs));
const stats: fc.Arbitrary<Stats> = fc.record({
  connections: counter,
  packetsIn: counter,
  packetsOut: counter,
  bytesIn: counter,
  bytesOut: counter,
  cps: counter,
  ppsIn: counter,
  ppsOut: counter,
  bpsIn: counter,
  bpsOut: counter,
});
const family = fc.constantFrom(2, 10);
const address = (f: number) => fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatAddress(f, b));
const destination: fc.Arbitrary<Destination> = family.chain((f) =>
  fc.record({
    addressFamily: fc.constant(f),
    address: address(f),
    port: fc.nat({ max: 65535 }),
    weight: fc.nat({ max: 0x7fffffff }),
    connectionFlags: fc.nat({ max: 4 }),
    upperThreshold: u32,
    lowerThreshold: u32,
    activeConnections: u32,
    inactiveConnections: u32,
    persistentConnections: u32,
    tunnelType: fc.nat({ max: 2 }),
    tunnelPort: fc.nat({ max: 65535 }),
    tunnelFlags: fc.nat({ max: 3 }),
    stats,
  }),
);
const service = (dests: fc.Arbitrary<Destination[]>): fc.Arbitrary<ServiceWithDestinations> =>
  family.chain((f) =>
    fc.record({
      addressFamily: fc.constant(f),
      protocol: fc.constantFrom(0, 6, 17, 132),
      address: fc.oneof(fc.constant(''), address(f)),
      port: fc.nat({ max: 65535 }),
      fwMark: fc.oneof(fc.constant(0), u32),
      schedName: fc.constantFrom('rr', 'wlc', 'mh'),
      flags: u32,
      timeout: u32,
      netmask: u32,
      peName: fc.constantFrom('', 'sip'),
      stats,
      destinations: dests,
    }),
  );

const written = (write: (w: WireWriter) => void) => {
  const w = new WireWriter(8); // small, so that growing is exercised too
  write(w);
  return Buffer.from(w.buf.subarray(0, w.pos));
};

describe('wire encoding', () => {
  it('writes a Service, a Destination and a DestinationStats byte for byte as protobuf-es does', () => {
    fc.assert(
      fc.property(service(fc.constant([])), destination, (s, d) => {
        expect(written((w) => serviceFields(w, s))).toEqual(Buffer.from(toBinary(pb.ServiceSchema, serviceOut(s))));
        expect(written((w) => destinationFields(w, d))).toEqual(
          Buffer.from(toBinary(pb.DestinationSchema, destinationOut(d))),
        );
        const ds = create(api.DestinationStatsSchema, {
          addressFamily: d.addressFamily,
          address: d.address,
          port: d.port,
          weight: d.weight,
          activeConnections: d.activeConnections,
          inactiveConnections: d.inactiveConnections,
          stats: statsOut(d.stats),
        });
        expect(written((w) => destinationStatsFields(w, d))).toEqual(
          Buffer.from(toBinary(api.DestinationStatsSchema, ds)),
        );
      }),
    );
  });
});

/** The services of parts joined: a service continued at the start of the next part gets its destinations appended. */
function joined(parts: pb.ServiceWithDestinations[][]): pb.ServiceWithDestinations[] {
  const out: pb.ServiceWithDestinations[] = [];
  for (const [p, list] of parts.entries()) {
    for (const [i, s] of list.entries()) {
      const last = out.at(-1);
      if (i === 0 && p > 0 && last && JSON.stringify(last.service?.id) === JSON.stringify(s.service?.id))
        last.destinations.push(...s.destinations);
      else out.push(s);
    }
  }
  return out;
}

describe('cutting into parts', () => {
  const listTagOf = listTag(api.ListServicesResponseSchema, 'services');

  it('joins back to the whole for any list and limit, every part within its budget', () => {
    fc.assert(
      fc.property(
        fc.array(service(fc.array(destination, { maxLength: 40 })), { maxLength: 12 }),
        fc.integer({ min: 512, max: 8192 }),
        (list, budget) => {
          const parts = cutServices(list, { budget, listTag: listTagOf, shape: WITH_DESTINATIONS_SHAPE });
          for (const p of parts) expect(p.body.length).toBeLessThanOrEqual(budget);
          const decoded = parts.map((p) => fromBinary(api.ListServicesResponseSchema, p.body).services);
          const whole = create(api.ListServicesResponseSchema, {
            services: list.map((s) =>
              create(pb.ServiceWithDestinationsSchema, {
                service: serviceOut(s),
                destinations: s.destinations.map(destinationOut),
              }),
            ),
          });
          expect(joined(decoded)).toEqual(whole.services);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('cuts a 10,000 x 10 tick with live counters into parts under 1 MiB that hold every service and destination', () => {
    const BUDGET = 1024 * 1024 - HEADER_ROOM;
    const big = 1e12; // counters of a busy load balancer: 40-bit values
    const st = (i: number): Stats => ({
      connections: big + i,
      packetsIn: big * 3 + i,
      packetsOut: big * 2 + i,
      bytesIn: big * 900 + i,
      bytesOut: big * 1400 + i,
      cps: 20_000 + i,
      ppsIn: 90_000 + i,
      ppsOut: 60_000 + i,
      bpsIn: 80_000_000 + i,
      bpsOut: 120_000_000 + i,
    });
    const services: ServiceWithDestinations[] = Array.from({ length: 10_000 }, (_, i) => ({
      addressFamily: 10,
      protocol: 6,
      address: `2001:db8::${(i + 1).toString(16)}`,
      port: 443,
      fwMark: 0,
      schedName: 'wlc',
      flags: 2,
      timeout: 0,
      netmask: 128,
      peName: '',
      stats: st(i),
      destinations: Array.from({ length: 10 }, (_, j) => ({
        addressFamily: 10,
        address: `2001:db8:1::${(i * 10 + j + 1).toString(16)}`,
        port: 8443,
        weight: 1,
        connectionFlags: 0,
        upperThreshold: 0,
        lowerThreshold: 0,
        activeConnections: 1000 + j,
        inactiveConnections: 5000 + j,
        persistentConnections: 0,
        tunnelType: 0,
        tunnelPort: 0,
        tunnelFlags: 0,
        stats: st(j),
      })),
    }));
    const parts = cutServices(services, {
      budget: BUDGET,
      listTag: listTag(api.WatchStatsResponseSchema, 'services'),
      shape: SERVICE_STATS_SHAPE,
    });
    const total = parts.reduce((n, p) => n + p.body.length, 0);
    expect(total).toBeGreaterThan(8 * 1024 * 1024); // the tick as one message would be refused by every stock client
    let count = 0;
    let dests = 0;
    for (const p of parts) {
      expect(p.body.length).toBeLessThanOrEqual(BUDGET);
      const m = fromBinary(api.WatchStatsResponseSchema, p.body);
      count += m.services.length;
      dests += m.services.reduce((n, s) => n + s.destinations.length, 0);
    }
    expect([count, dests]).toEqual([10_000, 100_000]);
    const first = fromBinary(api.WatchStatsResponseSchema, parts[0]!.body).services[0]!;
    expect(first.service).toEqual(serviceIdOut(services[0]!));
    expect(first.destinations[3]!.stats!.bytesIn).toBe(BigInt(big * 900 + 3));
  });

  it('splits a service too big for one part, continuing at the start of the next', () => {
    const dests = Array.from(
      { length: 500 },
      (_, j): Destination => ({
        addressFamily: 2,
        address: `198.51.100.${j % 250}`,
        port: 1000 + j,
        weight: 1,
        connectionFlags: 0,
        upperThreshold: 0,
        lowerThreshold: 0,
        activeConnections: 0,
        inactiveConnections: 0,
        persistentConnections: 0,
        tunnelType: 0,
        tunnelPort: 0,
        tunnelFlags: 0,
        stats: {
          connections: 0,
          packetsIn: 0,
          packetsOut: 0,
          bytesIn: 0,
          bytesOut: 0,
          cps: 0,
          ppsIn: 0,
          ppsOut: 0,
          bpsIn: 0,
          bpsOut: 0,
        },
      }),
    );
    const s = (port: number, d: Destination[]): ServiceWithDestinations => ({
      addressFamily: 2,
      protocol: 6,
      address: '192.0.2.1',
      port,
      fwMark: 0,
      schedName: 'rr',
      flags: 2,
      timeout: 0,
      netmask: 0xffffffff,
      peName: '',
      stats: dests[0]!.stats,
      destinations: d,
    });
    const parts = cutServices([s(1, dests.slice(0, 2)), s(2, dests), s(3, dests.slice(0, 1))], {
      budget: 4096,
      listTag: listTagOf,
      shape: WITH_DESTINATIONS_SHAPE,
    });
    const decoded = parts.map((p) => fromBinary(api.ListServicesResponseSchema, p.body).services);
    expect(decoded[0]!.map((x) => x.service!.id!.port)).toEqual([1]); // service 2 does not fit after it: it starts the next part
    expect(decoded.slice(1, -1).every((l) => l[0]!.service!.id!.port === 2)).toBe(true);
    expect(joined(decoded).map((x) => [x.service!.id!.port, x.destinations.length])).toEqual([
      [1, 2],
      [2, 500],
      [3, 1],
    ]);
    expect(parts.map((p) => p.next)).toContainEqual({ service: 1, destination: expect.any(Number) });
  });
});
