// The guest side of bench/desired.ts, inside user-mode Linux, the server as
// its own process (server-process.ts):
//   desired-guest.ts ipvsd N D   a desired state of N x D: Put it; the server's CPU per period reconcile at
//                                rest; a restart's reconcile; drift (ipvsadm -d, -e, -C) to repair while
//                                /metrics' 2 s poller lists; the same drift with the period alone; RSS
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DesiredStateView, type IpvsClient } from '../src/client/index.js';
import { fingerprint, Handle, owns } from '../src/ipvs/index.js';
import { freePort } from '../src/sandbox/slirp.js';
import { rip, vip } from './rules.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const [, n = '0', d = '0'] = process.argv.slice(2);
const services = Number(n);
const dests = Number(d);
const NAME = 'desiredStates/bench';
const PERIOD_MS = 10_000;
const scope = { prefixes: ['198.18.0.0/15'] };
const BIG = 64 << 20;
const big = { 'grpc.max_send_message_length': BIG, 'grpc.max_receive_message_length': BIG };
const state = {
  name: NAME,
  scope,
  prune: true,
  services: Array.from({ length: services }, (_, i) => ({
    service: { id: { address: vip(i), protocol: 6, port: 80 }, schedName: 'wlc' },
    destinations: Array.from({ length: dests }, (_, j) => ({ address: rip(j), port: 8080, weight: 1 })),
  })),
};
const ipvsadm = (...args: string[]) => execFileSync('ipvsadm', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
const out: Record<string, number> = {};

/** Polls `f` every 50 ms until it holds (at most `ms`); how long it took, in ms. */
async function until(f: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const t = performance.now();
  while (!(await f())) {
    if (performance.now() - t > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
  return performance.now() - t;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Whether service i's destination j is there with weight w, as ipvsadm lists it ("-> 203.0.113.1:8080 Masq 1 0 0"). */
const hasWeight = (i: number, j: number, w: number) =>
  new RegExp(`${rip(j).replaceAll('.', '\\.')}:8080\\s+\\S+\\s+${w}\\s`).test(
    ipvsadm('-L', '-n', '-t', `${vip(i)}:80`),
  );

/** Drift made by ipvsadm on three services, and how long each took to be put back. */
async function repairs(period: boolean): Promise<number[]> {
  const took: number[] = [];
  for (const i of [1234 % services, 4321 % services, 7777 % services]) {
    // Past --reconcile-min-interval-ms since the last reconcile, so that none waits for it.
    await sleep(1500);
    if (took.length % 2) ipvsadm('-e', '-t', `${vip(i)}:80`, '-r', `${rip(0)}:8080`, '-m', '-w', '9');
    else ipvsadm('-d', '-t', `${vip(i)}:80`, '-r', `${rip(0)}:8080`);
    took.push(await until(() => hasWeight(i, 0, 1), period ? 3 * PERIOD_MS : 60_000, `repair of service ${i}`));
  }
  return took;
}

const status = async (c: IpvsClient) =>
  (await c.getDesiredState({ name: NAME, view: DesiredStateView.BASIC })).desiredState!.status!;

// 1. Put, then the steady state: no poller, reconciles at the period only.
const dir = mkdtempSync(join(tmpdir(), 'ipvsd-bench-state-'));
let server: ServerProcess = await startServerProcess(['--reconcile-period-ms', String(PERIOD_MS)], dir);
let c = await server.connect(big);
let t = performance.now();
const put = await c.putDesiredState({ desiredState: state });
out.putMs = performance.now() - t;
out.putApplied = put.reconcile!.applied;
out.rssAfterPutMb = server.rss().now;
await sleep(PERIOD_MS + 500);
const cpu0 = server.cpuMs();
t = performance.now();
const s0 = await status(c);
await sleep(3 * PERIOD_MS);
const s1 = await status(c);
out.periodCpuMs = (server.cpuMs() - cpu0) / 3;
// One listing per period and no writes: each period reconcile applied nothing.
if (s1.applied !== 0 || !s1.inSync || s1.reconcileTime!.seconds === s0.reconcileTime!.seconds)
  throw new Error(`the steady state was not quiet: ${JSON.stringify(s1)}`);
out.rssAtRestMb = server.rss().now;

// The baseline's floor for the same steady state: what a script reconciling with ipvsadm reads each period.
const shell: number[] = [];
for (let k = 0; k < 3; k++) {
  t = performance.now();
  ipvsadm('-S', '-n');
  shell.push(performance.now() - t);
}
out.ipvsadmSaveMs = median(shell);

// 2. The period alone puts drift back (the baseline for drift seen by a poller).
const byPeriod = await repairs(true);
out.periodRepairMs = median(byPeriod);
c.close();
await server.stop();

// 3. A restart (the kernel as desired): the start reconcile, then drift seen by /metrics' 2 s poller.
t = performance.now();
server = await startServerProcess(
  ['--reconcile-period-ms', '3600000', '--metrics', `127.0.0.1:${await freePort()}`],
  dir,
);
c = await server.connect(big);
out.restartMs = performance.now() - t;
await sleep(3000);
const byDrift = await repairs(false);
out.driftRepairMs = median(byDrift);
out.driftRepairMaxMs = Math.max(...byDrift);
// ipvsadm -C: every rule back.
const before = (await status(c)).reconcileTime!;
ipvsadm('-C');
out.flushRepairMs = await until(
  async () => {
    const s = await status(c);
    return s.inSync && s.reconcileTime!.seconds > before.seconds;
  },
  120_000,
  'repair after ipvsadm -C',
);
out.flushRepairApplied = (await status(c)).applied;
out.rssAfterDriftMb = server.rss().now;
out.peakRssMb = server.rss().peak;
c.close();
await server.stop();

// 4. What drift checking adds to each poller tick: the fingerprint of the listing, against the listing itself.
const h = new Handle();
const lists: number[] = [];
const prints: number[] = [];
for (let k = 0; k < 3; k++) {
  t = performance.now();
  const listing = await h.getServicesWithDestinations();
  lists.push(performance.now() - t);
  t = performance.now();
  fingerprint(listing, (svc) => owns(scope, svc));
  prints.push(performance.now() - t);
}
out.listMs = median(lists);
out.fingerprintMs = median(prints);
h.close();
console.log(JSON.stringify(out));
