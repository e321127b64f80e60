// Traffic that leaves state behind, for comparing list views: on top of
// topology.ts (IPv4), IPv6 on the same links, firewall marks set by tc on
// the director's client-facing link, and real servers that send as many
// bytes as asked and then keep the connection open. A client pulls its
// bytes and holds every connection, so that the connection counts
// (ActiveConn, InActConn, PersistConn) stay put while views are compared;
// UDP entries live as long as the UDP timeout.
//
//   client 198.51.100.2, 2001:db8:c::2 ── director (VIPs 192.0.2.10, 192.0.2.20,
//                                                   2001:db8:10::10, 2001:db8:10::20 on lo)
//   r1 203.0.113.2, 2001:db8:1::2 ── director ── r2 203.0.113.6, 2001:db8:2::2
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Netns } from '../kernel/helpers.js';
import type { Topology } from '../kernel/topology.js';

export const BULK_PORT = 9090;
export const ECHO_PORT = 5353;
export const REAL6 = ['2001:db8:1::2', '2001:db8:2::2'] as const;
/** Marked 7 by tc on arrival at the director: the firewall-mark services' VIPs. */
export const MARKED = { v4: '192.0.2.20', v6: '2001:db8:10::20' } as const;
export const VIP6 = '2001:db8:10::10';
/** The longest a load step may take; every loop below is bounded by it. */
const LIMIT_MS = 240_000;

/** IPv6 addresses and routes beside topology.ts's IPv4 ones, the marking VIPs, and tc marking them. */
export function addIpv6AndMarks(director: Netns, net: Topology): void {
  director.exec(
    [
      'ip -6 addr add 2001:db8:c::1/64 dev d0 nodad',
      ...REAL6.map((_, i) => `ip -6 addr add 2001:db8:${i + 1}::1/64 dev v${i} nodad`),
      `ip -6 addr add ${VIP6}/128 dev lo`,
      `ip -6 addr add ${MARKED.v6}/128 dev lo`,
      `ip addr add ${MARKED.v4}/32 dev lo`,
      'sysctl -qw net.ipv6.conf.all.forwarding=1',
      'tc qdisc add dev d0 clsact',
      `tc filter add dev d0 ingress protocol ip flower dst_ip ${MARKED.v4} action skbedit mark 7`,
      `tc filter add dev d0 ingress protocol ipv6 flower dst_ip ${MARKED.v6} action skbedit mark 7`,
    ].join(' && '),
  );
  net.client.exec('ip -6 addr add 2001:db8:c::2/64 dev c0 nodad && ip -6 route add 2001:db8:10::/64 via 2001:db8:c::1');
  for (const [i, a] of REAL6.entries())
    net.servers[i]!.exec(
      `ip -6 addr add ${a}/64 dev s${i} nodad && ip -6 route add 2001:db8:c::/64 via 2001:db8:${i + 1}::1`,
    );
}

/** Runs `code` with node inside `ns`; resolves once it prints `word`, and the process is left running. */
async function startIn(ns: Netns, code: string, word: string, args: string[] = []): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', code, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => p.kill(), LIMIT_MS);
  let out = '';
  p.stdout!.on('data', (d) => {
    out += d;
  });
  const exited = once(p, 'exit').then(() => true);
  while (!out.includes(word)) if (await Promise.race([once(p.stdout!, 'data').then(() => false), exited])) break;
  clearTimeout(timer);
  if (!out.includes(word)) throw new Error(`${ns.name}: no ${word}: ${out}`);
  return p;
}

// Reads a byte count and a newline, sends that many bytes, keeps the connection; echoes UDP.
const SERVER = `
const net = require('net'), dgram = require('dgram');
const chunk = Buffer.alloc(65536, 120);
const tcp = net.createServer((s) => {
  s.on('error', () => {});
  let head = '';
  s.on('data', function ask(d) {
    head += d;
    if (!head.includes('\\n')) return;
    s.off('data', ask);
    let left = Number(head.slice(0, head.indexOf('\\n')));
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!s.write(chunk.subarray(0, n))) return void s.once('drain', pump);
      }
    };
    pump();
  });
});
const udp = dgram.createSocket('udp4').on('message', (m, r) => udp.send(m, r.port, r.address));
let ready = 0;
const up = () => { if (++ready === 2) console.log('ready'); };
tcp.listen(${BULK_PORT}, '::', up);
udp.bind(${ECHO_PORT}, up);`;

/** Starts the bulk and echo servers in both real servers' namespaces. */
export function startBulkServers(net: Topology): Promise<ChildProcess[]> {
  return Promise.all(net.servers.map((ns) => startIn(ns, SERVER, 'ready')));
}

export interface Plan {
  /** Connections, one after another: each asks for `bytes` and is then held open. */
  tcp: { host: string; port: number; count: number; bytes: number }[];
  /** Datagrams, each from a socket of its own (so each is a connection entry), answered by the echo server. */
  udp: { host: string; port: number; count: number }[];
}

// Follows a Plan, prints "done", and holds every socket until killed.
const CLIENT = `
const net = require('net'), dgram = require('dgram');
const plan = JSON.parse(process.argv[1]);
const held = [];
const pull = (host, port, bytes, tries = 40) => new Promise((resolve, reject) => {
  const s = net.connect(port, host);
  let got = 0;
  s.setTimeout(${LIMIT_MS}, () => s.destroy(new Error('timeout')));
  // A refusal while the namespaces' IPv6 routes settle is tried again, for at most 10 s.
  s.on('error', (e) => e.code === 'ECONNREFUSED' && !got && tries > 1
    ? setTimeout(() => pull(host, port, bytes, tries - 1).then(resolve, reject), 250)
    : reject(e)).on('connect', () => s.write(bytes + '\\n'));
  s.on('data', (d) => {
    got += d.length;
    if (got >= bytes) { s.setTimeout(0); held.push(s); resolve(); }
  });
});
const ping = (host, port) => new Promise((resolve, reject) => {
  const u = dgram.createSocket('udp4');
  const timer = setTimeout(() => reject(new Error('no echo')), 10000);
  u.on('message', () => { clearTimeout(timer); held.push(u); resolve(); });
  u.send('ping', port, host);
});
(async () => {
  for (const t of plan.tcp) for (let i = 0; i < t.count; i++) await pull(t.host, t.port, t.bytes);
  for (const t of plan.udp) for (let i = 0; i < t.count; i++) await ping(t.host, t.port);
  console.log('done');
  setInterval(() => {}, 1 << 30);
})().catch((e) => { console.error(e); process.exit(1); });`;

/** Runs `plan` from the client's namespace; resolves when every byte has arrived, the connections still held. */
export function runPlan(net: Topology, plan: Plan): Promise<ChildProcess> {
  return startIn(net.client, CLIENT, 'done', [JSON.stringify(plan)]);
}
