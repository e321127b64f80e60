import { describe, expect, it } from 'vitest';
import {
  ConnFwdDirectRoute,
  ConnFwdLocalNode,
  ConnFwdMasq,
  ConnFwdTunnel,
  IPPROTO_TCP,
  TunnelFlagCsum,
  TunnelFlagNoCsum,
  TunnelFlagRemCsum,
  TunnelTypeGre,
  TunnelTypeGue,
  TunnelTypeIpip,
} from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();
const web = { address: '192.0.2.1', protocol: IPPROTO_TCP, port: 80 };

describe('destinations in the kernel', () => {
  it('adds destinations with every forwarding method that ipvsadm sees', async () => {
    await ctx.h.newService({ ...web, schedName: 'rr' });
    await ctx.h.newDestination(web, { address: '198.51.100.1', port: 8080, weight: 5, connectionFlags: ConnFwdMasq });
    await ctx.h.newDestination(web, { address: '198.51.100.2', weight: 0, connectionFlags: ConnFwdDirectRoute });
    await ctx.h.newDestination(web, { address: '198.51.100.3', connectionFlags: ConnFwdTunnel });
    await ctx.h.newDestination(web, { address: '127.0.0.1', connectionFlags: ConnFwdLocalNode });
    expect(ctx.ns.saved()).toEqual([
      '-A -t 192.0.2.1:80 -s rr',
      '-a -t 192.0.2.1:80 -r 127.0.0.1:80 -g -w 1',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 5',
      '-a -t 192.0.2.1:80 -r 198.51.100.2:80 -g -w 0',
      '-a -t 192.0.2.1:80 -r 198.51.100.3:80 -i -w 1 --tun-type ipip',
    ]);
    const dests = await ctx.h.getDestinations(web);
    const local = dests.find((d) => d.address === '127.0.0.1');
    // The kernel turns a route to a local address into local forwarding.
    expect(local?.connectionFlags).toBe(ConnFwdLocalNode);
  });

  it('sets tunnel types, ports and checksum flags', async () => {
    await ctx.h.newService(web);
    await ctx.h.newDestination(web, {
      address: '198.51.100.3',
      connectionFlags: ConnFwdTunnel,
      tunnelType: TunnelTypeGue,
      tunnelPort: 6080,
      tunnelFlags: TunnelFlagNoCsum,
    });
    await ctx.h.newDestination(web, {
      address: '198.51.100.4',
      connectionFlags: ConnFwdTunnel,
      tunnelType: TunnelTypeGre,
      tunnelFlags: TunnelFlagCsum,
    });
    await ctx.h.newDestination(web, {
      address: '198.51.100.5',
      connectionFlags: ConnFwdTunnel,
      tunnelType: TunnelTypeGue,
      tunnelPort: 6081,
      tunnelFlags: TunnelFlagRemCsum,
    });
    await ctx.h.newDestination(web, {
      address: '198.51.100.6',
      connectionFlags: ConnFwdTunnel,
      tunnelType: TunnelTypeIpip,
    });
    expect(ctx.ns.saved().slice(1)).toEqual([
      '-a -t 192.0.2.1:80 -r 198.51.100.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum',
      '-a -t 192.0.2.1:80 -r 198.51.100.4:80 -i -w 1 --tun-type gre --tun-csum',
      '-a -t 192.0.2.1:80 -r 198.51.100.5:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum',
      '-a -t 192.0.2.1:80 -r 198.51.100.6:80 -i -w 1 --tun-type ipip',
    ]);
    const gue = (await ctx.h.getDestinations(web)).find((d) => d.address === '198.51.100.3');
    expect(gue).toMatchObject({ tunnelType: TunnelTypeGue, tunnelPort: 6080, tunnelFlags: TunnelFlagNoCsum });
  });

  it('sets connection thresholds', async () => {
    await ctx.h.newService(web);
    await ctx.h.newDestination(web, { address: '198.51.100.1', upperThreshold: 100, lowerThreshold: 10 });
    expect(ctx.ns.ipvsadm('-Ln --thresholds')).toMatch(/198\.51\.100\.1:80\s+100\s+10\s/);
    expect((await ctx.h.getDestinations(web))[0]).toMatchObject({ upperThreshold: 100, lowerThreshold: 10 });
  });

  it('accepts a destination of the other family only when tunnelled', async () => {
    const v6 = { address: '2001:db8::1', protocol: IPPROTO_TCP, port: 443 };
    await ctx.h.newService(v6);
    await ctx.h.newDestination(v6, { address: '192.0.2.50', connectionFlags: ConnFwdTunnel });
    expect(ctx.ns.saved()).toContain('-a -t [2001:db8::1]:443 -r 192.0.2.50:443 -i -w 1 --tun-type ipip');
    expect((await ctx.h.getDestinations(v6))[0]).toMatchObject({ addressFamily: 2, address: '192.0.2.50' });
  });

  it('updates a destination in place and deletes it', async () => {
    await ctx.h.newService(web);
    await ctx.h.newDestination(web, { address: '198.51.100.1', weight: 1 });
    await ctx.h.updateDestination(web, { address: '198.51.100.1', weight: 7, connectionFlags: ConnFwdDirectRoute });
    expect(ctx.ns.saved()[1]).toBe('-a -t 192.0.2.1:80 -r 198.51.100.1:80 -g -w 7');
    await ctx.h.delDestination(web, { address: '198.51.100.1' });
    expect(ctx.ns.saved()).toEqual(['-A -t 192.0.2.1:80 -s wlc']);
  });

  it('adds IPv6 destinations and firewall-mark destinations on port 0', async () => {
    const v6 = { address: '2001:db8::1', protocol: IPPROTO_TCP, port: 443 };
    await ctx.h.newService(v6);
    await ctx.h.newDestination(v6, { address: '2001:db8:0:0::10', weight: 3 });
    await ctx.h.newService({ fwMark: 7 });
    await ctx.h.newDestination({ fwMark: 7 }, { address: '203.0.113.1' });
    expect(ctx.ns.saved().sort()).toEqual([
      '-A -f 7 -s wlc',
      '-A -t [2001:db8::1]:443 -s wlc',
      '-a -f 7 -r 203.0.113.1:0 -m -w 1',
      '-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 3',
    ]);
  });

  it('reads back destinations that ipvsadm created', async () => {
    ctx.ns.ipvsadm('-A -t 192.0.2.1:80 -s rr');
    ctx.ns.ipvsadm('-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 5 -x 100 -y 10');
    ctx.ns.ipvsadm('-a -t 192.0.2.1:80 -r 198.51.100.2 -i --tun-type gue --tun-port 6080 --tun-csum');
    const list = await ctx.h.getServicesWithDestinations();
    expect(list).toHaveLength(1);
    const byAddr = Object.fromEntries(list[0]!.destinations.map((d) => [d.address, d]));
    expect(byAddr['198.51.100.1']).toMatchObject({
      addressFamily: 2,
      port: 8080,
      weight: 5,
      connectionFlags: ConnFwdMasq,
      upperThreshold: 100,
      lowerThreshold: 10,
      activeConnections: 0,
      inactiveConnections: 0,
      persistentConnections: 0,
    });
    expect(byAddr['198.51.100.2']).toMatchObject({
      port: 80,
      weight: 1,
      connectionFlags: ConnFwdTunnel,
      tunnelType: TunnelTypeGue,
      tunnelPort: 6080,
      tunnelFlags: TunnelFlagCsum,
    });
  });
});
