// Real packets through a real virtual service: a client namespace, a
// director namespace (the caller's, where IPVS is programmed), and two
// real servers behind veth pairs, each answering connections with its name.
//
//   client 198.51.100.2 ── 198.51.100.1 director (VIP 192.0.2.10 on lo, unless left to the caller)
//                                 203.0.113.1 ── 203.0.113.2 real server r1
//                                 203.0.113.5 ── 203.0.113.6 real server r2
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createNetns, sh, type Netns } from './helpers.js';

export const VIP_ADDRESS = '192.0.2.10';
export const VIP_PORT = 80;
export const REAL_PORT = 8080;
export const REAL = [
  { name: 'r1', director: '203.0.113.1', server: '203.0.113.2' },
  { name: 'r2', director: '203.0.113.5', server: '203.0.113.6' },
] as const;

export interface Topology {
  /** The client's namespace (198.51.100.2 on c0). */
  client: Netns;
  /** Makes `count` connections to the VIP from the client namespace, one after another; returns who answered each. */
  request(count: number): string[];
  /** The real servers' namespaces, in REAL's order. */
  servers: Netns[];
  /** Stops real server i's answering process; resolves once it is gone, so that its port refuses connections. */
  stop(i: number): Promise<void>;
  /** Starts it again unless it runs; resolves once it listens. */
  start(i: number): Promise<void>;
  close(): void;
}

/** Starts a TCP server inside `ns` that answers every connection with its name; resolves once it listens. */
async function startServer(ns: Netns, name: string, address: string): Promise<ChildProcess> {
  // A health check's connect-and-close resets the connection: a real server shrugs that off.
  const code = `require('net').createServer((s) => s.on('error', () => {}).end('${name}')).listen(${REAL_PORT}, '${address}', () => console.log('ready'))`;
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => p.kill(), 20_000);
  const [data] = await once(p.stdout!, 'data');
  clearTimeout(timer);
  if (!String(data).includes('ready')) throw new Error(`server ${name} did not start`);
  return p;
}

/** `vip: false` leaves the VIP off the director: the caller puts it somewhere (an ipvsd address test). */
export async function createTopology(director: Netns, o: { vip?: boolean } = {}): Promise<Topology> {
  const d = director.name;
  const client = createNetns('c');
  const servers: Netns[] = [];
  const processes: ChildProcess[] = [];
  sh(`ip link add c0 netns ${client.name} type veth peer name d0 netns ${d}`);
  client.exec('ip addr add 198.51.100.2/24 dev c0 && ip link set c0 up && ip route add 192.0.2.0/24 via 198.51.100.1');
  director.exec(
    `ip addr add 198.51.100.1/24 dev d0 && ip link set d0 up && sysctl -qw net.ipv4.ip_forward=1${o.vip === false ? '' : ` && ip addr add ${VIP_ADDRESS}/32 dev lo`}`,
  );
  for (const [i, r] of REAL.entries()) {
    const ns = createNetns(r.name);
    servers.push(ns);
    sh(`ip link add s${i} netns ${ns.name} type veth peer name v${i} netns ${d}`);
    director.exec(`ip addr add ${r.director}/30 dev v${i} && ip link set v${i} up`);
    ns.exec(
      `ip addr add ${r.server}/30 dev s${i} && ip link set s${i} up && ip route add 198.51.100.0/24 via ${r.director}`,
    );
    processes.push(await startServer(ns, r.name, r.server));
  }
  return {
    client,
    servers,
    async stop(i) {
      const p = processes[i]!;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill();
      await exited;
    },
    async start(i) {
      const p = processes[i]!;
      if (p.exitCode === null && p.signalCode === null) return;
      processes[i] = await startServer(servers[i]!, REAL[i]!.name, REAL[i]!.server);
    },
    request(count) {
      const code = `
        const net = require('net');
        (async () => {
          const out = [];
          for (let i = 0; i < ${count}; i++) {
            out.push(await new Promise((resolve, reject) => {
              const s = net.connect(${VIP_PORT}, '${VIP_ADDRESS}');
              let body = '';
              s.setTimeout(5000, () => s.destroy(new Error('timeout')));
              s.on('data', (d) => { body += d; }).on('end', () => resolve(body)).on('error', reject);
            }));
          }
          console.log(JSON.stringify(out));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      return JSON.parse(sh(`ip netns exec ${client.name} '${process.execPath}' -e "${code.replaceAll('"', '\\"')}"`));
    },
    close() {
      for (const p of processes) p.kill();
      for (const ns of [client, ...servers]) ns.remove();
    },
  };
}

/** Polls `read` until `done` holds, for at most three of the kernel's 2 s estimator ticks; returns the last reading. */
export async function untilEstimated<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 30 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 200));
    v = await read();
  }
  return v;
}
