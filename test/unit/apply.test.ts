// The Apply planner: from what the kernel holds to what is desired, within
// what the caller owns.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  plan,
  ValidationError,
  type ApplyOptions,
  type Destination,
  type DesiredService,
  type Service,
  type ServiceWithDestinations,
} from '../../src/ipvs/index.js';
import { zeroStats } from '../../src/ipvs/stats.js';

/** What the kernel would report for a created service and its destinations. */
function kernel(
  d: DesiredService & { address: string; port: number },
  dests: { address: string; port?: number; weight?: number }[] = [],
): ServiceWithDestinations {
  const svc: Service = {
    addressFamily: 2,
    protocol: 6,
    address: d.address,
    port: d.port,
    fwMark: 0,
    schedName: d.schedName ?? 'wlc',
    flags: 0x2,
    timeout: 0,
    netmask: 0xffffffff,
    peName: '',
    stats: zeroStats(),
  };
  const destinations: Destination[] = dests.map((x) => ({
    addressFamily: 2,
    address: x.address,
    port: x.port ?? d.port,
    weight: x.weight ?? 1,
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
  }));
  return { ...svc, destinations };
}

const web = { address: '192.0.2.1', protocol: 6, port: 80 };
const actions = (cs: { description: string }[]) => cs.map((c) => c.description);

describe('Apply plans', () => {
  it('create everything from empty, services before their destinations', () => {
    expect(actions(plan([], [{ ...web, schedName: 'rr', destinations: [{ address: '198.51.100.1' }] }]))).toEqual([
      'createService tcp 192.0.2.1:80',
      'createDestination 198.51.100.1:80 of tcp 192.0.2.1:80',
    ]);
  });

  it('change nothing when the kernel already holds the desired state', () => {
    const desired = [
      { ...web, schedName: 'rr', destinations: [{ address: '198.51.100.1' }, { address: '198.51.100.2', weight: 5 }] },
    ];
    const current = [
      kernel({ ...web, schedName: 'rr' }, [{ address: '198.51.100.1' }, { address: '198.51.100.2', weight: 5 }]),
    ];
    expect(plan(current, desired, { prune: true })).toEqual([]);
  });

  it('update only what differs, saying how', () => {
    const current = [kernel({ ...web, schedName: 'rr' }, [{ address: '198.51.100.1' }])];
    expect(
      actions(plan(current, [{ ...web, schedName: 'wrr', destinations: [{ address: '198.51.100.1', weight: 3 }] }])),
    ).toEqual([
      'updateService tcp 192.0.2.1:80: schedName rr -> wrr',
      'updateDestination 198.51.100.1:80 of tcp 192.0.2.1:80: weight 1 -> 3',
    ]);
  });

  it('delete what is not desired only with prune, deletions first, and never outside the scope', () => {
    const other = { address: '203.0.113.9', protocol: 6, port: 22 };
    const current = [
      kernel(web, [{ address: '198.51.100.1' }, { address: '198.51.100.2' }]),
      kernel({ ...web, port: 81 }),
      kernel(other),
    ];
    const desired = [
      { ...web, destinations: [{ address: '198.51.100.1' }] },
      { ...web, port: 82 },
    ];
    expect(plan(current, desired)).toHaveLength(1);
    expect(actions(plan(current, desired, { prune: true, scope: { prefixes: ['192.0.2.0/24'] } }))).toEqual([
      'deleteService tcp 192.0.2.1:81',
      'deleteDestination 198.51.100.2:80 of tcp 192.0.2.1:80',
      'createService tcp 192.0.2.1:82',
    ]);
  });

  it('drain instead of delete: weight 0, once', () => {
    const current = [kernel(web, [{ address: '198.51.100.1' }, { address: '198.51.100.2' }])];
    const desired = [{ ...web, destinations: [{ address: '198.51.100.1' }] }];
    const drained = plan(current, desired, { prune: true, drain: true });
    expect(actions(drained)).toEqual(['drainDestination 198.51.100.2:80 of tcp 192.0.2.1:80: weight 1 -> 0']);
    expect(drained[0]!.destination!.weight).toBe(0);
    const after = [kernel(web, [{ address: '198.51.100.1' }, { address: '198.51.100.2', weight: 0 }])];
    expect(plan(after, desired, { prune: true, drain: true })).toEqual([]);
  });

  it.each([
    ['a service outside the scope', [web], { scope: { addresses: ['192.0.2.2'] } }, /outside the scope/],
    ['a service desired twice', [web, { ...web }], {}, /desired twice/],
    [
      'a destination desired twice',
      [{ ...web, destinations: [{ address: '198.51.100.1' }, { address: '198.51.100.1', port: 80 }] }],
      {},
      /desired twice/,
    ],
    ['an invalid model', [{ ...web, schedName: 'best' }], {}, /schedName/],
    ['a malformed prefix', [web], { scope: { prefixes: ['192.0.2.0/33'] } }, /not a CIDR prefix/],
  ] as [string, DesiredService[], ApplyOptions, RegExp][])('refuse %s', (_, desired, o, why) => {
    expect(() => plan([], desired, o)).toThrow(ValidationError);
    expect(() => plan([], desired, o)).toThrow(why);
  });

  it('reach a fixed point: applying a plan, then planning again, changes nothing', () => {
    const svc = fc.record({
      port: fc.integer({ min: 1, max: 20 }),
      schedName: fc.constantFrom('rr', 'wlc'),
      dests: fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(svc, { selector: (s) => s.port, maxLength: 6 }),
        fc.uniqueArray(svc, { selector: (s) => s.port, maxLength: 6 }),
        (before, after) => {
          const toDesired = (list: typeof before) =>
            list.map((s) => ({
              ...web,
              port: s.port,
              schedName: s.schedName,
              destinations: s.dests.map((d) => ({ address: `198.51.100.${d}` })),
            }));
          const current = toDesired(before).map((d) => kernel(d, d.destinations));
          const desired = toDesired(after);
          const changes = plan(current, desired, { prune: true });
          // Every desired object that is missing or different shows up; applying gives exactly the desired state.
          const applied = desired.map((d) => kernel(d, d.destinations));
          expect(plan(applied, desired, { prune: true })).toEqual([]);
          const creates = changes.filter((c) => c.action === 'createService').length;
          expect(creates).toBe(desired.filter((d) => !before.some((b) => b.port === d.port)).length);
        },
      ),
    );
  });
});
