// `npm run bench:health [-- 2000]`: health checks of N real servers (default 2,000, in services of 200) every 2 s,
// ipvsd against keepalived 2.2.7's TCP_CHECK, each contender in its own fresh user-mode Linux boot, median of 3
// (bench/health-guest.ts in each guest):
//   detection: a real server's death (its listener closed: RSTs from then on) to its weight 0 in the kernel, polled
//              every 50 ms; p50 and p99 over 60 deaths a run, each at a random point of its checks' schedule
//   CPU:       the contender's processes' utime + stime (ipvsd: the server and its prober; keepalived: the parent and
//              its checker child) over a 30 s steady window, per 1,000 probes (counted where they land: the
//              connections the real servers accepted)
//   RSS:       the sum of those processes' VmRSS at the end of that window
// The same check for both (keepalived has no rise: one success brings a server back; a failed check is retried
// `retry` times, `delay_before_retry` apart, before the server is down):
//   keepalived: delay_loop 2, TCP_CHECK { connect_timeout 1, retry 2, delay_before_retry 2 }, inhibit_on_failure,
//               warmup left at its default (the first check at a random point of delay_loop), alpha off
//   ipvsd:      check { interval 2 s, timeout 1 s, fall 3, rise 1, jitter 2 s, tcp }, on_down WEIGHT_ZERO (the
//               default), start_down off
import { spawnSync } from 'node:child_process';
import { boot, guest, median, REPS } from './boot.js';

const tsx = guest('bench/health-guest.ts');
const servers = Number(process.argv[2] ?? 2000);
const version = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
if (version.error) throw new Error('keepalived is not installed: bash scripts/install-deps.sh test (as root)');
const keepalived = /Keepalived v\S+/.exec(`${version.stdout}${version.stderr}`)?.[0] ?? 'keepalived';

const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const names = { keepalived, ipvsd: 'ipvsd' } as const;
type Contender = keyof typeof names;
const line = (who: Contender, i: number, r: Record<string, number>) =>
  `  run ${i + 1} ${who.padEnd(10)}  detection p50 ${s(r.p50Ms!)} p99 ${s(r.p99Ms!)} (min ${s(r.minMs!)}, max ${s(r.maxMs!)}; ` +
  `${r.deaths} deaths, ${r.missed} missed; ${r.downAtEnd} down at the end)  ` +
  `CPU ${r.cpuS!.toFixed(2)} s (${who === 'ipvsd' ? 'server' : 'parent'} ${r.cpuRootS!.toFixed(2)}, ${who === 'ipvsd' ? 'prober' : 'checker'} ${(r.cpuS! - r.cpuRootS!).toFixed(2)}) ` +
  `in ${r.windowS!.toFixed(1)} s for ${r.probes} probes (${r.expectedProbes!.toFixed(0)} due): ` +
  `${r.cpuPer1000S!.toFixed(3)} s per 1,000  RSS ${r.rssMb!.toFixed(1)} MB in ${r.procs} processes (peak ${r.peakRssMb!.toFixed(1)})  ` +
  `programmed in ${s(r.programmedMs!)}  false downs ${r.falseDowns}  the poller's CPU ${(100 * r.pollerCpuShare!).toFixed(0)}%`;

console.log(
  `== health checks of ${servers} real servers every 2 s: ${keepalived} (TCP_CHECK) against ipvsd (tcp), median of ${REPS}, each run a fresh boot ==`,
);
const runs: Record<Contender, Record<string, number>[]> = { keepalived: [], ipvsd: [] };
for (let i = 0; i < REPS; i++)
  for (const who of ['keepalived', 'ipvsd'] as const) {
    const r = await boot(`${tsx} ${who} ${servers}`);
    runs[who].push(r);
    console.log(line(who, i, r));
  }
const m = (who: Contender, k: string) => median(runs[who].map((r) => r[k]!));
const r0 = runs.ipvsd[0]!;
const targetMs = r0.fall! * r0.intervalS! * 1000 + 500;
console.log(
  `  check: interval ${r0.intervalS} s, timeout ${r0.timeoutS} s, fall ${r0.fall} (keepalived: retry ${r0.fall! - 1}, delay_before_retry ${r0.intervalS}), rise 1, weight 0 when down; ${r0.services} service(s) of up to 200`,
);
const both = (k: string, f: (x: number) => string) => `keepalived ${f(m('keepalived', k))}, ipvsd ${f(m('ipvsd', k))}`;
console.log(`  detection p50:         ${both('p50Ms', s)}`);
console.log(
  `  detection p99:         ${both('p99Ms', s)} (target: within fall x interval + 0.5 s = ${s(targetMs)}: ` +
    `${m('ipvsd', 'p99Ms') <= targetMs ? 'met' : 'not met'})`,
);
const ratio = m('ipvsd', 'cpuPer1000S') / m('keepalived', 'cpuPer1000S');
console.log(
  `  CPU per 1,000 probes:  ${both('cpuPer1000S', (x) => `${x.toFixed(3)} s`)}; ipvsd/keepalived ${ratio.toFixed(2)}x ` +
    `(target: at most 1.5x: ${ratio <= 1.5 ? 'met' : 'not met'})`,
);
console.log(`  RSS:                   ${both('rssMb', (x) => `${x.toFixed(1)} MB`)}`);
