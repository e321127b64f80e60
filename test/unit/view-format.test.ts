// ipvsctl's list views against the text ipvsadm 1.31 printed on Linux 6.1
// (user-mode Linux, read through `cat -A` to keep trailing spaces) for the
// states below, written out as the API reports them (--tun-info and
// --persistent-conn as recorded; the other rows as recorded for the same
// kinds of service and destination under other addresses). The full proof
// on a state with traffic is test/e2e/cli-views.test.ts; these pin its
// corners quickly: tunnel info, a name wider than its column, persistence
// engines with and without persistence, daemons.
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  AddressFamily,
  DaemonSchema,
  DaemonState,
  DestinationSchema,
  ForwardingMethod,
  Protocol,
  ServiceSchema,
  ServiceWithDestinationsSchema,
  TunnelType,
} from '../../src/client/index.js';
import { formatDaemons, formatView } from '../../src/cli/view-format.js';

const { INET, INET6 } = AddressFamily;
const plain = { exact: false, tunInfo: false };

const tunnels = create(ServiceWithDestinationsSchema, {
  service: {
    id: { addressFamily: INET, protocol: Protocol.TCP, address: '192.0.2.1', port: 80 },
    schedName: 'rr',
    netmask: 0xffffffff,
  },
  destinations: [
    { tunnelType: TunnelType.GUE, tunnelPort: 6080, tunnelFlags: 0x2, address: '203.0.113.10' },
    { tunnelType: TunnelType.GRE, tunnelFlags: 0x1, address: '203.0.113.12' },
    {
      tunnelType: TunnelType.GUE,
      tunnelPort: 65535,
      tunnelFlags: 0x1,
      address: '2001:db8:2:ffff:ffff:ffff:ffff:1',
      addressFamily: INET6,
    },
  ].map((d) =>
    create(DestinationSchema, {
      addressFamily: INET,
      port: 80,
      weight: 1,
      forwardingMethod: ForwardingMethod.TUNNEL,
      ...d,
    }),
  ),
});

describe('list views, as ipvsadm -L -n prints them', () => {
  it('--tun-info: type, port and checksum of each tunnel; a wide name pushes its row out unpadded', () => {
    expect(formatView([tunnels], 'default', { exact: false, tunInfo: true })).toBe(
      [
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn',
        'TCP  192.0.2.1:80 rr',
        '  -> 203.0.113.10:80              Tunnel  gue:6080:r+c  1      0          0         ',
        '  -> 203.0.113.12:80              Tunnel  gre:+c        1      0          0         ',
        '  -> [2001:db8:2:ffff:ffff:ffff:ffff:1]:80 Tunnel  gue:65535:+c  1      0          0         ',
        '',
      ].join('\n'),
    );
  });

  it('--persistent-conn (and --tun-info does nothing to it)', () => {
    expect(formatView([tunnels], 'persistent-conn', { exact: false, tunInfo: true })).toBe(
      [
        'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ',
        '  -> RemoteAddress:Port',
        'TCP  192.0.2.1:80 rr',
        '  -> 203.0.113.10:80              1         0           0          0         ',
        '  -> 203.0.113.12:80              1         0           0          0         ',
        '  -> [2001:db8:2:ffff:ffff:ffff:ffff:1]:80 1         0           0          0         ',
        '',
      ].join('\n'),
    );
  });

  it('--stats: names padded to 33 and 28 characters, or pushing the counters out', () => {
    expect(formatView([tunnels], 'stats', plain)).toBe(
      [
        'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
        '  -> RemoteAddress:Port',
        'TCP  192.0.2.1:80                        0        0        0        0        0',
        '  -> 203.0.113.10:80                     0        0        0        0        0',
        '  -> 203.0.113.12:80                     0        0        0        0        0',
        '  -> [2001:db8:2:ffff:ffff:ffff:ffff:1]:80        0        0        0        0        0',
        '',
      ].join('\n'),
    );
  });

  it('a persistence engine shows only with persistence; one-packet scheduling always', () => {
    const udp = (port: number, s: object) =>
      create(ServiceWithDestinationsSchema, {
        service: create(ServiceSchema, {
          id: { addressFamily: INET, protocol: Protocol.UDP, address: '192.0.2.5', port },
          schedName: 'rr',
          netmask: 0xffffffff,
          ...s,
        }),
      });
    const text = formatView(
      [
        udp(5060, { flags: 0x4 }),
        udp(5061, { peName: 'sip' }),
        udp(5062, { flags: 0x1 | 0x4 | 0x8, timeout: 30, peName: 'sip' }),
      ],
      'thresholds',
      plain,
    );
    expect(text).toBe(
      [
        'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ',
        '  -> RemoteAddress:Port',
        'UDP  192.0.2.5:5060 rr ops',
        'UDP  192.0.2.5:5061 rr',
        'UDP  192.0.2.5:5062 rr (flag-1) persistent 30 pe sip ops',
        '',
      ].join('\n'),
    );
  });

  it('--daemon: master first, every field the kernel reports', () => {
    const daemons = [
      create(DaemonSchema, {
        state: DaemonState.BACKUP,
        mcastInterface: 'dummy0',
        syncId: 9,
        syncMaxLen: 1024,
        mcastGroup: '239.1.2.3',
        mcastPort: 9000,
        mcastTtl: 3,
      }),
      create(DaemonSchema, {
        state: DaemonState.MASTER,
        mcastInterface: 'lo',
        syncId: 5,
        syncMaxLen: 1472,
        mcastGroup: '224.0.0.81',
        mcastPort: 8848,
        mcastTtl: 1,
      }),
    ];
    expect(formatDaemons(daemons)).toBe(
      'master sync daemon (mcast=lo, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n' +
        'backup sync daemon (mcast=dummy0, syncid=9, maxlen=1024, group=239.1.2.3, port=9000, ttl=3)\n',
    );
    expect(formatDaemons([])).toBe('');
  });
});
