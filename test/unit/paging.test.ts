// Page order and page tokens: keys sort exactly as the identities they
// stand for, and a token is only ever taken back for the request it came from.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressBytes } from '../../src/ipvs/index.js';
import { formatAddress } from '../../src/inet/address.js';
import {
  decodePageToken,
  destinationOrderKey,
  encodePageToken,
  fingerprint,
  pageSize,
  serviceOrderKey,
} from '../../src/server/paging.js';
import { RpcError } from '../../src/server/status.js';

const family = fc.constantFrom(2, 10);
const service = family.chain((f) =>
  fc.record({
    addressFamily: fc.constant(f),
    fwMark: fc.oneof(fc.constant(0), fc.nat({ max: 0xffffffff })),
    protocol: fc.constantFrom(6, 17, 132),
    address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatAddress(f, b)),
    port: fc.nat({ max: 65535 }),
  }),
);

/** The order pages promise, compared field by field. */
type Id = { addressFamily: number; fwMark: number; protocol: number; address: string; port: number };
function compare(a: Id, b: Id): number {
  const bytes = (s: Id) => addressBytes(s.addressFamily, s.address);
  return (
    a.addressFamily - b.addressFamily ||
    a.fwMark - b.fwMark ||
    a.protocol - b.protocol ||
    Buffer.compare(bytes(a), bytes(b)) ||
    a.port - b.port
  );
}

describe('page order', () => {
  it('service keys sort as family, firewall mark, protocol, address bytes, port do', () => {
    fc.assert(
      fc.property(service, service, (a, b) => {
        const ka = serviceOrderKey(a);
        const kb = serviceOrderKey(b);
        expect(Math.sign(ka < kb ? -1 : ka > kb ? 1 : 0)).toBe(Math.sign(compare(a, b)));
      }),
    );
  });

  it('destination keys sort as family, address bytes, port do', () => {
    fc.assert(
      fc.property(service, service, (a, b) => {
        const ka = destinationOrderKey(a);
        const kb = destinationOrderKey(b);
        const want =
          a.addressFamily - b.addressFamily ||
          Buffer.compare(addressBytes(a.addressFamily, a.address), addressBytes(b.addressFamily, b.address)) ||
          a.port - b.port;
        expect(Math.sign(ka < kb ? -1 : ka > kb ? 1 : 0)).toBe(Math.sign(want));
      }),
    );
  });
});

describe('page tokens', () => {
  const print = fingerprint('ListServices', 'blue', true);

  it('round-trip for the request they were made for', () => {
    fc.assert(
      fc.property(service, fc.option(service, { nil: undefined }), (s, d) => {
        const t = { after: serviceOrderKey(s), afterDestination: d && destinationOrderKey(d) };
        expect(decodePageToken(encodePageToken(t, print), print)).toEqual(t);
      }),
    );
  });

  it('refuse, as INVALID_ARGUMENT on page_token, anything else', () => {
    const token = encodePageToken({ after: 'ab' }, print);
    const refused = (t: string, p = print) => {
      try {
        decodePageToken(t, p);
      } catch (e) {
        expect(e).toBeInstanceOf(RpcError);
        expect((e as RpcError).field).toBe('page_token');
        return (e as RpcError).message;
      }
      throw new Error('accepted');
    };
    expect(refused(token, fingerprint('ListServices', 'blue', false))).toMatch(/other fields differ/);
    expect(refused('garbage!')).toMatch(/not a token this server gave/);
    expect(refused(Buffer.from('{"v":1,"f":"x","a":"ZZ"}').toString('base64url'))).toMatch(/not a token/);
    fc.assert(
      fc.property(fc.string(), (t) => {
        if (t) expect(typeof refused(t)).toBe('string');
      }),
    );
    expect(decodePageToken('', print)).toBeUndefined();
  });

  it('take page_size 0 as no limit of its own and refuse a negative one', () => {
    expect(pageSize(0)).toBe(Infinity);
    expect(pageSize(7)).toBe(7);
    expect(() => pageSize(-1)).toThrow(/negative/);
  });
});
