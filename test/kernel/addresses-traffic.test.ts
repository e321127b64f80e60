// A VIP that ipvsd adds makes a masquerading service reachable: before it,
// the client's connections to the service address fail; with it on a dummy
// interface of the director, real requests are answered by the real servers
// in turn; deleted, the service is unreachable again (see topology.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAddress, deleteAddress } from '../../src/addresses/addresses.js';
import { ConnFwdMasq, IPPROTO_TCP } from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';
import { createTopology, REAL, REAL_PORT, VIP_ADDRESS, VIP_PORT, type Topology } from './topology.js';

const ctx = useIpvs();
const VIP = { address: VIP_ADDRESS, protocol: IPPROTO_TCP, port: VIP_PORT, schedName: 'rr' };
const REQUESTS = 6;
let net: Topology;

const unreachable = () => {
  try {
    net.request(1);
    return false;
  } catch {
    return true;
  }
};

describe('traffic through a VIP that ipvsd added', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns, { vip: false });
  });
  afterAll(() => net?.close());

  it('carries real requests to the real servers while the VIP is there, and none without it', async () => {
    await ctx.h.newService(VIP);
    for (const r of REAL)
      await ctx.h.newDestination(VIP, { address: r.server, port: REAL_PORT, connectionFlags: ConnFwdMasq });
    // The director does not take packets for an address it does not have: IPVS never sees them.
    expect(unreachable()).toBe(true);

    const vip = { interface: 'ipvs0', address: VIP_ADDRESS, prefixLength: 0 };
    addAddress(ctx.ns.path, vip, { createInterface: true });
    expect(ctx.ns.exec('ip -o addr show dev ipvs0')).toContain(`inet ${VIP_ADDRESS}/32`);
    const answers = net.request(REQUESTS);
    expect(answers).toHaveLength(REQUESTS);
    expect(answers.filter((a) => a === 'r1')).toHaveLength(REQUESTS / 2);
    expect(answers.filter((a) => a === 'r2')).toHaveLength(REQUESTS / 2);
    // IPVS took them: its connection entries name the VIP.
    expect(ctx.ns.ipvsadm('-Lnc')).toContain(`${VIP_ADDRESS}:${VIP_PORT}`);

    expect(deleteAddress(ctx.ns.path, vip)).toBe(1);
    expect(unreachable()).toBe(true);
  });
});
