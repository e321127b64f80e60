import { describe, expect, it } from 'vitest';
import {
  AF_INET6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCHEDULERS,
  SvcFlagHashed,
  SvcFlagMhPort,
  SvcFlagOnePacket,
  SvcFlagPersistent,
  SvcFlagShFallback,
  SvcFlagShPort,
} from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();
const web = { address: '192.0.2.1', protocol: IPPROTO_TCP, port: 80 };

describe('services in the kernel', () => {
  it('creates a TCP service that ipvsadm sees, with ipvsadm defaults (wlc)', async () => {
    await ctx.h.newService(web);
    expect(ctx.ns.saved()).toEqual(['-A -t 192.0.2.1:80 -s wlc']);
  });

  it('creates UDP, SCTP, IPv6 and firewall-mark services', async () => {
    await ctx.h.newService({ address: '192.0.2.1', protocol: IPPROTO_UDP, port: 53, schedName: 'rr' });
    await ctx.h.newService({ address: '192.0.2.2', protocol: IPPROTO_SCTP, port: 9, schedName: 'lc' });
    await ctx.h.newService({ address: '2001:DB8:0::1', protocol: IPPROTO_TCP, port: 443, schedName: 'sh' });
    await ctx.h.newService({ fwMark: 7, schedName: 'wrr' });
    await ctx.h.newService({ fwMark: 8, addressFamily: AF_INET6, schedName: 'dh' });
    expect(ctx.ns.saved().sort()).toEqual([
      '-A --sctp-service 192.0.2.2:9 -s lc',
      '-A -f 7 -s wrr',
      '-A -f 8 -6 -s dh',
      '-A -t [2001:db8::1]:443 -s sh',
      '-A -u 192.0.2.1:53 -s rr',
    ]);
  });

  it.each(SCHEDULERS)('accepts the %s scheduler', async (schedName) => {
    await ctx.h.newService({ ...web, schedName });
    expect(ctx.ns.saved()).toEqual([`-A -t 192.0.2.1:80 -s ${schedName}`]);
    expect((await ctx.h.getService(web)).schedName).toBe(schedName);
  });

  it('sets persistence with timeout and IPv4 netmask, and one-packet scheduling', async () => {
    await ctx.h.newService({
      address: '192.0.2.1',
      protocol: IPPROTO_UDP,
      port: 53,
      schedName: 'rr',
      flags: SvcFlagPersistent | SvcFlagOnePacket,
      timeout: 60,
      netmask: 0xffffff00,
    });
    expect(ctx.ns.saved()).toEqual(['-A -u 192.0.2.1:53 -s rr -p 60 -M 255.255.255.0 -o']);
    const s = await ctx.h.getService({ address: '192.0.2.1', protocol: IPPROTO_UDP, port: 53 });
    expect(s).toMatchObject({
      flags: SvcFlagPersistent | SvcFlagOnePacket | SvcFlagHashed,
      timeout: 60,
      netmask: 0xffffff00,
    });
  });

  it('defaults a persistent service to 360 s, as ipvsadm does', async () => {
    await ctx.h.newService({ ...web, flags: SvcFlagPersistent });
    expect(ctx.ns.saved()).toEqual(['-A -t 192.0.2.1:80 -s wlc -p 360']);
  });

  it('sets an IPv6 persistence prefix and mh scheduler flags', async () => {
    const v6 = { address: '2001:db8::1', protocol: IPPROTO_TCP, port: 443 };
    await ctx.h.newService({
      ...v6,
      schedName: 'mh',
      flags: SvcFlagPersistent | SvcFlagMhPort,
      timeout: 100,
      netmask: 64,
    });
    expect(ctx.ns.saved()).toEqual(['-A -t [2001:db8::1]:443 -s mh -p 100 -M 64 -b mh-port']);
    expect(await ctx.h.getService(v6)).toMatchObject({ addressFamily: AF_INET6, netmask: 64, timeout: 100 });
  });

  it('sets sh scheduler flags', async () => {
    await ctx.h.newService({ ...web, schedName: 'sh', flags: SvcFlagShFallback | SvcFlagShPort });
    expect(ctx.ns.saved()).toEqual(['-A -t 192.0.2.1:80 -s sh -b sh-fallback,sh-port']);
  });

  it('sets the sip persistence engine', async () => {
    const sip = { address: '192.0.2.5', protocol: IPPROTO_UDP, port: 5060 };
    await ctx.h.newService({ ...sip, schedName: 'rr', flags: SvcFlagPersistent, peName: 'sip' });
    expect(ctx.ns.saved()).toEqual(['-A -u 192.0.2.5:5060 -s rr -p 360 --pe sip']);
    expect((await ctx.h.getService(sip)).peName).toBe('sip');
  });

  it('updates every option of a service in place', async () => {
    await ctx.h.newService({ ...web, schedName: 'rr', flags: SvcFlagPersistent, timeout: 30 });
    await ctx.h.updateService({ ...web, schedName: 'wrr' });
    expect(ctx.ns.saved()).toEqual(['-A -t 192.0.2.1:80 -s wrr']);
  });

  it('deletes a service and reports it absent', async () => {
    await ctx.h.newService(web);
    expect(await ctx.h.isServicePresent(web)).toBe(true);
    await ctx.h.delService(web);
    expect(ctx.ns.saved()).toEqual([]);
    expect(await ctx.h.isServicePresent(web)).toBe(false);
  });

  it('reads back services that ipvsadm created', async () => {
    ctx.ns.ipvsadm('-A -t 192.0.2.9:8080 -s lblc -p 120 -M 255.255.0.0');
    ctx.ns.ipvsadm('-A -u [2001:db8::9]:53 -s nq');
    ctx.ns.ipvsadm('-A -f 42 -s sed');
    const list = await ctx.h.getServices();
    const byKey = Object.fromEntries(list.map((s) => [s.fwMark || `${s.protocol}/${s.address}:${s.port}`, s]));
    expect(byKey['6/192.0.2.9:8080']).toMatchObject({
      addressFamily: 2,
      schedName: 'lblc',
      flags: SvcFlagPersistent | SvcFlagHashed,
      timeout: 120,
      netmask: 0xffff0000,
    });
    expect(byKey['17/2001:db8::9:53']).toMatchObject({ addressFamily: AF_INET6, schedName: 'nq', netmask: 128 });
    expect(byKey[42]).toMatchObject({ fwMark: 42, protocol: 0, address: '', port: 0, schedName: 'sed' });
    expect(list).toHaveLength(3);
  });

  it('flushes every service', async () => {
    await Promise.all([1, 2, 3].map((i) => ctx.h.newService({ ...web, port: i })));
    expect(ctx.ns.saved()).toHaveLength(3);
    await ctx.h.flush();
    expect(ctx.ns.saved()).toEqual([]);
    expect(await ctx.h.getServices()).toEqual([]);
  });
});
