// The guest side of scripts/soak-health.ts, inside user-mode Linux:
//   soak-health-guest.ts MINUTES DESTINATIONS
// The server runs as its own process (dist/) in the guest's own namespace, where IPVS is, with --metrics. The real
// servers are one Node process in the namespace srs behind a veth pair: 203.0.113.10, ports 9000.. (one listener
// per destination), under services of at most 100 destinations on 192.0.2.1.. port 80. Every destination is TCP
// checked every 1 s (timeout 500 ms, rise 1, fall 1; jitter the whole interval, so probes spread over it) while the
// real servers flap: each port's listener is closed and opened again after 1.5..4.5 s at random, so each
// destination goes down and up every few seconds. Every 10 s: the server's and its prober's VmRSS and open
// descriptors (the fewest of 3 counts 200 ms apart: a probe's socket in flight is not a leak), the transitions
// (ipvsd_health_transitions_total), the probes, and the health_transition messages a WatchEvents stream saw (one
// that fails is opened again and its failures counted).
// Prints the table and one JSON line; exits 1 when the server or the prober grew by more than 20 descriptors or
// 30% of RSS from the 1-minute sample (the first minute is warm-up) to the last.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DesiredStateSchema, HealthCheckSchema } from '../src/client/index.js';
import { freePort } from '../src/sandbox/slirp.js';
import { startServerProcess } from '../bench/server-process.js';

const MINUTES = Number(process.argv[2] ?? 5);
const N = Number(process.argv[3] ?? 500);
if (!(MINUTES > 0 && MINUTES <= 120) || !(Number.isInteger(N) && N >= 1 && N <= 5000))
  throw new Error('usage: soak-health-guest.ts MINUTES(0..120] DESTINATIONS(1..5000)');
const SAMPLE_MS = 10_000;
const SAMPLES = Math.max(1, Math.round((MINUTES * 60_000) / SAMPLE_MS));
const WARM_MS = 60_000;
const PER_SERVICE = 100;
const SERVICES = Math.ceil(N / PER_SERVICE);
const REAL = '203.0.113.10';
const FIRST_PORT = 9000;
const FLAP_MS = [1500, 4500] as const;
const MAX_FD_GROWTH = 20;
const MAX_RSS_GROWTH = 0.3;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
const vip = (i: number) => `192.0.2.${i + 1}`;

// 1. The real-server namespace, through a veth pair (test ranges only: 198.51.100.0/30 for the link).
ip('netns', 'add', 'srs');
ip('link', 'add', 'sdir', 'type', 'veth', 'peer', 'name', 'srs0', 'netns', 'srs');
ip('addr', 'add', '198.51.100.1/30', 'dev', 'sdir');
ip('link', 'set', 'sdir', 'up');
ip('route', 'add', `${REAL}/32`, 'via', '198.51.100.2');
for (const args of [
  ['link', 'set', 'lo', 'up'],
  ['addr', 'add', '198.51.100.2/30', 'dev', 'srs0'],
  ['addr', 'add', `${REAL}/32`, 'dev', 'srs0'],
  ['link', 'set', 'srs0', 'up'],
])
  ip('-n', 'srs', ...args);

// One listener per port, all open at first. "start" on stdin starts the flapping; "count" answers
// "count TOGGLES ACCEPTED OPEN LISTEN_ERRORS". It exits when its stdin closes or its lifetime is over.
const FLAPPER = `
const net = require('net');
const [addr, first, n, lifeMs, lo, hi] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
const servers = new Array(n);
let toggles = 0, accepted = 0, open = 0, errors = 0, listening = 0;
function up(k, cb) {
  const s = net.createServer((c) => { accepted++; c.on('error', () => {}); c.destroy(); });
  s.on('error', () => { errors++; if (servers[k] === s) { servers[k] = undefined; open--; } });
  s.listen({ port: first + k, host: addr }, cb);
  servers[k] = s;
  open++;
}
function flip(k) {
  if (servers[k]) { servers[k].close(); servers[k] = undefined; open--; } else up(k);
  toggles++;
  setTimeout(flip, lo + Math.random() * (hi - lo), k);
}
for (let k = 0; k < n; k++) up(k, () => { if (++listening === n) console.log('ready'); });
setTimeout(() => process.exit(0), lifeMs);
const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l === 'start') {
    for (let k = 0; k < n; k++) setTimeout(flip, Math.random() * hi, k);
    console.log('started');
  }
  else if (l === 'count') console.log(['count', toggles, accepted, open, errors].join(' '));
});
rl.on('close', () => process.exit(0));`;
const lifeMs = MINUTES * 60_000 + 120_000;
const flapper = spawn(
  'ip',
  ['netns', 'exec', 'srs', process.execPath, '-e', FLAPPER, REAL, String(FIRST_PORT), String(N), String(lifeMs)].concat(
    FLAP_MS.map(String),
  ),
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const replies: ((line: string) => void)[] = [];
createInterface({ input: flapper.stdout! }).on('line', (l) => replies.shift()?.(l));
const ask = (line: string, ms = 30_000) =>
  Promise.race([
    new Promise<string>((resolve) => {
      replies.push(resolve);
      if (line) flapper.stdin!.write(`${line}\n`);
    }),
    sleep(ms).then(() => {
      throw new Error(`the real servers did not answer ${JSON.stringify(line)} within ${ms} ms`);
    }),
  ]);
if ((await ask('', 120_000)) !== 'ready') throw new Error('the real servers did not start');
const counts = async () => (await ask('count')).split(' ').slice(1).map(Number) as [number, number, number, number];

// 2. The server, its desired state, and a WatchEvents stream counting health_transition messages.
const metricsPort = await freePort();
const server = await startServerProcess(['--metrics', `127.0.0.1:${metricsPort}`]);
const c = await server.connect();
const check: MessageInitShape<typeof HealthCheckSchema> = {
  interval: { seconds: 1n },
  timeout: { nanos: 500e6 },
  rise: 1,
  fall: 1,
  jitter: { seconds: 1n },
  kind: { case: 'tcp', value: {} },
};
const id = (i: number) => ({ address: vip(i), protocol: 6, port: 80 });
const state: MessageInitShape<typeof DesiredStateSchema> = {
  name: 'desiredStates/soak',
  scope: { prefixes: ['192.0.2.0/24'] },
  prune: true,
  services: Array.from({ length: SERVICES }, (_, i) => ({
    service: { id: id(i), schedName: 'rr' },
    destinations: Array.from({ length: Math.min(PER_SERVICE, N - i * PER_SERVICE) }, (_, j) => ({
      address: REAL,
      port: FIRST_PORT + i * PER_SERVICE + j,
      weight: 1,
    })),
  })),
  health: Array.from({ length: SERVICES }, (_, i) => ({ service: id(i), check })),
};
await c.putDesiredState({ desiredState: state });
// A stream that fails is opened again a second later (at most 1,000 times), its failures counted.
let watched = 0;
let watchFailures = 0;
let watchError = '';
const ac = new AbortController();
const watching = (async () => {
  for (let attempt = 0; attempt < 1000 && !ac.signal.aborted; attempt++) {
    try {
      for await (const m of c.watchEvents({}, { signal: ac.signal })) if (m.healthTransition) watched++;
    } catch (e) {
      watchFailures++;
      if (!watchError) console.error(`WatchEvents failed: ${(watchError = (e as Error).message)}`);
      await sleep(1000);
    }
  }
})();

/** The process of the server (main.js, this script's grandchild at most) and its prober child. */
function stat(pid: number): { ppid: number; cmd: string } | undefined {
  try {
    const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    return { ppid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8') };
  } catch {
    return undefined; // gone meanwhile
  }
}
const pids = () =>
  readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
const serverPid = pids().find((p) => {
  const s = stat(p);
  return s?.ppid === process.pid && s.cmd.includes('dist/src/server/main.js');
});
if (!serverPid) throw new Error('the server process was not found');
const proberPid = () => pids().find((p) => stat(p)?.ppid === serverPid && stat(p)?.cmd.includes('prober'));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
async function fds(pid: number): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(200);
    least = Math.min(least, readdirSync(`/proc/${pid}/fd`).length);
  }
  return least;
}
/** Sums of the series of `name` in a scrape of /metrics. */
async function metric(name: string): Promise<number> {
  const text = await (
    await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(8000) })
  ).text();
  let sum = 0;
  for (const l of text.split('\n'))
    if (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) sum += Number(l.split(' ').at(-1));
  return sum;
}

// 3. Flapping, a sample every 10 s.
interface Sample {
  t: number;
  rss: number;
  fds: number;
  proberPid: number;
  proberRss: number;
  proberFds: number;
  transitions: number;
  watched: number;
  probes: number;
  toggles: number;
  cpu: number;
}
const samples: Sample[] = [];
if ((await ask('start')) !== 'started') throw new Error('the real servers did not start flapping');
const t0 = performance.now();
let cpu0 = server.cpuMs();
for (let i = 1; i <= SAMPLES; i++) {
  await sleep(Math.max(0, t0 + i * SAMPLE_MS - performance.now()));
  const t = (performance.now() - t0) / 1000;
  const cpu = server.cpuMs();
  const p = proberPid();
  const [toggles] = await counts();
  samples.push({
    t,
    rss: rssMb(serverPid),
    fds: await fds(serverPid),
    proberPid: p ?? 0,
    proberRss: p ? rssMb(p) : 0,
    proberFds: p ? await fds(p) : 0,
    transitions: await metric('ipvsd_health_transitions_total'),
    watched,
    probes: await metric('ipvsd_health_probe_duration_seconds_count'),
    toggles,
    cpu: (cpu - cpu0) / SAMPLE_MS,
  });
  cpu0 = cpu;
  const s = samples.at(-1)!;
  console.log(
    `sample ${i}/${SAMPLES} t=${t.toFixed(0)}s rss ${s.rss.toFixed(1)} MB fds ${s.fds} prober ${s.proberPid} ` +
      `${s.proberRss.toFixed(1)} MB fds ${s.proberFds} transitions ${s.transitions} probes ${s.probes}`,
  );
}
const [toggles, accepted, open, listenErrors] = await counts();
const { destinationsUp, destinationsDown, destinationsUnknown } = (
  await c.getDesiredState({ name: 'desiredStates/soak' })
).desiredState!.status!;
ac.abort();
await watching;
c.close();
await server.stop();
flapper.stdin!.end();

// 4. The table, the figures, the verdict.
const cols = [
  't s',
  'RSS MB',
  'fds',
  'prober',
  'p.RSS MB',
  'p.fds',
  'transitions',
  'per s',
  'watched',
  'probes',
  'toggles',
  'CPU',
];
const rows = samples.map((s, i) => {
  const prev = samples[i - 1];
  const rate = (s.transitions - (prev?.transitions ?? 0)) / (s.t - (prev?.t ?? 0));
  return [
    s.t.toFixed(0),
    s.rss.toFixed(1),
    s.fds,
    s.proberPid,
    s.proberRss.toFixed(1),
    s.proberFds,
    s.transitions,
    rate.toFixed(1),
    s.watched,
    s.probes,
    s.toggles,
    `${(100 * s.cpu).toFixed(0)}%`,
  ].map(String);
});
const widths = cols.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [cols, ...rows]) console.log(r.map((v, i) => v.padStart(widths[i]!)).join('  '));

const warm = samples.find((s) => s.t * 1000 >= WARM_MS - 1000) ?? samples[0]!;
const last = samples.at(-1)!;
const figures = (rss: (s: Sample) => number, fd: (s: Sample) => number) => ({
  rssFirstMb: +rss(samples[0]!).toFixed(1),
  rssAt1mMb: +rss(warm).toFixed(1),
  rssLastMb: +rss(last).toFixed(1),
  rssMaxMb: +Math.max(...samples.map(rss)).toFixed(1),
  fdsFirst: fd(samples[0]!),
  fdsAt1m: fd(warm),
  fdsLast: fd(last),
  fdsMax: Math.max(...samples.map(fd)),
});
const srv = figures(
  (s) => s.rss,
  (s) => s.fds,
);
const prober = figures(
  (s) => s.proberRss,
  (s) => s.proberFds,
);
const failures: string[] = [];
for (const [who, f] of [
  ['server', srv],
  ['prober', prober],
] as const) {
  if (f.fdsLast - f.fdsAt1m > MAX_FD_GROWTH) failures.push(`${who} descriptors ${f.fdsAt1m} -> ${f.fdsLast}`);
  if (f.rssLastMb > f.rssAt1mMb * (1 + MAX_RSS_GROWTH)) failures.push(`${who} RSS ${f.rssAt1mMb} -> ${f.rssLastMb} MB`);
}
const proberPids = new Set(samples.map((s) => s.proberPid));
if (proberPids.has(0)) failures.push('no prober at some sample');
for (const f of failures) console.log(`GREW: ${f}`);
console.log(
  JSON.stringify({
    minutes: MINUTES,
    destinations: N,
    services: SERVICES,
    samples: samples.length,
    warmT: +warm.t.toFixed(0),
    server: srv,
    prober: { ...prober, pids: proberPids.size },
    transitions: last.transitions,
    transitionsPerS: +(last.transitions / last.t).toFixed(1),
    watchedTransitions: last.watched,
    watchFailures,
    watchError,
    probes: last.probes,
    toggles,
    accepted,
    listenErrors,
    openAtEnd: open,
    upAtEnd: destinationsUp,
    downAtEnd: destinationsDown,
    unknownAtEnd: destinationsUnknown,
    serverCpuMean: +(samples.reduce((a, s) => a + s.cpu, 0) / samples.length).toFixed(2),
    ok: failures.length === 0,
  }),
);
process.exit(failures.length ? 1 : 0);
