import { describe, expect, it } from 'vitest';
import { AddressFamily, DaemonState, ForwardingMethod, Protocol, TunnelType } from '../../src/client/index.js';
import { useServer } from './helpers.js';

const ctx = useServer();
const web = { address: '192.0.2.1', protocol: Protocol.TCP, port: 80 };
const ns = () => ctx.ns.name;

describe('every IpvsService RPC against the kernel, cross-checked with ipvsadm', () => {
  it('creates, reads, updates and deletes services', async () => {
    const c = ctx.client;
    await c.createService({ namespace: ns(), service: { id: web, schedName: 'rr' } });
    await c.createService({
      namespace: ns(),
      service: { id: { fwMark: 7, addressFamily: AddressFamily.INET6 }, schedName: 'mh', flags: 0x8 },
    });
    expect(ctx.ns.saved().sort()).toEqual(['-A -f 7 -6 -s mh -b mh-fallback', '-A -t 192.0.2.1:80 -s rr']);

    const got = await c.getService({ namespace: ns(), service: web });
    expect(got.service?.service).toMatchObject({
      id: { ...web, addressFamily: AddressFamily.INET },
      schedName: 'rr',
      netmask: 0xffffffff,
    });
    expect(got.service?.service?.stats?.connections).toBe(0n);
    expect((await c.listServices({ namespace: ns() })).services).toHaveLength(2);

    await c.updateService({ namespace: ns(), service: { id: web, schedName: 'wrr', flags: 1, timeout: 30 } });
    expect(ctx.ns.saved()).toContain('-A -t 192.0.2.1:80 -s wrr -p 30');
    await c.deleteService({ namespace: ns(), service: web });
    expect(ctx.ns.saved()).toEqual(['-A -f 7 -6 -s mh -b mh-fallback']);
    await c.flush({ namespace: ns() });
    expect(ctx.ns.saved()).toEqual([]);
  });

  it('creates, lists, updates and deletes destinations; weight defaults to 1, 0 drains', async () => {
    const c = ctx.client;
    await c.createService({ namespace: ns(), service: { id: web } });
    await c.createDestination({ namespace: ns(), service: web, destination: { address: '198.51.100.1', port: 8080 } });
    await c.createDestination({
      namespace: ns(),
      service: web,
      destination: { address: '198.51.100.2', weight: 0, forwardingMethod: ForwardingMethod.DIRECT_ROUTE },
    });
    await c.createDestination({
      namespace: ns(),
      service: web,
      destination: {
        address: '198.51.100.3',
        forwardingMethod: ForwardingMethod.TUNNEL,
        tunnelType: TunnelType.GUE,
        tunnelPort: 6080,
        upperThreshold: 10,
        lowerThreshold: 5,
      },
    });
    expect(ctx.ns.saved().sort()).toEqual([
      '-A -t 192.0.2.1:80 -s wlc',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1',
      '-a -t 192.0.2.1:80 -r 198.51.100.2:80 -g -w 0',
      '-a -t 192.0.2.1:80 -r 198.51.100.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum',
    ]);
    const { destinations } = await c.listDestinations({ namespace: ns(), service: web });
    expect(destinations.find((d) => d.address === '198.51.100.3')).toMatchObject({
      port: 80,
      weight: 1,
      forwardingMethod: ForwardingMethod.TUNNEL,
      tunnelType: TunnelType.GUE,
      tunnelPort: 6080,
      upperThreshold: 10,
      lowerThreshold: 5,
    });
    const withDests = await c.listServices({ namespace: ns(), includeDestinations: true });
    expect(withDests.services[0]?.destinations).toHaveLength(3);
    expect(
      (await c.getService({ namespace: ns(), service: web, includeDestinations: true })).service?.destinations,
    ).toHaveLength(3);

    await c.updateDestination({
      namespace: ns(),
      service: web,
      destination: { address: '198.51.100.1', port: 8080, weight: 7 },
    });
    expect(ctx.ns.saved()).toContain('-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 7');
    await c.deleteDestination({ namespace: ns(), service: web, destination: { address: '198.51.100.2' } });
    expect(ctx.ns.saved().filter((l) => l.startsWith('-a'))).toHaveLength(2);
  });

  it('applies a batch and reports each item', async () => {
    const r = await ctx.client.batch({
      namespace: ns(),
      operations: [
        { operation: { case: 'createService', value: { id: web } } },
        { operation: { case: 'createDestination', value: { service: web, destination: { address: '198.51.100.1' } } } },
        { operation: { case: 'createDestination', value: { service: web, destination: { address: '198.51.100.1' } } } },
        { operation: { case: 'createService', value: { id: { ...web, port: 81 } } } },
      ],
    });
    expect(r.applied).toBe(3);
    expect(r.results.map((x) => x.errno)).toEqual(['', '', 'EEXIST', '']);
    expect(r.results[2]).toMatchObject({ code: 6 /* ALREADY_EXISTS */ });
    expect(r.results[2]?.message).toContain('198.51.100.1:80 of tcp 192.0.2.1:80');
    expect(ctx.ns.saved().sort()).toEqual([
      '-A -t 192.0.2.1:80 -s wlc',
      '-A -t 192.0.2.1:81 -s wlc',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1',
    ]);
  });

  it('gets and sets timeouts, reads info, zeroes counters', async () => {
    const c = ctx.client;
    const before = (await c.getConfig({ namespace: ns() })).config!;
    await c.setConfig({ namespace: ns(), config: { timeoutTcp: 1000, timeoutUdp: 30 } });
    expect(ctx.ns.ipvsadm('-L --timeout').trim()).toBe(`Timeout (tcp tcpfin udp): 1000 ${before.timeoutTcpFin} 30`);
    await c.setConfig({ namespace: ns(), config: before });
    expect((await c.getInfo({ namespace: ns() })).info).toMatchObject({
      version: '1.2.1',
      versionCode: 0x010201,
      connectionTableSize: 4096,
    });
    await c.createService({ namespace: ns(), service: { id: web } });
    await c.zeroCounters({ namespace: ns(), service: web });
    await c.zeroCounters({ namespace: ns() });
  });

  it('starts, lists and stops sync daemons', async () => {
    ctx.ns.exec('ip link add s0 type veth peer name s1 && ip link set s0 up && ip link set s1 up');
    await ctx.client.startDaemon({
      namespace: ns(),
      daemon: { state: DaemonState.BACKUP, mcastInterface: 's0', syncId: 9 },
    });
    expect(ctx.ns.ipvsadm('-L --daemon')).toContain('backup sync daemon (mcast=s0, syncid=9');
    expect((await ctx.client.listDaemons({ namespace: ns() })).daemons).toMatchObject([
      { state: DaemonState.BACKUP, mcastInterface: 's0', syncId: 9 },
    ]);
    await ctx.client.stopDaemon({ namespace: ns(), state: DaemonState.BACKUP });
    expect((await ctx.client.listDaemons({ namespace: ns() })).daemons).toEqual([]);
  });

  it('serves the same API on its unix socket', async () => {
    const { connectIpvs } = await import('../../src/client/index.js');
    const c = connectIpvs(`unix:${ctx.unixPath}`);
    await c.createService({ namespace: ns(), service: { id: web } });
    expect((await c.listServices({ namespace: ns() })).services).toHaveLength(1);
    c.close();
  });
});
