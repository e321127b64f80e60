// A mirror refreshed from the kernel: the same listing as a fresh one, its
// objects kept, and the events of what changed behind its back (ipvsadm).
import { describe, expect, it } from 'vitest';
import {
  describeService,
  IPPROTO_TCP,
  IPPROTO_UDP,
  Mirror,
  type BatchOp,
  type StateEvent,
} from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();

/** 300 services (IPv4, IPv6, firewall marks) of 3 destinations: more than two chunks of destination dumps. */
function rules(): BatchOp[] {
  const ops: BatchOp[] = [];
  for (let i = 0; i < 300; i++) {
    const v6 = i % 3 === 1 || (i % 3 === 2 && i % 2 === 1);
    const service =
      i % 3 === 0
        ? { address: `198.18.${i >> 8}.${i & 255}`, protocol: IPPROTO_TCP, port: 80, schedName: 'rr' }
        : i % 3 === 1
          ? { address: `2001:db8::${i.toString(16)}`, protocol: IPPROTO_UDP, port: 53, schedName: 'wlc' }
          : { fwMark: i, addressFamily: v6 ? 10 : 2, schedName: 'sh' };
    ops.push({ op: 'newService', service });
    for (let j = 1; j <= 3; j++) {
      const address = v6 ? `2001:db8:1::${j}` : `203.0.113.${j}`;
      ops.push({ op: 'newDestination', service, destination: { address, port: 8080, weight: j } });
    }
  }
  return ops;
}

const brief = (e: StateEvent) =>
  `${e.kind} ${e.service.address}:${e.service.port}${e.destination ? ` ${e.destination.address} w${e.destination.weight}` : ''}`;

describe('a mirror refreshed from the kernel', () => {
  it('holds what a fresh listing holds, and keeps its objects from one refresh to the next', async () => {
    const results = await ctx.h.batch(rules());
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const m = new Mirror();
    const first = await ctx.h.refresh(m);
    expect(first.filter((e) => e.kind === 'added')).toHaveLength(1200);
    expect(m.services).toEqual(await ctx.h.getServicesWithDestinations());
    expect(m.services).toHaveLength(300);
    expect(ctx.ns.saved()).toHaveLength(1200);

    const before = m.services;
    const objects = m.services.flatMap((s) => [s, ...s.destinations]);
    expect(await ctx.h.refresh(m)).toEqual([]);
    expect(m.services).toBe(before);
    expect(m.services.flatMap((s) => [s, ...s.destinations])).toEqual(objects);
    const again = m.services.flatMap((s) => [s, ...s.destinations]);
    expect(again.every((o, i) => o === objects[i])).toBe(true);
  });

  it('tells what ipvsadm changed behind its back, in the kernel listing order', async () => {
    await ctx.h.batch([
      { op: 'newService', service: { address: '192.0.2.1', protocol: IPPROTO_TCP, port: 80, schedName: 'rr' } },
      { op: 'newService', service: { address: '192.0.2.2', protocol: IPPROTO_TCP, port: 80, schedName: 'rr' } },
      { op: 'newService', service: { address: '2001:db8::7', protocol: IPPROTO_TCP, port: 443, schedName: 'rr' } },
      ...['198.51.100.1', '198.51.100.2'].map(
        (address): BatchOp => ({
          op: 'newDestination',
          service: { address: '192.0.2.1', protocol: IPPROTO_TCP, port: 80 },
          destination: { address, port: 8080 },
        }),
      ),
    ]);
    const m = new Mirror();
    await ctx.h.refresh(m);
    ctx.ns.ipvsadm('-E -t 192.0.2.1:80 -s wlc');
    ctx.ns.ipvsadm('-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 5');
    ctx.ns.ipvsadm('-d -t 192.0.2.1:80 -r 198.51.100.2:8080');
    ctx.ns.ipvsadm('-a -t [2001:db8::7]:443 -r [2001:db8:1::9]:443 -m -w 2');
    ctx.ns.ipvsadm('-D -t 192.0.2.2:80');
    const events = await ctx.h.refresh(m);
    const fresh = await ctx.h.getServicesWithDestinations();
    expect(m.services).toEqual(fresh);
    const updated = events.find((e) => e.kind === 'updated' && !e.destination)!;
    expect([updated.oldService?.schedName, updated.service.schedName]).toEqual(['rr', 'wlc']);
    expect(events.map(brief).sort()).toEqual(
      [
        'updated 192.0.2.1:80',
        'updated 192.0.2.1:80 198.51.100.1 w5',
        'removed 192.0.2.1:80 198.51.100.2 w1',
        'added 2001:db8::7:443 2001:db8:1::9 w2',
        'removed 192.0.2.2:80',
      ].sort(),
    );
    // Removed services come last; a service's own event before its destinations'.
    expect(brief(events.at(-1)!)).toBe('removed 192.0.2.2:80');
    const at = (s: string) => events.findIndex((e) => brief(e) === s);
    expect(at('updated 192.0.2.1:80')).toBeLessThan(at('updated 192.0.2.1:80 198.51.100.1 w5'));
    expect(ctx.ns.saved().filter((l) => l.startsWith('-a'))).toHaveLength(2);
  });

  it('lists services alone into a mirror, and destinations into reused objects to read at once', async () => {
    expect((await ctx.h.batch(rules())).filter((r) => !r.ok)).toEqual([]);
    const m = new Mirror();
    const added = await ctx.h.refreshServices(m);
    expect(added.map((e) => e.kind)).toEqual(Array(300).fill('added'));
    expect(m.services.every((s) => s.destinations.length === 0)).toBe(true);
    const listed = await ctx.h.getServicesWithDestinations();
    expect(m.services).toEqual(listed.map((s) => ({ ...s, destinations: [] })));
    ctx.ns.ipvsadm('-D -t 198.18.0.0:80');
    expect((await ctx.h.refreshServices(m)).map((e) => `${e.kind} ${e.service.address}`)).toEqual([
      'removed 198.18.0.0',
    ]);

    const copies: (typeof listed)[number]['destinations'][] = [];
    const seen = new Set<object>();
    await ctx.h.eachDestinations(m.services, (k, dests) => {
      expect(k).toBe(copies.length);
      copies.push(dests.map((d) => ({ ...d, stats: { ...d.stats } })));
      for (const d of dests) seen.add(d);
    });
    const byKey = new Map(listed.map((s) => [describeService(s), s.destinations]));
    expect(copies).toEqual(m.services.map((s) => byKey.get(describeService(s))));
    // Three objects, whatever the number of destinations listed.
    expect(seen.size).toBe(3);
  });
});
