import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressBytes, canonicalAddress, familyOf, formatAddress } from '../../src/inet/address.js';
import { AF_INET, AF_INET6 } from '../../src/ipvs/constants.js';

describe('addresses', () => {
  it('IPv4 text and bytes round trip', () => {
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        expect(familyOf(a)).toBe(AF_INET);
        expect(formatAddress(AF_INET, addressBytes(AF_INET, a))).toBe(a);
      }),
    );
  });

  it('IPv6 bytes and text round trip, in the canonical form WHATWG URL also produces (RFC 5952)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatAddress(AF_INET6, bytes);
        expect(familyOf(text)).toBe(AF_INET6);
        expect(new Uint8Array(addressBytes(AF_INET6, text))).toEqual(bytes);
        const oracle = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        if (!text.includes('.')) expect(text).toBe(oracle);
      }),
    );
  });

  it('any IPv6 spelling reaches the canonical form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        expect(canonicalAddress(AF_INET6, a)).toBe(formatAddress(AF_INET6, addressBytes(AF_INET6, a)));
        expect(new Uint8Array(addressBytes(AF_INET6, canonicalAddress(AF_INET6, a)))).toEqual(
          new Uint8Array(addressBytes(AF_INET6, a)),
        );
      }),
    );
    expect(canonicalAddress(AF_INET6, '2001:DB8:0:0:0::1')).toBe('2001:db8::1');
    expect(canonicalAddress(AF_INET6, '::ffff:192.0.2.1')).toBe('::ffff:c000:201');
  });

  it('IPv6 text of any spelling reads as the bytes WHATWG URL reads', () => {
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        const oracle = new URL(`http://[${a}]/`).hostname.slice(1, -1);
        expect(formatAddress(AF_INET6, addressBytes(AF_INET6, a))).toBe(oracle);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects what is not an address', () => {
    for (const a of ['', '192.0.2.256', '1.2.3', 'fe80::1%eth0', 'example.com', '::g']) expect(familyOf(a)).toBe(0);
  });
});
