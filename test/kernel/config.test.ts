import { describe, expect, it } from 'vitest';
import { DaemonStateBackup, DaemonStateMaster, IPPROTO_TCP } from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();

describe('configuration, information and daemons', () => {
  it('reads the version and connection table size', async () => {
    expect(await ctx.h.getInfo()).toEqual({ version: '1.2.1', versionCode: 0x010201, connectionTableSize: 4096 });
    expect(ctx.ns.ipvsadm('-Ln')).toContain('IP Virtual Server version 1.2.1 (size=4096)');
  });

  it('gets and sets timeouts; 0 leaves one unchanged', async () => {
    const before = await ctx.h.getConfig();
    expect(ctx.ns.ipvsadm('-L --timeout').trim()).toBe(
      `Timeout (tcp tcpfin udp): ${before.timeoutTcp} ${before.timeoutTcpFin} ${before.timeoutUdp}`,
    );
    await ctx.h.setConfig({ timeoutTcp: 1000, timeoutTcpFin: 0, timeoutUdp: 30 });
    expect(await ctx.h.getConfig()).toEqual({ timeoutTcp: 1000, timeoutTcpFin: before.timeoutTcpFin, timeoutUdp: 30 });
    expect(ctx.ns.ipvsadm('-L --timeout').trim()).toBe(`Timeout (tcp tcpfin udp): 1000 ${before.timeoutTcpFin} 30`);
    await ctx.h.setConfig(before);
  });

  it('zeroes one service, or all', async () => {
    const a = { address: '192.0.2.1', protocol: IPPROTO_TCP, port: 1 };
    await ctx.h.newService(a);
    await ctx.h.zero(a);
    await ctx.h.zero();
    expect((await ctx.h.getService(a)).stats.connections).toBe(0);
  });

  it('starts, lists and stops sync daemons', async () => {
    ctx.ns.exec(
      'ip link add s0 type veth peer name s1 && ip addr add 192.0.2.100/24 dev s0 && ip link set s0 up && ip link set s1 up',
    );
    await ctx.h.startDaemon({ state: DaemonStateMaster, mcastInterface: 's0', syncId: 7 });
    await ctx.h.startDaemon({
      state: DaemonStateBackup,
      mcastInterface: 's0',
      syncId: 8,
      mcastPort: 8850,
      mcastTtl: 2,
      mcastGroup: '239.1.2.3',
    });
    const daemons = await ctx.h.getDaemons();
    expect(daemons.find((d) => d.state === DaemonStateMaster)).toMatchObject({ mcastInterface: 's0', syncId: 7 });
    expect(daemons.find((d) => d.state === DaemonStateBackup)).toMatchObject({
      mcastInterface: 's0',
      syncId: 8,
      mcastPort: 8850,
      mcastTtl: 2,
      mcastGroup: '239.1.2.3',
    });
    const listed = ctx.ns.ipvsadm('-L --daemon');
    expect(listed).toContain('master sync daemon (mcast=s0, syncid=7');
    expect(listed).toContain('backup sync daemon (mcast=s0, syncid=8');
    await ctx.h.stopDaemon(DaemonStateMaster);
    await ctx.h.stopDaemon(DaemonStateBackup);
    expect(await ctx.h.getDaemons()).toEqual([]);
  });
});
