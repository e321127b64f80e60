// The guest side of bench/health.ts, inside user-mode Linux:
//   health-guest.ts ipvsd|keepalived N   N real servers (198.18.0.1 on, port 8080) in services of 200 (192.0.2.1
//                                        on, port 80, masq), all TCP-checked every 2 s by the contender; prints
//                                        one JSON line: detection (a real server's death to its weight 0 in the
//                                        kernel) p50/p99 over many deaths, CPU per 1,000 probes, RSS
// The director is the guest's own namespace (where IPVS and the contender live); the real servers are one Node
// process in the namespace hrs, behind a veth pair, listening on each address apart (the addresses are local
// there through one `local` route on lo), so that a death is that address's listener closed: from then on the
// kernel answers the address's SYNs with a RST, as a crashed server's host does.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DesiredStateSchema, HealthCheckSchema } from '../src/client/index.js';
import { Handle } from '../src/ipvs/index.js';
import { startServerProcess } from './server-process.js';

const [contender = '', n = '2000'] = process.argv.slice(2);
if (contender !== 'ipvsd' && contender !== 'keepalived') throw new Error(`usage: health-guest.ts ipvsd|keepalived N`);
const N = Number(n);
const PER_SERVICE = 200;
const SERVICES = Math.ceil(N / PER_SERVICE);
/** The check, as both contenders are given it (see the mapping in bench/health.ts). */
const INTERVAL_S = 2;
const TIMEOUT_S = 1;
const FALL = 3;
/** Steady window over which CPU is measured: no deaths, no polling by this script. */
const WINDOW_MS = 30_000;
const DEATHS = Math.min(60, Math.floor(N / 4));
/** A death not seen at weight 0 within this long is counted as missed (and as this long). */
const DEATH_LIMIT_MS = 30_000;
const POLL_MS = 50;

const rip = (k: number) => `198.18.${(k + 1) >> 8}.${(k + 1) & 255}`;
const vip = (i: number) => `192.0.2.${i + 1}`;
const serviceOf = (k: number) => Math.floor(k / PER_SERVICE);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
const out: Record<string, number> = {
  servers: N,
  services: SERVICES,
  intervalS: INTERVAL_S,
  timeoutS: TIMEOUT_S,
  fall: FALL,
};

// 1. The real-server namespace, reached through a veth pair (test ranges only: 198.51.100.0/30 for the link).
ip('netns', 'add', 'hrs');
ip('link', 'add', 'hdir', 'type', 'veth', 'peer', 'name', 'hrs0', 'netns', 'hrs');
ip('addr', 'add', '198.51.100.1/30', 'dev', 'hdir');
ip('link', 'set', 'hdir', 'up');
ip('route', 'add', '198.18.0.0/15', 'via', '198.51.100.2');
for (const args of [
  ['link', 'set', 'lo', 'up'],
  ['addr', 'add', '198.51.100.2/30', 'dev', 'hrs0'],
  ['link', 'set', 'hrs0', 'up'],
  ['route', 'add', 'local', '198.18.0.0/15', 'dev', 'lo'],
])
  ip('-n', 'hrs', ...args);

// One process, one listener per address (accepts and closes at once; survives RSTs). Its stdin takes
// "kill ADDR" (answered "killed ADDR" once the listener is closed) and "count" ("count N": connections accepted).
const REAL_SERVERS = `
const net = require('net');
const n = Number(process.argv[1]);
const servers = new Map();
let accepted = 0, listening = 0;
for (let k = 1; k <= n; k++) {
  const addr = '198.18.' + (k >> 8) + '.' + (k & 255);
  const s = net.createServer({ pauseOnConnect: true }, (c) => { accepted++; c.on('error', () => {}); c.destroy(); });
  s.on('error', (e) => { console.error(addr, e.message); process.exit(1); });
  s.listen({ port: 8080, host: addr, backlog: 128 }, () => { if (++listening === n) console.log('ready'); });
  servers.set(addr, s);
}
require('readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, addr] = l.split(' ');
  if (cmd === 'count') console.log('count ' + accepted);
  else if (cmd === 'kill') { servers.get(addr).close(); console.log('killed ' + addr); }
});`;
const real = spawn('ip', ['netns', 'exec', 'hrs', process.execPath, '-e', REAL_SERVERS, String(N)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const replies: ((line: string) => void)[] = [];
const realLines = createInterface({ input: real.stdout! });
realLines.on('line', (l) => replies.shift()?.(l));
const ask = (line: string) =>
  new Promise<string>((resolve) => {
    replies.push(resolve);
    if (line) real.stdin!.write(`${line}\n`);
  });
const ready = await Promise.race([ask(''), sleep(120_000).then(() => 'the real servers did not start within 120 s')]);
if (ready !== 'ready') throw new Error(ready);
const accepted = async () => Number((await ask('count')).split(' ')[1]);

// 2. The contender, and the processes that are its cost.
const h = new Handle();
/** Every live process under `root`, itself included. */
function tree(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(e)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const all: number[] = [];
  for (const todo = [root]; todo.length; ) {
    const p = todo.pop()!;
    all.push(p);
    todo.push(...(kids.get(p) ?? []));
  }
  return all;
}
/**
 * CPU seconds of the tree (each live process's utime + stime, and the root's reaped children; USER_HZ 100), and of
 * its root alone (ipvsd's server, keepalived's parent).
 */
function cpuS(root: number): { all: number; root: number } {
  let ticks = 0;
  let own = 0;
  for (const p of tree(root)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const t = Number(f[11]) + Number(f[12]) + (p === root ? Number(f[13]) + Number(f[14]) : 0);
      ticks += t;
      if (p === root) own = t;
    } catch {
      // Gone meanwhile.
    }
  }
  return { all: ticks / 100, root: own / 100 };
}
/** Resident MiB of the tree (VmRSS), now or at its peaks (VmHWM), and how many processes. */
function rss(root: number, key: 'VmRSS' | 'VmHWM'): { mb: number; procs: number } {
  let kb = 0;
  let procs = 0;
  for (const p of tree(root)) {
    try {
      kb += Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]);
      procs++;
    } catch {
      // Gone meanwhile, or a kernel thread.
    }
  }
  return { mb: kb / 1024, procs };
}
/** The services' destinations in the kernel: how many, and how many at weight 0. */
async function kernel(): Promise<{ dests: number; zero: number }> {
  let dests = 0;
  let zero = 0;
  for (const s of await h.getServicesWithDestinations())
    for (const d of s.destinations) {
      dests++;
      if (d.weight === 0) zero++;
    }
  return { dests, zero };
}
async function until(f: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const t = performance.now();
  while (!(await f())) {
    if (performance.now() - t > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
  return performance.now() - t;
}

let root: number;
let stop: () => Promise<void>;
const t0 = performance.now();
if (contender === 'ipvsd') {
  const server = await startServerProcess([]);
  const c = await server.connect();
  const check: MessageInitShape<typeof HealthCheckSchema> = {
    interval: { seconds: BigInt(INTERVAL_S) },
    timeout: { seconds: BigInt(TIMEOUT_S) },
    rise: 1,
    fall: FALL,
    // keepalived's warmup (by default up to delay_loop) spreads the first checks over the whole interval.
    jitter: { seconds: BigInt(INTERVAL_S) },
    kind: { case: 'tcp', value: {} },
  };
  const id = (i: number) => ({ address: vip(i), protocol: 6, port: 80 });
  const state: MessageInitShape<typeof DesiredStateSchema> = {
    name: 'desiredStates/health',
    scope: { prefixes: ['192.0.2.0/24'] },
    prune: true,
    services: Array.from({ length: SERVICES }, (_, i) => ({
      service: { id: id(i), schedName: 'wlc' },
      destinations: Array.from({ length: Math.min(PER_SERVICE, N - i * PER_SERVICE) }, (_, j) => ({
        address: rip(i * PER_SERVICE + j),
        port: 8080,
        weight: 1,
      })),
    })),
    health: Array.from({ length: SERVICES }, (_, i) => ({ service: id(i), check })),
  };
  await c.putDesiredState({ desiredState: state });
  c.close();
  // The server is this script's child that runs main.js; its prober(s) are its children.
  const pid = tree(process.pid).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('dist/src/server/main.js');
    } catch {
      return false;
    }
  });
  if (!pid) throw new Error('the server process was not found');
  root = pid;
  stop = () => server.stop();
} else {
  const dir = mkdtempSync(join(tmpdir(), 'keepalived-bench-'));
  const conf = join(dir, 'keepalived.conf');
  const lines = ['global_defs {', '  router_id bench', '}'];
  for (let i = 0; i < SERVICES; i++) {
    lines.push(
      `virtual_server ${vip(i)} 80 {`,
      `  delay_loop ${INTERVAL_S}`,
      '  lb_algo wlc',
      '  lb_kind NAT',
      '  protocol TCP',
    );
    for (let k = i * PER_SERVICE; k < Math.min(N, (i + 1) * PER_SERVICE); k++)
      lines.push(
        `  real_server ${rip(k)} 8080 {`,
        '    weight 1',
        '    inhibit_on_failure',
        '    TCP_CHECK {',
        `      connect_timeout ${TIMEOUT_S}`,
        `      retry ${FALL - 1}`,
        `      delay_before_retry ${INTERVAL_S}`,
        '    }',
        '  }',
      );
    lines.push('}');
  }
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const log: string[] = [];
  let stopping = false;
  const k: ChildProcess = spawn(
    'keepalived',
    [
      ...['--dont-fork', '--log-console', '--check', '--use-file', conf],
      ...['--pid', join(dir, 'keepalived.pid'), '--checkers_pid', join(dir, 'checkers.pid')],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const s of [k.stdout!, k.stderr!])
    createInterface({ input: s }).on('line', (l) => {
      log.push(l);
      if (log.length > 30) log.shift();
    });
  k.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(log.join('\n'));
      console.error(`keepalived exited (${signal ?? code})`);
      process.exit(1);
    }
  });
  root = k.pid!;
  stop = async () => {
    stopping = true;
    k.kill('SIGTERM');
    if (k.exitCode === null && k.signalCode === null) await new Promise((r) => k.once('exit', r));
  };
}
// Every real server in the kernel at weight 1.
await until(
  async () => {
    const k = await kernel();
    return k.dests === N && k.zero === 0;
  },
  120_000,
  `${contender} programming ${N} real servers`,
);
out.programmedMs = performance.now() - t0;
// Two whole rounds of checks before measuring: every prober started, every first check done.
await sleep(2 * INTERVAL_S * 1000 + 2000);

// 3. The steady state: CPU per probe (probes counted where they land: connections the real servers accepted).
const a0 = await accepted();
const c0 = cpuS(root);
const w0 = performance.now();
await sleep(WINDOW_MS);
const c1 = cpuS(root);
const a1 = await accepted();
const windowS = (performance.now() - w0) / 1000;
out.windowS = windowS;
out.cpuS = c1.all - c0.all;
out.cpuRootS = c1.root - c0.root;
out.probes = a1 - a0;
out.expectedProbes = (N * windowS) / INTERVAL_S;
out.cpuPer1000S = (out.cpuS * 1000) / out.probes;
const r = rss(root, 'VmRSS');
out.rssMb = r.mb;
out.procs = r.procs;
// No server died: none may be at weight 0.
out.falseDowns = (await kernel()).zero;

// 4. Deaths: one every 0.6-1.4 s (so each falls at a random point of its checks' schedule), each timed on its own
// from its listener's close to its weight 0 in the kernel, which is polled every 50 ms, one dump per service with a
// death pending (the same way for both contenders).
const pending = new Map<string, { since: number; service: number }>();
const took: number[] = [];
let missed = 0;
let dying = true;
const cpu0 = process.cpuUsage();
const d0 = performance.now();
const poller = (async () => {
  while (dying || pending.size) {
    for (const service of new Set([...pending.values()].map((p) => p.service))) {
      const dests = await h.getDestinations({ address: vip(service), protocol: 6, port: 80 });
      const now = performance.now();
      for (const d of dests) {
        const p = pending.get(d.address);
        if (p && d.weight === 0) {
          took.push(now - p.since);
          pending.delete(d.address);
        }
      }
    }
    const now = performance.now();
    for (const [addr, p] of pending)
      if (now - p.since > DEATH_LIMIT_MS) {
        missed++;
        took.push(DEATH_LIMIT_MS);
        pending.delete(addr);
      }
    await sleep(POLL_MS);
  }
})();
for (let d = 0; d < DEATHS; d++) {
  await sleep(600 + Math.random() * 800);
  // 997 is prime to N here: distinct servers, spread over the services.
  const k = (d * 997 + 17) % N;
  const reply = await ask(`kill ${rip(k)}`);
  if (reply !== `killed ${rip(k)}`) throw new Error(`the real servers answered ${JSON.stringify(reply)}`);
  pending.set(rip(k), { since: performance.now(), service: serviceOf(k) });
}
dying = false;
await poller;
const used = process.cpuUsage(cpu0);
out.pollerCpuShare = (used.user + used.system) / 1000 / (performance.now() - d0);
took.sort((x, y) => x - y);
const pct = (q: number) => took[Math.ceil(q * took.length) - 1]!;
out.deaths = took.length;
out.missed = missed;
out.p50Ms = pct(0.5);
out.p99Ms = pct(0.99);
out.minMs = took[0]!;
out.maxMs = took[took.length - 1]!;
out.peakRssMb = rss(root, 'VmHWM').mb;
// Only the dead are down.
out.downAtEnd = (await kernel()).zero;

await stop();
h.close();
real.kill();
console.log(JSON.stringify(out));
process.exit(0);
