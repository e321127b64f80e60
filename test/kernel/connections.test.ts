// The connection table, read from /proc/net/ip_vs_conn inside the namespace:
// real connections through a VIP (topology.ts) appear with the fields
// `ipvsadm -Lnc` shows, filters narrow them, persistence templates are
// marked, IPv6 entries parse, and each namespace sees only its own.
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CONNECTION_HEADER,
  ConnFwdMasq,
  Handle,
  IPPROTO_TCP,
  IPPROTO_UDP,
  readConnections,
  SvcFlagPersistent,
  type Connection,
  type ConnectionFilter,
} from '../../src/ipvs/index.js';
import { forwardingMethods } from '../../src/ipvs/connections.js';
import { openNetFile, eachLine } from '../../src/procfs/net-file.js';
import { closeSync } from 'node:fs';
import { holdConnections, holdingServer, sendUdp } from './clients.js';
import { createNetns, type Netns } from './helpers.js';
import { useIpvs } from './helpers.js';
import { createTopology, REAL, VIP_ADDRESS, type Topology } from './topology.js';

const ctx = useIpvs();
const HELD_PORT = 90;
const HOLD_PORT = 9090;
const HELD = { address: VIP_ADDRESS, protocol: IPPROTO_TCP, port: HELD_PORT, schedName: 'rr' };
let net: Topology;
/** This test's processes, killed after it. */
const children: ChildProcess[] = [];
/** The real servers' holding listeners, for the whole file. */
const listeners: ChildProcess[] = [];

async function list(netns: string, filter: ConnectionFilter = {}): Promise<Connection[]> {
  const out: Connection[] = [];
  await readConnections(netns, 0, filter, (c) => out.push(c) > 0);
  return out;
}

/** `ipvsadm -Lnc` entry lines, split in columns. */
function ipvsadmEntries(ns: Netns): string[][] {
  const lines = ns.ipvsadm('-Lnc').trimEnd().split('\n');
  expect(lines.slice(0, 2)).toEqual([
    'IPVS connection entries',
    'pro expire state       source             virtual            destination',
  ]);
  return lines.slice(2).map((l) => l.trim().split(/\s+/));
}

const hostPort = (family: number, address: string, port: number) =>
  family === 10 ? `[${address}]:${port}` : `${address}:${port}`;
/** An entry in ipvsadm -Lnc's columns, but the expiry. */
const columns = (c: Connection) => [
  c.protocol === IPPROTO_TCP ? 'TCP' : c.protocol === IPPROTO_UDP ? 'UDP' : String(c.protocol),
  c.state,
  hostPort(c.addressFamily, c.clientAddress, c.clientPort),
  hostPort(c.addressFamily, c.virtualAddress, c.virtualPort),
  hostPort(c.destinationAddressFamily, c.destinationAddress, c.destinationPort),
];
const seconds = (mmss: string) => Number(mmss.split(':')[0]) * 60 + Number(mmss.split(':')[1]);

const key = (cols: string[]) => cols.join(' ');

/**
 * Our reading and ipvsadm's agree entry for entry (ours read just after, so an expiry may be up to 2 s lower). An
 * entry of an earlier test may expire between the two readings: then both are read again, up to 3 times.
 */
async function expectAsIpvsadm(ns: Netns, netns: string): Promise<Connection[]> {
  for (let attempt = 1; ; attempt++) {
    const theirs = ipvsadmEntries(ns);
    const ours = await list(netns);
    const expected = theirs.map(([p, , s, c, v, d]) => key([p!, s!, c!, v!, d!])).sort();
    const got = ours.map((c) => key(columns(c))).sort();
    if (attempt < 3 && JSON.stringify(got) !== JSON.stringify(expected)) continue;
    expect(got).toEqual(expected);
    const expiry = new Map(theirs.map(([p, e, s, c, v, d]) => [key([p!, s!, c!, v!, d!]), seconds(e!)]));
    for (const c of ours) {
      const t = expiry.get(key(columns(c)))!;
      expect(c.expiresSeconds).toBeLessThanOrEqual(t);
      expect(c.expiresSeconds).toBeGreaterThanOrEqual(t - 2);
    }
    return ours;
  }
}

describe('the connection table', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
    for (const [i, r] of REAL.entries()) listeners.push(await holdingServer(net.servers[i]!, r.server, HOLD_PORT));
  });
  afterEach(() => {
    for (const p of children.splice(0)) p.kill();
  });
  afterAll(() => {
    for (const p of listeners) p.kill();
    net?.close();
  });

  it('shows real connections through a VIP as ipvsadm -Lnc does, and its filters narrow them', async () => {
    await ctx.h.newService(HELD);
    for (const r of REAL)
      await ctx.h.newDestination(HELD, { address: r.server, port: HOLD_PORT, connectionFlags: ConnFwdMasq });
    children.push(await holdConnections(net.client, VIP_ADDRESS, HELD_PORT, 4));

    const all = await expectAsIpvsadm(ctx.ns, ctx.ns.path);
    const held = all.filter((c) => c.virtualPort === HELD_PORT);
    expect(held).toHaveLength(4);
    for (const c of held) {
      expect(c).toMatchObject({
        protocol: IPPROTO_TCP,
        addressFamily: 2,
        clientAddress: '198.51.100.2',
        virtualAddress: VIP_ADDRESS,
        virtualPort: HELD_PORT,
        destinationPort: HOLD_PORT,
        state: 'ESTABLISHED',
        template: false,
        fwMark: 0,
        peName: '',
        peData: '',
      });
      // The tcp timeout (900 s by default) less what has passed.
      expect(c.expiresSeconds).toBeGreaterThan(800);
      expect(c.expiresSeconds).toBeLessThanOrEqual(900);
    }
    expect(held.filter((c) => c.destinationAddress === REAL[0].server)).toHaveLength(2);

    // Filters: each narrows to what it names, and names nothing else.
    const r1 = await list(ctx.ns.path, { destinationAddress: REAL[0].server });
    expect(r1.map((c) => c.destinationAddress)).toEqual([REAL[0].server, REAL[0].server]);
    expect(await list(ctx.ns.path, { destinationAddress: REAL[0].server, destinationPort: 1 })).toEqual([]);
    expect(await list(ctx.ns.path, { states: new Set(['ESTABLISHED']) })).toHaveLength(4);
    expect(await list(ctx.ns.path, { states: new Set(['TIME_WAIT', 'CLOSE']) })).toEqual([]);
    expect(await list(ctx.ns.path, { protocol: IPPROTO_UDP })).toEqual([]);
    expect(await list(ctx.ns.path, { virtualAddress: VIP_ADDRESS, virtualPort: HELD_PORT })).toHaveLength(4);
    expect(await list(ctx.ns.path, { virtualPort: HELD_PORT + 1 })).toEqual([]);
    expect(await list(ctx.ns.path, { templates: 'only' })).toEqual([]);
    expect(await list(ctx.ns.path, { templates: 'exclude' })).toHaveLength(4);

    // The forwarding method, from the destinations the namespace has now.
    const methodOf = forwardingMethods(await ctx.h.getServicesWithDestinations({ counters: false }));
    expect(methodOf(2, REAL[0].server, HOLD_PORT)).toBe(ConnFwdMasq);
    expect(methodOf(2, REAL[0].server, HOLD_PORT + 1)).toBeUndefined();

    // A page resumes at the entry it stopped before.
    const firstTwo: Connection[] = [];
    const next = await readConnections(ctx.ns.path, 0, {}, (c) => firstTwo.length < 2 && firstTwo.push(c) > 0);
    expect(next).toBe(2);
    const keys = (l: Connection[]) => l.map((c) => key(columns(c)));
    expect(keys([...firstTwo, ...(await listFrom(next!))])).toEqual(keys(await list(ctx.ns.path)));
  });

  it('marks persistence templates, as the kernel writes them: client port 0, state NONE or ASSURED', async () => {
    const persistent = { ...HELD, flags: SvcFlagPersistent, timeout: 120 };
    await ctx.h.newService(persistent);
    await ctx.h.newDestination(persistent, { address: REAL[1].server, port: HOLD_PORT });
    children.push(await holdConnections(net.client, VIP_ADDRESS, HELD_PORT, 2));
    const all = await expectAsIpvsadm(ctx.ns, ctx.ns.path);
    const templates = all.filter((c) => c.template);
    expect(templates).toHaveLength(1);
    expect(templates[0]).toMatchObject({ clientPort: 0, virtualPort: HELD_PORT, destinationAddress: REAL[1].server });
    expect(['NONE', 'ASSURED']).toContain(templates[0]!.state);
    expect(templates[0]!.expiresSeconds).toBeLessThanOrEqual(120);
    expect((await list(ctx.ns.path, { templates: 'only' })).map((c) => key(columns(c)))).toEqual(
      templates.map((c) => key(columns(c))),
    );
    expect((await list(ctx.ns.path, { templates: 'exclude' })).every((c) => !c.template && c.clientPort !== 0)).toBe(
      true,
    );
  });

  it('reads IPv6 entries, and a UDP entry per client port', async () => {
    net.client.exec('ip addr add 2001:db8:1::2/64 dev c0 nodad && ip route add 2001:db8:10::/64 via 2001:db8:1::1');
    ctx.ns.exec('ip addr add 2001:db8:1::1/64 dev d0 nodad && ip addr add 2001:db8:10::10/128 dev lo');
    ctx.ns.exec('ip addr add 2001:db8:2::1/64 dev v0 nodad');
    const vip = { address: '2001:db8:10::10', protocol: IPPROTO_UDP, port: 53, schedName: 'rr' };
    await ctx.h.newService(vip);
    await ctx.h.newDestination(vip, { address: '2001:db8:2::2', port: 5353 });
    await sendUdp(net.client, '2001:db8:10::10', 53, 40001, 3);
    const all = await expectAsIpvsadm(ctx.ns, ctx.ns.path);
    const udp = all.filter((c) => c.protocol === IPPROTO_UDP);
    expect(udp.map((c) => c.clientPort).sort()).toEqual([40001, 40002, 40003]);
    for (const c of udp)
      expect(c).toMatchObject({
        addressFamily: 10,
        clientAddress: '2001:db8:1::2',
        virtualAddress: '2001:db8:10::10',
        virtualPort: 53,
        destinationAddressFamily: 10,
        destinationAddress: '2001:db8:2::2',
        destinationPort: 5353,
        state: 'UDP',
        template: false,
      });
    expect(await list(ctx.ns.path, { virtualAddress: '2001:db8:10::10' })).toHaveLength(3);
  });

  it('reads the namespace it is given: the file is bound to the namespace at open', async () => {
    const other = createNetns('o');
    const h = new Handle(other.path);
    try {
      // A client in the namespace itself: IPVS schedules locally sent packets too.
      other.exec(
        'ip addr add 192.0.2.20/32 dev lo && ip link add x0 type dummy && ip link set x0 up && ip addr add 203.0.113.9/30 dev x0',
      );
      const vip = { address: '192.0.2.20', protocol: IPPROTO_UDP, port: 53, schedName: 'rr' };
      await h.newService(vip);
      await h.newDestination(vip, { address: '203.0.113.10', port: 53 });
      await sendUdp(other, '192.0.2.20', 53, 41000, 1);
      await ctx.h.newService({ ...vip, address: VIP_ADDRESS });
      await ctx.h.newDestination({ ...vip, address: VIP_ADDRESS }, { address: REAL[0].server, port: 53 });
      await sendUdp(net.client, VIP_ADDRESS, 53, 42000, 1);

      const theirs = await expectAsIpvsadm(other, other.path);
      expect(theirs.map((c) => `${c.clientPort} ${c.virtualAddress}`)).toEqual(['41000 192.0.2.20']);
      const ours = (await list(ctx.ns.path)).filter((c) => c.protocol === IPPROTO_UDP && c.virtualPort === 53);
      expect(ours.map((c) => `${c.clientPort} ${c.virtualAddress}`)).toContain(`42000 ${VIP_ADDRESS}`);
      expect(ours.some((c) => c.virtualAddress === '192.0.2.20')).toBe(false);

      // Opened inside, read outside: still the other namespace's table.
      const fd = openNetFile(other.path, 'ip_vs_conn');
      const lines: string[] = [];
      try {
        await eachLine(fd, (l) => lines.push(l) > 0, 16);
      } finally {
        closeSync(fd);
      }
      // 41000 is A028, 192.0.2.20 C0000214: the other namespace's one entry, read 16 bytes at a time.
      expect(lines).toEqual([CONNECTION_HEADER, expect.stringMatching(/^UDP [0-9A-F]{8} A028 C0000214 0035 /)]);
    } finally {
      h.close();
      other.remove();
    }
  });

  it('a namespace that does not exist is ENOENT', async () => {
    await expect(list('/run/netns/no-such-namespace')).rejects.toMatchObject({ errno: 'ENOENT' });
  });
});

async function listFrom(from: number): Promise<Connection[]> {
  const out: Connection[] = [];
  await readConnections(ctx.ns.path, from, {}, (c) => out.push(c) > 0);
  return out;
}
