// Real packets through a real virtual service: a client namespace, this
// file's namespace as the director, two real servers behind veth pairs.
//
//   client 198.51.100.2 ── 198.51.100.1 director (VIP 192.0.2.10 on lo)
//                                 203.0.113.1 ── 203.0.113.2 real server r1
//                                 203.0.113.5 ── 203.0.113.6 real server r2
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnFwdMasq, IPPROTO_TCP, type Destination } from '../../src/ipvs/index.js';
import { createNetns, sh, useIpvs, type Netns } from './helpers.js';

const ctx = useIpvs();
const VIP = { address: '192.0.2.10', protocol: IPPROTO_TCP, port: 80, schedName: 'rr' };
const REAL = [
  { name: 'r1', director: '203.0.113.1', server: '203.0.113.2' },
  { name: 'r2', director: '203.0.113.5', server: '203.0.113.6' },
];
const REQUESTS = 6;

let client: Netns;
const servers: Netns[] = [];
const processes: ChildProcess[] = [];

/** Starts a TCP server inside `ns` that answers every connection with its name; resolves once it listens. */
async function startServer(ns: Netns, name: string, address: string): Promise<void> {
  const code = `require('net').createServer((s) => s.end('${name}')).listen(8080, '${address}', () => console.log('ready'))`;
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  processes.push(p);
  const [data] = await Promise.race([
    once(p.stdout!, 'data'),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`server ${name} did not start`)), 20_000)),
  ]);
  expect(String(data)).toContain('ready');
}

/** Makes `count` connections to the VIP from the client namespace, one after another; returns who answered each. */
function request(count: number): string[] {
  const code = `
    const net = require('net');
    (async () => {
      const out = [];
      for (let i = 0; i < ${count}; i++) {
        out.push(await new Promise((resolve, reject) => {
          const s = net.connect(80, '${VIP.address}');
          let body = '';
          s.setTimeout(5000, () => s.destroy(new Error('timeout')));
          s.on('data', (d) => { body += d; }).on('end', () => resolve(body)).on('error', reject);
        }));
      }
      console.log(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return JSON.parse(sh(`ip netns exec ${client.name} '${process.execPath}' -e "${code.replaceAll('"', '\\"')}"`));
}

/** Polls `read` until `done` holds, for at most three estimator ticks; returns the last reading. */
async function untilEstimated<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 30 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 200));
    v = await read();
  }
  return v;
}

const byServer = (dests: Destination[]) => new Map(dests.map((d) => [d.address, d]));

describe('traffic through a masquerading virtual service', () => {
  beforeAll(async () => {
    const d = ctx.ns.name;
    client = createNetns('c');
    sh(`ip link add c0 netns ${client.name} type veth peer name d0 netns ${d}`);
    client.exec('ip addr add 198.51.100.2/24 dev c0 && ip link set c0 up && ip route add 192.0.2.0/24 via 198.51.100.1');
    ctx.ns.exec('ip addr add 198.51.100.1/24 dev d0 && ip link set d0 up && ip addr add 192.0.2.10/32 dev lo && sysctl -qw net.ipv4.ip_forward=1');
    for (const [i, r] of REAL.entries()) {
      const ns = createNetns(r.name);
      servers.push(ns);
      sh(`ip link add s${i} netns ${ns.name} type veth peer name v${i} netns ${d}`);
      ctx.ns.exec(`ip addr add ${r.director}/30 dev v${i} && ip link set v${i} up`);
      ns.exec(`ip addr add ${r.server}/30 dev s${i} && ip link set s${i} up && ip route add 198.51.100.0/24 via ${r.director}`);
      await startServer(ns, r.name, r.server);
    }
  });

  afterAll(() => {
    for (const p of processes) p.kill();
    for (const ns of [client, ...servers]) ns?.remove();
  });

  it('alternates connections between the real servers under rr, and counts them', async () => {
    await ctx.h.newService(VIP);
    for (const r of REAL) await ctx.h.newDestination(VIP, { address: r.server, port: 8080, connectionFlags: ConnFwdMasq });

    const answers = request(REQUESTS);
    expect(answers).toHaveLength(REQUESTS);
    for (let i = 1; i < answers.length; i++) expect(answers[i]).not.toBe(answers[i - 1]);
    expect(answers.filter((a) => a === 'r1')).toHaveLength(REQUESTS / 2);

    // The kernel sums its per-CPU counters in the 2 s estimator tick: they lag by up to 2 s.
    const svc = await untilEstimated(() => ctx.h.getService(VIP), (s) => s.stats.connections === BigInt(REQUESTS));
    expect(svc.stats.connections).toBe(BigInt(REQUESTS));
    expect(svc.stats.packetsIn).toBeGreaterThanOrEqual(BigInt(REQUESTS * 3));
    expect(svc.stats.packetsOut).toBeGreaterThan(0n);
    expect(svc.stats.bytesIn).toBeGreaterThan(0n);
    expect(svc.stats.bytesOut).toBeGreaterThan(0n);

    const dests = byServer(await ctx.h.getDestinations(VIP));
    for (const r of REAL) {
      const dst = dests.get(r.server)!;
      expect(dst.stats.connections).toBe(BigInt(REQUESTS / 2));
      expect(dst.stats.bytesOut).toBeGreaterThan(0n);
      // Closed connections wait in TIME_WAIT/CLOSE: inactive, not active.
      expect(dst.activeConnections).toBe(0);
    }
    expect(dests.get(REAL[0]!.server)!.stats.connections + dests.get(REAL[1]!.server)!.stats.connections).toBe(svc.stats.connections);

    // ipvsadm reads the same counters.
    const line = ctx.ns.ipvsadm('-Ln --stats --exact').split('\n').find((l) => l.includes('192.0.2.10:80'))!;
    const [, , conns, inPkts, outPkts, inBytes, outBytes] = line.trim().split(/\s+/);
    expect([conns, inPkts, outPkts, inBytes, outBytes].map((v) => BigInt(v!)))
      .toEqual([svc.stats.connections, svc.stats.packetsIn, svc.stats.packetsOut, svc.stats.bytesIn, svc.stats.bytesOut]);
  });

  it('sees rates from the kernel estimator, and zeroes the counters', async () => {
    await ctx.h.newService(VIP);
    await ctx.h.newDestination(VIP, { address: REAL[0]!.server, port: 8080 });
    request(REQUESTS);
    const { stats } = await untilEstimated(() => ctx.h.getService(VIP), (s) => s.stats.bpsIn > 0n);
    expect(stats.bpsIn).toBeGreaterThan(0n);
    expect(stats.ppsIn).toBeGreaterThan(0n);

    await ctx.h.zero(VIP);
    const zeroed = (await ctx.h.getService(VIP)).stats;
    expect([zeroed.connections, zeroed.packetsIn, zeroed.bytesIn]).toEqual([0n, 0n, 0n]);
    expect(ctx.ns.ipvsadm('-Ln --stats --exact')).toMatch(/TCP\s+192\.0\.2\.10:80\s+0\s+0\s+0\s+0\s+0/);
  });
});
