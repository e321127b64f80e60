// What a desired state's health specs check: each destination of a checked
// service (its own check over the service's), what is probed, and specs that
// do not fit the desired services refused naming the field.
import { describe, expect, it } from 'vitest';
import { CheckError, checkOf } from '../../src/health/check.js';
import { targetsOf, type ServiceHealthSpec } from '../../src/health/targets.js';
import type { DesiredService } from '../../src/ipvs/index.js';

const web: DesiredService = {
  address: '2001:db8::1',
  protocol: 6,
  port: 443,
  destinations: [{ address: '2001:db8:1::1' }, { address: '2001:db8:1:0::2', port: 8443 }],
};
const marked: DesiredService = { fwMark: 7, destinations: [{ address: '198.51.100.1' }] };
const tcp = checkOf({ probe: { kind: 'tcp' } });
const http = checkOf({
  probe: { kind: 'http', http: { tls: true, path: '/healthz', statuses: [[200, 299]], verify: true } },
});
const spec = (h: Partial<ServiceHealthSpec>): ServiceHealthSpec[] => [
  { service: { address: '2001:db8::1', protocol: 6, port: 443 }, destinations: [], onDown: 'weight-zero', ...h },
];
const field = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof CheckError) return e.field;
    throw e;
  }
  return undefined;
};

describe('the checked destinations of a desired state', () => {
  it("are each destination of a checked service, with its own check over the service's, probed where it listens", () => {
    const { targets: t } = targetsOf(
      [web],
      spec({ check: tcp, destinations: [{ address: '2001:db8:1::2', port: 8443, check: http }] }),
    );
    expect(t.map((x) => [x.service, x.destination, x.address, x.port, x.check.probe.kind])).toEqual([
      ['tcp [2001:db8::1]:443', '[2001:db8:1::1]:443', '2001:db8:1::1', 443, 'tcp'],
      ['tcp [2001:db8::1]:443', '[2001:db8:1::2]:8443', '2001:db8:1::2', 8443, 'http'],
    ]);
  });

  it("probe the check's own address and port when it has them", () => {
    const other = checkOf({ probe: { kind: 'tcp' }, address: '203.0.113.9', port: 9000 });
    expect(targetsOf([web], spec({ check: other })).targets.map((x) => `${x.address}:${x.port}`)).toEqual([
      '203.0.113.9:9000',
      '203.0.113.9:9000',
    ]);
  });

  it('without a service check, are only the destinations listed', () => {
    const only = spec({ destinations: [{ address: '2001:db8:1::1', port: 0, check: tcp }] });
    expect(targetsOf([web], only).targets).toHaveLength(1);
  });

  it('refuse a service that is not desired, one checked twice, a stray destination, and a check with no port', () => {
    expect(
      field(() => targetsOf([web], spec({ service: { address: '2001:db8::9', protocol: 6, port: 443 }, check: tcp }))),
    ).toBe('health[0].service');
    expect(field(() => targetsOf([web], [...spec({ check: tcp }), ...spec({ check: tcp })]))).toBe('health[1].service');
    expect(
      field(() => targetsOf([web], spec({ destinations: [{ address: '2001:db8:1::9', port: 443, check: tcp }] }))),
    ).toBe('health[0].destinations');
    expect(field(() => targetsOf([web], spec({ destinations: [{ address: 'nope', port: 443, check: tcp }] })))).toBe(
      'health[0].destinations[0].address',
    );
    // A firewall-mark service's destination has no port: its check must give one.
    expect(
      field(() =>
        targetsOf([marked], [{ service: { fwMark: 7 }, check: tcp, destinations: [], onDown: 'weight-zero' }]),
      ),
    ).toBe('health[0].check.port');
  });
});
