// Whether two desired states' scopes could own one service: what the
// server checks before it lets a second desired state into a namespace.
import { describe, expect, it } from 'vitest';
import { overlap, scopeNets } from '../../src/desired/scope.js';

describe('scope overlap', () => {
  it.each([
    [{}, {}, 'the whole namespace'],
    [{}, { addresses: ['192.0.2.1'] }, 'an empty scope owns every service'],
    [{ addresses: ['192.0.2.1'] }, { addresses: ['192.0.2.1'] }, '192.0.2.1'],
    [{ addresses: ['192.0.2.1'] }, { addresses: ['192.0.2.2'] }, undefined],
    [{ addresses: ['192.0.2.9'] }, { prefixes: ['192.0.2.0/24'] }, '192.0.2.9 and 192.0.2.0/24'],
    [{ addresses: ['198.51.100.9'] }, { prefixes: ['192.0.2.0/24'] }, undefined],
    [{ prefixes: ['192.0.2.0/25'] }, { prefixes: ['192.0.2.128/25'] }, undefined],
    [{ prefixes: ['192.0.2.0/24'] }, { prefixes: ['192.0.2.128/25'] }, '192.0.2.0/24 and 192.0.2.128/25'],
    [{ prefixes: ['0.0.0.0/0'] }, { addresses: ['203.0.113.1'] }, '0.0.0.0/0 and 203.0.113.1'],
    // Another family never meets, whatever the bits.
    [{ prefixes: ['0.0.0.0/0'] }, { prefixes: ['::/0'] }, undefined],
    [{ addresses: ['2001:db8::1'] }, { prefixes: ['2001:db8::/32'] }, '2001:db8::1 and 2001:db8::/32'],
    // Spellings of one address are one address.
    [{ addresses: ['2001:db8:0::1'] }, { addresses: ['2001:DB8::1'] }, '2001:db8:0::1 and 2001:DB8::1'],
    [{ fwMarks: [5] }, { fwMarks: [6, 5] }, 'firewall mark 5'],
    [{ fwMarks: [5] }, { addresses: ['192.0.2.1'] }, undefined],
  ])('%j and %j: %s', (a, b, want) => {
    expect(overlap(a, b)).toBe(want);
  });

  it('refuses what is not an address or a CIDR prefix, naming the field', () => {
    expect(() => scopeNets({ addresses: ['192.0.2.0/24'] })).toThrow(
      /scope\.addresses: "192\.0\.2\.0\/24" is not an IP/,
    );
    expect(() => scopeNets({ prefixes: ['192.0.2.0/33'] })).toThrow(/scope\.prefixes/);
    expect(() => scopeNets({ prefixes: ['192.0.2.0'] })).toThrow(/not a CIDR prefix/);
    expect(() => scopeNets({ prefixes: ['2001:db8::/129'] })).toThrow(/not a CIDR prefix/);
    expect(scopeNets({ prefixes: ['2001:db8::/128'], addresses: ['192.0.2.1'] })).toHaveLength(2);
  });
});
