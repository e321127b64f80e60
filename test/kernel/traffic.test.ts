// Real packets through a masquerading virtual service (see topology.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnFwdMasq, IPPROTO_TCP, Mirror, type Destination } from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';
import { createTopology, REAL, REAL_PORT, untilEstimated, VIP_ADDRESS, VIP_PORT, type Topology } from './topology.js';

const ctx = useIpvs();
const VIP = { address: VIP_ADDRESS, protocol: IPPROTO_TCP, port: VIP_PORT, schedName: 'rr' };
const REQUESTS = 6;
let net: Topology;

const byServer = (dests: Destination[]) => new Map(dests.map((d) => [d.address, d]));

describe('traffic through a masquerading virtual service', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
  });
  afterAll(() => net?.close());

  it('alternates connections between the real servers under rr, and counts them', async () => {
    await ctx.h.newService(VIP);
    for (const r of REAL)
      await ctx.h.newDestination(VIP, { address: r.server, port: REAL_PORT, connectionFlags: ConnFwdMasq });

    const answers = net.request(REQUESTS);
    expect(answers).toHaveLength(REQUESTS);
    for (let i = 1; i < answers.length; i++) expect(answers[i]).not.toBe(answers[i - 1]);
    expect(answers.filter((a) => a === 'r1')).toHaveLength(REQUESTS / 2);

    // The kernel sums its per-CPU counters in the 2 s estimator tick: they lag by up to 2 s.
    const svc = await untilEstimated(
      () => ctx.h.getService(VIP),
      (s) => s.stats.connections === REQUESTS,
    );
    expect(svc.stats.connections).toBe(REQUESTS);
    expect(svc.stats.packetsIn).toBeGreaterThanOrEqual(REQUESTS * 3);
    expect(svc.stats.packetsOut).toBeGreaterThan(0);
    expect(svc.stats.bytesIn).toBeGreaterThan(0);
    expect(svc.stats.bytesOut).toBeGreaterThan(0);

    const dests = byServer(await ctx.h.getDestinations(VIP));
    for (const r of REAL) {
      const dst = dests.get(r.server)!;
      expect(dst.stats.connections).toBe(REQUESTS / 2);
      expect(dst.stats.bytesOut).toBeGreaterThan(0);
      // Closed connections wait in TIME_WAIT/CLOSE: inactive, not active.
      expect(dst.activeConnections).toBe(0);
    }
    expect(dests.get(REAL[0].server)!.stats.connections + dests.get(REAL[1].server)!.stats.connections).toBe(
      svc.stats.connections,
    );

    // A listing without counters (Apply's) has the same configuration and zero stats.
    const full = await ctx.h.getServicesWithDestinations();
    const bare = await ctx.h.getServicesWithDestinations({ counters: false });
    expect(bare[0]!.stats.connections).toBe(0);
    expect(bare[0]!.destinations.every((d) => d.stats.connections === 0)).toBe(true);
    const strip = (l: typeof full) =>
      l.map(({ stats: _s, destinations, ...rest }) => ({
        ...rest,
        destinations: destinations.map(({ stats: _d, ...d }) => d),
      }));
    expect(strip(bare)).toEqual(strip(full));

    // ipvsadm reads the same counters.
    const line = ctx.ns
      .ipvsadm('-Ln --stats --exact')
      .split('\n')
      .find((l) => l.includes(`${VIP_ADDRESS}:${VIP_PORT}`))!;
    const [, , conns, inPkts, outPkts, inBytes, outBytes] = line.trim().split(/\s+/);
    expect([conns, inPkts, outPkts, inBytes, outBytes].map((v) => Number(v!))).toEqual([
      svc.stats.connections,
      svc.stats.packetsIn,
      svc.stats.packetsOut,
      svc.stats.bytesIn,
      svc.stats.bytesOut,
    ]);
  });

  it('moves the counters of a mirror in place, without events', async () => {
    await ctx.h.newService(VIP);
    for (const r of REAL) await ctx.h.newDestination(VIP, { address: r.server, port: REAL_PORT });
    const m = new Mirror();
    await ctx.h.refresh(m);
    const [svc] = m.services;
    const dests = [...svc!.destinations];
    expect(svc!.stats.connections).toBe(0);
    net.request(REQUESTS);
    const seen: number[] = [];
    await untilEstimated(
      async () => {
        seen.push((await ctx.h.refresh(m)).length);
        return svc!.stats.connections;
      },
      (n) => n === REQUESTS,
    );
    expect(seen.every((n) => n === 0)).toBe(true);
    expect(m.services[0]).toBe(svc);
    expect(svc!.destinations).toEqual(dests);
    expect(svc!.destinations.map((d) => d.stats.connections)).toEqual([REQUESTS / 2, REQUESTS / 2]);
    // The same counters as a fresh listing, and as ipvsadm.
    expect(m.services).toEqual(await ctx.h.getServicesWithDestinations());
    expect(ctx.ns.ipvsadm('-Ln --stats --exact')).toMatch(
      new RegExp(`TCP\\s+${VIP_ADDRESS.replaceAll('.', '\\.')}:${VIP_PORT}\\s+${REQUESTS}\\s`),
    );
  });

  it('sees rates from the kernel estimator, and zeroes the counters', async () => {
    await ctx.h.newService(VIP);
    await ctx.h.newDestination(VIP, { address: REAL[0].server, port: REAL_PORT });
    net.request(REQUESTS);
    // Each rate is its own moving average, rounded: an estimator tick that saw only a packet or two shows bytes per
    // second before packets per second.
    const { stats } = await untilEstimated(
      () => ctx.h.getService(VIP),
      (s) => s.stats.bpsIn > 0 && s.stats.ppsIn > 0,
    );
    expect(stats.bpsIn).toBeGreaterThan(0);
    expect(stats.ppsIn).toBeGreaterThan(0);

    await ctx.h.zero(VIP);
    const zeroed = (await ctx.h.getService(VIP)).stats;
    expect([zeroed.connections, zeroed.packetsIn, zeroed.bytesIn]).toEqual([0, 0, 0]);
    expect(ctx.ns.ipvsadm('-Ln --stats --exact')).toMatch(/TCP\s+192\.0\.2\.10:80\s+0\s+0\s+0\s+0\s+0/);
  });
});
