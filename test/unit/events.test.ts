// Change events between two listings, and how a slow consumer follows the
// shared poller: always the newest snapshot, told how many it missed.
import { describe, expect, it } from 'vitest';
import { diffState, type Destination, type ServiceWithDestinations } from '../../src/ipvs/index.js';
import { zeroStats } from '../../src/ipvs/stats.js';
import { follow, type StatsListener, type StatsSnapshot } from '../../src/server/stats-hub.js';

const dest = (address: string, weight = 1): Destination => ({
  addressFamily: 2,
  address,
  port: 80,
  weight,
  connectionFlags: 0,
  upperThreshold: 0,
  lowerThreshold: 0,
  activeConnections: 0,
  inactiveConnections: 0,
  persistentConnections: 0,
  tunnelType: 0,
  tunnelPort: 0,
  tunnelFlags: 0,
  stats: zeroStats(),
});
const svc = (port: number, schedName: string, destinations: Destination[]): ServiceWithDestinations => ({
  addressFamily: 2,
  protocol: 6,
  address: '192.0.2.1',
  port,
  fwMark: 0,
  schedName,
  flags: 2,
  timeout: 0,
  netmask: 0xffffffff,
  peName: '',
  stats: zeroStats(),
  destinations,
});

describe('diffState', () => {
  it('reports additions, option changes and removals, not counters', () => {
    const before = [svc(80, 'rr', [dest('198.51.100.1'), dest('198.51.100.2')]), svc(81, 'rr', [dest('198.51.100.3')])];
    const moved = before.map((s) => ({ ...s, stats: { ...s.stats, connections: 99 } }));
    expect(diffState(before, moved)).toEqual([]);
    const after = [
      svc(80, 'wrr', [dest('198.51.100.1', 5), dest('198.51.100.4')]),
      svc(82, 'rr', [dest('198.51.100.5')]),
    ];
    expect(
      diffState(before, after).map(
        (e) => `${e.kind} ${e.service.port}${e.destination ? ` ${e.destination.address}` : ''}`,
      ),
    ).toEqual([
      'updated 80',
      'updated 80 198.51.100.1',
      'added 80 198.51.100.4',
      'removed 80 198.51.100.2',
      'added 82',
      'added 82 198.51.100.5',
      'removed 81',
    ]);
    const upd = diffState(before, after)[1]!;
    expect([upd.oldDestination?.weight, upd.destination?.weight]).toEqual([1, 5]);
  });
});

describe('follow', () => {
  it('hands a slow consumer the newest snapshot and how many it missed', async () => {
    let listener: StatsListener | undefined;
    const hub = {
      subscribe: (_ns: string, _ms: number, l: StatsListener) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
    };
    const snap = (n: number): StatsSnapshot => ({ time: new Date(n), services: [] });
    const ac = new AbortController();
    const it = follow(hub, '', 100, ac.signal)[Symbol.asyncIterator]();
    const first = it.next();
    listener!.next(snap(1));
    expect((await first).value).toEqual({ snap: snap(1), skipped: 0 });
    listener!.next(snap(2));
    listener!.next(snap(3));
    listener!.next(snap(4));
    expect((await it.next()).value).toEqual({ snap: snap(4), skipped: 2 });
    const pending = it.next();
    ac.abort(new Error('done'));
    await expect(pending).rejects.toThrow('done');
    expect(listener).toBeUndefined();
  });
});
