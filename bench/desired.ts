// `npm run bench:desired [-- 10000x10]`: a desired state held at scale, each
// run a fresh user-mode Linux boot, median of 3, the server as its own process
// (bench/desired-guest.ts):
//   the steady state: the server's CPU per period reconcile (one listing, no writes) against ipvsadm -S -n of the
//                     same rules (what a script reconciling with ipvsadm reads each period)
//   drift to repair:  ipvsadm -d or -e on an owned destination until it is back, seen by /metrics' 2 s poller,
//                     against the same drift put back by the period alone (--reconcile-period-ms 10000)
//   ipvsadm -C:       until every rule is back; a restart's start reconcile; the fingerprint per tick; RSS
import { boot, guest, median, REPS } from './boot.js';

const tsx = guest('bench/desired-guest.ts');
const [n, d] = (process.argv[2] ?? '10000x10').split('x').map(Number) as [number, number];
const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

console.log(`== a desired state of ${n} services x ${d} destinations, median of ${REPS}, each run a fresh boot ==`);
const runs: Record<string, number>[] = [];
for (let i = 0; i < REPS; i++) {
  const r = await boot(`${tsx} ipvsd ${n} ${d}`);
  runs.push(r);
  console.log(
    `  run ${i + 1}  Put ${s(r.putMs!)} (${r.putApplied} applied)  CPU per period reconcile ${s(r.periodCpuMs!)}  ipvsadm -S -n ${s(r.ipvsadmSaveMs!)}  ` +
      `repair: poller ${s(r.driftRepairMs!)} (max ${s(r.driftRepairMaxMs!)}), period alone ${s(r.periodRepairMs!)}  ` +
      `ipvsadm -C back in ${s(r.flushRepairMs!)} (${r.flushRepairApplied} applied)  restart ${s(r.restartMs!)}  ` +
      `listing ${s(r.listMs!)}, fingerprint ${s(r.fingerprintMs!)}  RSS after Put ${r.rssAfterPutMb!.toFixed(0)} MB, at rest ${r.rssAtRestMb!.toFixed(0)}, after drift ${r.rssAfterDriftMb!.toFixed(0)}, peak ${r.peakRssMb!.toFixed(0)}`,
  );
}
const m = (k: string) => median(runs.map((r) => r[k]!));
console.log(
  `  steady state:   ${s(m('periodCpuMs'))} of server CPU per period reconcile, no writes; ipvsadm -S -n alone takes ${s(m('ipvsadmSaveMs'))} (${(m('ipvsadmSaveMs') / m('periodCpuMs')).toFixed(2)}x)`,
);
console.log(
  `  drift repaired: ${s(m('driftRepairMs'))} with /metrics' 2 s poller, ${s(m('periodRepairMs'))} by a 10 s period alone (${(m('periodRepairMs') / m('driftRepairMs')).toFixed(1)}x sooner)`,
);
console.log(
  `  ipvsadm -C:     every rule back in ${s(m('flushRepairMs'))}; a restart's reconcile ${s(m('restartMs'))}`,
);
console.log(
  `  per tick:       fingerprint ${s(m('fingerprintMs'))} against the listing's ${s(m('listMs'))} (${((100 * m('fingerprintMs')) / m('listMs')).toFixed(0)}%)`,
);
console.log(
  `  server RSS:     ${m('rssAfterPutMb').toFixed(0)} MB after Put, ${m('rssAtRestMb').toFixed(0)} MB at rest, peak ${m('peakRssMb').toFixed(0)} MB`,
);
