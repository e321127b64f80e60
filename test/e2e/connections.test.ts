// ListConnections through the TS client, and `ipvsctl list -c`, against
// `ipvsadm -Lnc` on the same kernel state: real TCP connections held open
// through a VIP (test/kernel/topology.ts). Every column but the expiry is
// byte for byte; the expiry counts down while ipvsadm and ipvsctl read it
// (a second may tick between them), so ipvsadm reads it just before and just
// after, and ipvsctl's must lie between the two readings.
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForwardingMethod, Protocol, status, type Connection } from '../../src/client/index.js';
import { holdConnections, holdingServer, sendUdp } from '../kernel/clients.js';
import { createTopology, REAL, VIP_ADDRESS, type Topology } from '../kernel/topology.js';
import { failure, ipvsctl, useServer } from './helpers.js';

const ctx = useServer();
const PORT = 90;
const REAL_PORT = 9090;
let net: Topology;
const listeners: ChildProcess[] = [];
const held: ChildProcess[] = [];

const seconds = (mmss: string) => Number(mmss.split(':')[0]) * 60 + Number(mmss.split(':')[1]);
/** An ipvsadm -Lnc entry line without its expiry, and the expiry. */
const split = (line: string) => ({ rest: `${line.slice(0, 4)}${line.slice(10)}`, expiry: seconds(line.slice(4, 10)) });

function expectSameListing(ours: string, before: string, after: string) {
  const [a, b, c] = [ours, before, after].map((t) => t.split('\n'));
  expect(a!.slice(0, 2)).toEqual(b!.slice(0, 2));
  expect(a!.slice(2).map((l) => split(l).rest)).toEqual(b!.slice(2).map((l) => split(l).rest));
  expect(c!.slice(2).map((l) => split(l).rest)).toEqual(b!.slice(2).map((l) => split(l).rest));
  for (const [i, l] of a!.slice(2).entries()) {
    if (!l) continue;
    expect(split(l).expiry).toBeLessThanOrEqual(split(b![i + 2]!).expiry);
    expect(split(l).expiry).toBeGreaterThanOrEqual(split(c![i + 2]!).expiry);
  }
}

const ns = () => ctx.ns.name;
async function all(req: Parameters<typeof ctx.client.listAllConnections>[0] = {}): Promise<Connection[]> {
  const out: Connection[] = [];
  for await (const c of ctx.client.listAllConnections({ namespace: ns(), ...req })) out.push(c);
  return out;
}

/** The TCP service at the VIP's PORT, masquerading to both real servers' holding listeners. */
async function heldService() {
  const service = { protocol: Protocol.TCP, address: VIP_ADDRESS, port: PORT };
  await ctx.client.createService({ namespace: ns(), service: { id: service, schedName: 'rr' } });
  for (const r of REAL)
    await ctx.client.createDestination({
      namespace: ns(),
      service,
      destination: { address: r.server, port: REAL_PORT, forwardingMethod: ForwardingMethod.MASQ_UNSPECIFIED },
    });
  return service;
}

describe('the connection table through the server', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
    for (const [i, r] of REAL.entries()) listeners.push(await holdingServer(net.servers[i]!, r.server, REAL_PORT));
  });
  afterEach(() => {
    for (const p of held.splice(0)) p.kill();
  });
  afterAll(() => {
    for (const p of listeners) p.kill();
    net?.close();
  });

  it('lists what ipvsadm -Lnc lists, and ipvsctl list -c prints it as ipvsadm does', async () => {
    const service = await heldService();
    held.push(await holdConnections(net.client, VIP_ADDRESS, PORT, 4));
    await sendUdp(net.client, VIP_ADDRESS, 53, 43000, 2); // no service: no entries

    const theirs = ctx.ns.ipvsadm('-Lnc');
    const cli = await ipvsctl(ctx, ['list', '-c']);
    expect(cli.err).toBe('');
    expect(cli.code).toBe(0);
    expectSameListing(cli.out, theirs, ctx.ns.ipvsadm('-Lnc'));
    expect(cli.out.trimEnd().split('\n')).toHaveLength(2 + 4);

    const entries = await all();
    expect(entries).toHaveLength(4);
    for (const c of entries) {
      expect(c).toMatchObject({
        protocol: Protocol.TCP,
        clientAddress: '198.51.100.2',
        virtualAddress: VIP_ADDRESS,
        virtualPort: PORT,
        destinationPort: REAL_PORT,
        state: 'ESTABLISHED',
        template: false,
        // Masquerading, from the destination it went to.
        forwardingMethod: ForwardingMethod.MASQ_UNSPECIFIED,
      });
      expect(theirs).toContain(`198.51.100.2:${c.clientPort} `);
    }

    // Its destination deleted, an entry's forwarding method is no longer known.
    await ctx.client.deleteDestination({
      namespace: ns(),
      service,
      destination: { address: REAL[0].server, port: REAL_PORT },
    });
    const after = await all({ destinationAddress: REAL[0].server });
    expect(after).toHaveLength(2);
    expect(after.map((c) => c.forwardingMethod)).toEqual([undefined, undefined]);
  });

  it('filters narrow the entries; a bad filter or token is INVALID_ARGUMENT naming its field', async () => {
    await heldService();
    held.push(await holdConnections(net.client, VIP_ADDRESS, PORT, 4));
    const established = (await all()).filter((c) => c.state === 'ESTABLISHED');
    expect(established.length).toBeGreaterThanOrEqual(4);

    const r1 = await all({ destinationAddress: REAL[0].server, destinationPort: REAL_PORT, states: ['established'] });
    expect(r1).toHaveLength(established.filter((c) => c.destinationAddress === REAL[0].server).length);
    expect(r1.every((c) => c.destinationAddress === REAL[0].server)).toBe(true);
    expect(await all({ protocol: Protocol.UDP })).toEqual([]);
    expect(await all({ virtualAddress: '192.0.2.99' })).toEqual([]);
    expect(await all({ virtualPort: PORT, states: ['SYN_RECV'] })).toEqual([]);

    const bad = async (req: Parameters<typeof ctx.client.listConnections>[0], field: string) => {
      const e = await failure(ctx.client.listConnections({ namespace: ns(), ...req }));
      expect([e.code, e.field]).toEqual([status.INVALID_ARGUMENT, field]);
    };
    await bad({ virtualAddress: 'vip' }, 'virtual_address');
    await bad({ destinationAddress: '203.0.113.300' }, 'destination_address');
    await bad({ virtualPort: 65536 }, 'virtual_port');
    await bad({ states: ['ESTABLISHED', 'not a state'] }, 'states[1]');
    await bad({ pageSize: -1 }, 'page_size');
    await bad({ pageToken: 'not-a-token' }, 'page_token');
    const first = await ctx.client.listConnections({ namespace: ns(), pageSize: 1 });
    expect(first.nextPageToken).not.toBe('');
    await bad({ pageSize: 1, pageToken: first.nextPageToken, states: ['ESTABLISHED'] }, 'page_token');
  });

  it('pages: page_size 1 sees every entry exactly once over an unchanging table', async () => {
    const service = { protocol: Protocol.UDP, address: VIP_ADDRESS, port: 53 };
    await ctx.client.createService({ namespace: ns(), service: { id: service, schedName: 'rr' } });
    await ctx.client.createDestination({
      namespace: ns(),
      service,
      destination: { address: REAL[0].server, port: 53 },
    });
    await sendUdp(net.client, VIP_ADDRESS, 53, 44000, 25);
    const req = { namespace: ns(), protocol: Protocol.UDP, virtualPort: 53 };
    const ports: number[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await ctx.client.listConnections({ ...req, pageSize: 1, pageToken });
      expect(page.connections).toHaveLength(1);
      ports.push(page.connections[0]!.clientPort);
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(25);
    expect(ports.sort()).toEqual(Array.from({ length: 25 }, (_, i) => 44000 + i));
  });
});
