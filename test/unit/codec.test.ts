import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeDecoder } from '../../src/netlink/attribute-decoder.js';
import { AttributeEncoder } from '../../src/netlink/attribute-encoder.js';
import { formatAddress } from '../../src/inet/address.js';
import { decodeConfig, encodeConfig } from '../../src/ipvs/config.js';
import { AF_INET, AF_INET6, SCHEDULERS } from '../../src/ipvs/constants.js';
import { decodeDaemon, encodeDaemon } from '../../src/ipvs/daemon.js';
import { decodeDestination, encodeDestination } from '../../src/ipvs/destination.js';
import { decodeService, encodeService } from '../../src/ipvs/service.js';
import type { NormalDestination, NormalService } from '../../src/ipvs/validate.js';

const family = fc.constantFrom(AF_INET, AF_INET6);
const address = (f: number) => fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatAddress(f, b));
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const service: fc.Arbitrary<NormalService> = family.chain((f) =>
  fc
    .oneof(
      fc.record({
        protocol: fc.constantFrom(6, 17, 132),
        address: address(f),
        port: fc.integer({ min: 0, max: 0xffff }),
        fwMark: fc.constant(0),
      }),
      fc.record({
        protocol: fc.constant(0),
        address: fc.constant(''),
        port: fc.constant(0),
        fwMark: fc.integer({ min: 1, max: 0xffffffff }),
      }),
    )
    .chain((id) =>
      fc.record({
        addressFamily: fc.constant(f),
        protocol: fc.constant(id.protocol),
        address: fc.constant(id.address),
        port: fc.constant(id.port),
        fwMark: fc.constant(id.fwMark),
        schedName: fc.constantFrom(...SCHEDULERS),
        flags: fc.integer({ min: 0, max: 0x3f }),
        timeout: u32,
        netmask: f === AF_INET6 ? fc.integer({ min: 1, max: 128 }) : u32,
        peName: fc.constantFrom('', 'sip'),
      }),
    ),
);

const destination: fc.Arbitrary<NormalDestination> = family.chain((f) =>
  fc.record({
    addressFamily: fc.constant(f),
    address: address(f),
    port: fc.integer({ min: 0, max: 0xffff }),
    weight: fc.integer({ min: 0, max: 0x7fffffff }),
    connectionFlags: fc.integer({ min: 0, max: 4 }),
    upperThreshold: u32,
    lowerThreshold: u32,
    tunnelType: fc.integer({ min: 0, max: 2 }),
    tunnelPort: fc.integer({ min: 0, max: 0xffff }),
    tunnelFlags: fc.integer({ min: 0, max: 3 }),
  }),
);

const roundTrip = <T>(encode: (e: AttributeEncoder) => void, decode: (d: AttributeDecoder) => T): T => {
  const e = new AttributeEncoder();
  encode(e);
  return decode(new AttributeDecoder(e.finish()));
};

describe('IPVS codecs', () => {
  it('a service decodes to what was encoded', () => {
    fc.assert(
      fc.property(service, (s) => {
        const got = roundTrip((e) => encodeService(e, s), decodeService);
        const { stats, ...rest } = got;
        expect(rest).toEqual(s);
        expect(stats.connections).toBe(0);
      }),
    );
  });

  it('a destination decodes to what was encoded', () => {
    fc.assert(
      fc.property(destination, (d) => {
        const got = roundTrip(
          (e) => encodeDestination(e, d),
          (x) => decodeDestination(x, AF_INET),
        );
        expect(got).toMatchObject(d);
      }),
    );
  });

  it('a daemon decodes to what was encoded', () => {
    const daemon = fc.record({
      state: fc.constantFrom(1, 2),
      mcastInterface: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
      syncId: fc.integer({ min: 0, max: 255 }),
      syncMaxLen: fc.integer({ min: 0, max: 0xffff }),
      mcastGroup: fc.oneof(fc.constant(''), fc.ipV4(), address(AF_INET6)),
      mcastPort: fc.integer({ min: 0, max: 0xffff }),
      mcastTtl: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(daemon, (d) => {
        expect(roundTrip((e) => encodeDaemon(e, d), decodeDaemon)).toEqual(d);
      }),
    );
  });

  it('timeouts decode to what was encoded, zeros left out', () => {
    fc.assert(
      fc.property(fc.record({ timeoutTcp: u32, timeoutTcpFin: u32, timeoutUdp: u32 }), (c) => {
        expect(roundTrip((e) => encodeConfig(e, c), decodeConfig)).toEqual(c);
      }),
    );
  });
});
