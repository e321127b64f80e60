// The fingerprint of a listing's options: blind to order and to counters,
// moved by any option of any owned service or destination, and limited to
// what the owner keeps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SvcFlagHashed } from '../../src/ipvs/constants.js';
import { fingerprint, fingerprintAfter } from '../../src/ipvs/fingerprint.js';
import { plan } from '../../src/ipvs/apply.js';
import { zeroStats } from '../../src/ipvs/stats.js';
import type { Destination, ServiceWithDestinations, Stats } from '../../src/ipvs/model.js';

const stats: Stats = zeroStats();

const destination = fc.record({
  addressFamily: fc.constant(10),
  address: fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8:1::${n.toString(16)}`),
  port: fc.integer({ min: 1, max: 65535 }),
  weight: fc.integer({ min: 0, max: 100 }),
  connectionFlags: fc.constantFrom(0, 1, 2, 3),
  upperThreshold: fc.nat(1000),
  lowerThreshold: fc.constant(0),
  activeConnections: fc.nat(),
  inactiveConnections: fc.nat(),
  persistentConnections: fc.nat(),
  tunnelType: fc.constant(0),
  tunnelPort: fc.constant(0),
  tunnelFlags: fc.constant(0),
  stats: fc.constant(stats),
}) as fc.Arbitrary<Destination>;

const service = fc.record({
  addressFamily: fc.constant(10),
  protocol: fc.constantFrom(6, 17, 132),
  address: fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8::${n.toString(16)}`),
  port: fc.integer({ min: 1, max: 65535 }),
  fwMark: fc.constant(0),
  schedName: fc.constantFrom('rr', 'wlc', 'sh'),
  flags: fc.constantFrom(0, 1, 2),
  timeout: fc.nat(3600),
  netmask: fc.constant(128),
  peName: fc.constant(''),
  stats: fc.constant(stats),
  destinations: fc.uniqueArray(destination, { maxLength: 6, selector: (d) => `${d.address}:${d.port}` }),
}) as fc.Arbitrary<ServiceWithDestinations>;

const listing = fc.uniqueArray(service, {
  minLength: 1,
  maxLength: 20,
  selector: (s) => `${s.protocol} ${s.address}:${s.port}`,
});

/** `xs` in the order `keys` sorts them. */
const shuffled = <T>(xs: readonly T[], keys: number[]) =>
  xs
    .map((x, i) => ({ x, k: keys[i % keys.length]! + i / 1000 }))
    .sort((a, b) => a.k - b.k)
    .map((e) => e.x);

describe('the fingerprint of a listing', () => {
  it('is the same for the same rules listed in any order, counters and connection counts moved', () => {
    fc.assert(
      fc.property(listing, fc.array(fc.nat(), { minLength: 1 }), fc.nat(), (services, keys, n) => {
        const moved = shuffled(services, keys).map((s) => ({
          ...s,
          stats: { ...stats, connections: n, bytesIn: n * 1000 },
          destinations: shuffled(s.destinations, keys).map((d) => ({ ...d, activeConnections: n, stats })),
        }));
        expect(fingerprint(moved)).toBe(fingerprint(services));
      }),
    );
  });

  it('changes when an option of a service or of a destination changes, or a destination goes', () => {
    const edits: Record<string, (s: ServiceWithDestinations) => ServiceWithDestinations> = {
      schedName: (s) => ({ ...s, schedName: s.schedName === 'rr' ? 'wlc' : 'rr' }),
      timeout: (s) => ({ ...s, timeout: s.timeout + 1 }),
      weight: (s) => ({ ...s, destinations: s.destinations.map((d, i) => (i ? d : { ...d, weight: d.weight + 1 })) }),
      port: (s) => ({
        ...s,
        destinations: s.destinations.map((d, i) => (i ? d : { ...d, port: (d.port % 65535) + 1 })),
      }),
      removed: (s) => ({ ...s, destinations: s.destinations.slice(1) }),
    };
    fc.assert(
      fc.property(listing, fc.nat(), fc.constantFrom(...Object.keys(edits)), (services, i, what) => {
        const at = i % services.length;
        const edited = services.map((s, j) => (j === at ? edits[what]!(s) : s));
        fc.pre(what === 'schedName' || what === 'timeout' || services[at]!.destinations.length > 0);
        expect(fingerprint(edited)).not.toBe(fingerprint(services));
      }),
    );
  });

  it("ignores the kernel's own hashed flag, which every service it holds carries", () => {
    fc.assert(
      fc.property(listing, (services) => {
        const hashed = services.map((s) => ({ ...s, flags: s.flags | SvcFlagHashed }));
        expect(fingerprint(hashed)).toBe(fingerprint(services.map((s) => ({ ...s, flags: s.flags & ~SvcFlagHashed }))));
      }),
    );
  });

  it('counts only the services the owner keeps', () => {
    fc.assert(
      fc.property(listing, listing, (mine, others) => {
        const minePorts = new Set(mine.map((s) => `${s.protocol} ${s.address}:${s.port}`));
        const rest = others
          .filter((s) => !minePorts.has(`${s.protocol} ${s.address}:${s.port}`))
          .map((s) => ({ ...s, fwMark: 7 }));
        const owned = (s: { fwMark: number }) => s.fwMark !== 7;
        expect(fingerprint([...rest, ...mine], owned)).toBe(fingerprint(mine));
        expect(fingerprint([], owned)).toBe(0);
      }),
    );
  });

  it('after a plan, follows from the one before and the changes applied; refused changes count for nothing', () => {
    fc.assert(
      fc.property(listing, listing, fc.boolean(), (current, next, prune) => {
        // What is desired: the services of `next`, as an Apply would take them.
        const desired = next.map((s) => ({ ...s, destinations: s.destinations.map((d) => ({ ...d })) }));
        const changes = plan(current, desired, { prune });
        const refused = changes.map(() => ({ ok: false as const, error: new Error('refused') as never }));
        expect(fingerprintAfter(fingerprint(current), changes, refused)).toBe(fingerprint(current));
        // With prune the kernel becomes exactly `next` (the kernel's fingerprint of it is checked in test/kernel).
        if (prune) {
          const oks = changes.map(() => ({ ok: true as const }));
          expect(fingerprintAfter(fingerprint(current), changes, oks)).toBe(fingerprint(next));
        }
      }),
    );
  });
});
