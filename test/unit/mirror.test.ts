// A listing kept in place: each refresh leaves the mirror equal to the new
// listing, keeps the objects of whatever is still there, and tells the events
// that take the old listing to the new one, counters aside.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHostPort } from '../../src/inet/address.js';
import { Mirror } from '../../src/ipvs/mirror.js';
import type { Destination, Service, ServiceWithDestinations, StateEvent } from '../../src/ipvs/index.js';
import { describeService } from '../../src/ipvs/validate.js';
import { zeroStats } from '../../src/ipvs/stats.js';
import { emptyDestination } from '../../src/ipvs/destination.js';
import { emptyService } from '../../src/ipvs/service.js';

const dest = (address: string, weight = 1, connections = 0): Destination => ({
  ...emptyDestination(2),
  address,
  port: 80,
  weight,
  stats: { ...zeroStats(), connections },
});
const svc = (
  port: number,
  schedName: string,
  destinations: Destination[],
  connections = 0,
): ServiceWithDestinations => ({
  ...emptyService(),
  addressFamily: 2,
  protocol: 6,
  address: '192.0.2.1',
  port,
  schedName,
  flags: 2,
  netmask: 0xffffffff,
  stats: { ...zeroStats(), connections },
  destinations,
});

/**
 * Runs a refresh of `m` with `listing` as a Listing does: every object handed in is one scratch object,
 * rewritten for each (the mirror must copy, never keep).
 */
function refresh(m: Mirror, listing: readonly ServiceWithDestinations[]): StateEvent[] {
  const scratchService = { ...svc(0, '', []), stats: zeroStats() } as Service;
  const scratchDestination = dest('');
  m.beginServices();
  for (const s of listing) {
    const { destinations: _, ...fields } = s;
    Object.assign(scratchService, fields, { stats: Object.assign(scratchService.stats, s.stats) });
    m.service(scratchService);
  }
  m.endServices();
  for (const s of listing) {
    m.beginDestinations();
    for (const d of s.destinations) {
      Object.assign(scratchDestination, d, { stats: Object.assign(scratchDestination.stats, d.stats) });
      m.destination(scratchDestination);
    }
    m.endDestinations();
  }
  return m.finish();
}

const brief = (e: StateEvent) => `${e.kind} ${e.service.port}${e.destination ? ` ${e.destination.address}` : ''}`;

describe('a mirror of the kernel listing', () => {
  it('tells additions, option changes and removals, not counters', () => {
    const m = new Mirror();
    const before = [svc(80, 'rr', [dest('198.51.100.1'), dest('198.51.100.2')]), svc(81, 'rr', [dest('198.51.100.3')])];
    expect(refresh(m, before).map(brief)).toEqual([
      'added 80',
      'added 80 198.51.100.1',
      'added 80 198.51.100.2',
      'added 81',
      'added 81 198.51.100.3',
    ]);
    const moved = [
      svc(80, 'rr', [dest('198.51.100.1', 1, 7), dest('198.51.100.2')], 9),
      svc(81, 'rr', [dest('198.51.100.3')]),
    ];
    expect(refresh(m, moved)).toEqual([]);
    expect(m.services).toEqual(moved);
    const after = [
      svc(80, 'wrr', [dest('198.51.100.1', 5), dest('198.51.100.4')]),
      svc(82, 'rr', [dest('198.51.100.5')]),
    ];
    expect(refresh(m, after).map(brief)).toEqual([
      'updated 80',
      'updated 80 198.51.100.1',
      'added 80 198.51.100.4',
      'removed 80 198.51.100.2',
      'added 82',
      'added 82 198.51.100.5',
      'removed 81',
    ]);
    expect(m.services).toEqual(after);
  });

  it('keeps the old side of a change as it was, counters too', () => {
    const m = new Mirror();
    refresh(m, [svc(80, 'rr', [dest('198.51.100.1', 1, 3)])]);
    const [e] = refresh(m, [svc(80, 'rr', [dest('198.51.100.1', 5, 4)])]);
    expect([e!.oldDestination?.weight, e!.oldDestination?.stats.connections]).toEqual([1, 3]);
    expect([e!.destination?.weight, e!.destination?.stats.connections]).toEqual([5, 4]);
  });

  it('keeps its objects, and its arrays while nothing is added or removed', () => {
    const m = new Mirror();
    refresh(m, [svc(80, 'rr', [dest('198.51.100.1')]), svc(81, 'rr', [])]);
    const [s80, s81] = m.services;
    const list = m.services;
    const d1 = s80!.destinations[0];
    refresh(m, [svc(80, 'wrr', [dest('198.51.100.1', 3, 5)], 8), svc(81, 'rr', [])]);
    expect(m.services).toBe(list);
    expect(m.services[0]).toBe(s80);
    expect(m.services[0]!.destinations[0]).toBe(d1);
    expect([s80!.schedName, s80!.stats.connections, d1!.weight, d1!.stats.connections]).toEqual(['wrr', 8, 3, 5]);
    // The kernel's order changed: matched by key.
    refresh(m, [svc(81, 'rr', []), svc(80, 'wrr', [dest('198.51.100.1', 3, 5)], 8)]);
    expect(m.services[0]).toBe(s81);
    expect(m.services[1]).toBe(s80);
  });

  const destination = fc.record({
    address: fc.integer({ min: 1, max: 6 }).map((n) => `198.51.100.${n}`),
    weight: fc.integer({ min: 0, max: 3 }),
    connections: fc.nat(1000),
  });
  const service = fc.record({
    port: fc.integer({ min: 1, max: 6 }),
    schedName: fc.constantFrom('rr', 'wlc'),
    connections: fc.nat(1000),
    destinations: fc.uniqueArray(destination, { maxLength: 5, selector: (d) => d.address }),
  });
  const listing = fc.uniqueArray(service, { maxLength: 6, selector: (s) => s.port }).map((ss) =>
    ss.map((s) =>
      svc(
        s.port,
        s.schedName,
        s.destinations.map((d) => dest(d.address, d.weight, d.connections)),
        s.connections,
      ),
    ),
  );

  /** A listing's options by key, as events rebuild them. */
  type Model = Map<string, { schedName: string; destinations: Map<string, number> }>;
  const model = (l: readonly ServiceWithDestinations[]): Model =>
    new Map(
      l.map((s) => [
        describeService(s),
        { schedName: s.schedName, destinations: new Map(s.destinations.map((d) => [formatHostPort(d), d.weight])) },
      ]),
    );
  function replay(m: Model, events: readonly StateEvent[]): Model {
    for (const e of events) {
      const key = describeService(e.service);
      if (!e.destination) {
        if (e.kind === 'removed') m.delete(key);
        else m.set(key, { schedName: e.service.schedName, destinations: m.get(key)?.destinations ?? new Map() });
      } else if (e.kind === 'removed') m.get(key)!.destinations.delete(formatHostPort(e.destination));
      else m.get(key)!.destinations.set(formatHostPort(e.destination), e.destination.weight);
    }
    return m;
  }

  it('ends equal to any new listing, with events that take the old one to it, keeping what stayed', () => {
    fc.assert(
      fc.property(listing, listing, (before, after) => {
        const m = new Mirror();
        refresh(m, before);
        const kept = new Map(m.services.map((s) => [describeService(s), s]));
        const events = refresh(m, after);
        expect(m.services).toEqual(after);
        expect(replay(model(before), events)).toEqual(model(after));
        for (const s of m.services) {
          const old = kept.get(describeService(s));
          if (old) expect(s).toBe(old);
        }
        // Nothing changed, nothing told.
        expect(refresh(m, after)).toEqual([]);
      }),
    );
  });
});
