// `npm run bench:scale [-- 10000x10 [1000 [100]]]`: ipvsd at scale, each run a
// fresh user-mode Linux boot, median of 3, the server as its own process:
//   state:    Apply N x D from empty (failures_only) vs ipvsadm -R; list it all twice (every page, by a
//             client with the stock 4 MiB limit) vs ipvsadm -Ln; the server's CPU per WatchStats
//             tick while T watchers (default 100) stream it; its peak RSS
//   watchers: W WatchStats streams on one namespace (100 x 10 rules): kernel
//             dumps per tick, and p50/p99 of a unary write alone and while they stream
import { boot, guest, median, REPS } from './boot.js';

const tsx = guest('bench/scale-guest.ts');
const [n, d] = (process.argv[2] ?? '10000x10').split('x').map(Number) as [number, number];
const watchers = Number(process.argv[3] ?? 1000);
/** Watchers streaming while a tick of the big state is measured. */
const tickWatchers = Number(process.argv[4] ?? 100);
const rules = guest('bench/apply-guest.ts');

const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const ipvsadm = () =>
  boot(
    `${rules} rules ${n} ${d} > /run/all && ` +
      'ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }; ' +
      't=$(date +%s%N); ipvsadm -R < /run/all; c=$(ms $t); ' +
      't=$(date +%s%N); ipvsadm -Ln > /dev/null; l=$(ms $t); ' +
      'echo "{\\"createMs\\": $c, \\"listMs\\": $l}"',
  );

console.log(
  `== ${n} services x ${d} destinations (${n * (d + 1)} objects), median of ${REPS}, each run a fresh boot ==`,
);
const a: Record<string, number>[] = [];
const b: Record<string, number>[] = [];
for (let i = 0; i < REPS; i++) {
  const x = await ipvsadm();
  a.push(x);
  console.log(`  run ${i + 1} ipvsadm  -R ${s(x.createMs!)}  -Ln ${s(x.listMs!)}`);
  const y = await boot(`${tsx} state ${n} ${d} ${tickWatchers}`);
  b.push(y);
  console.log(
    `  run ${i + 1} ipvsd    Apply ${s(y.applyMs!)}  ListServices (every page) ${s(y.listMs!)}, again ${s(y.listAgainMs!)}  tick CPU ${s(y.tickCpuMs!)} with ${y.watchers} watchers (period ${s(y.tickPeriodMs!)}, ${y.partsPerTick!.toFixed(1)} parts; the counting watchers took ${y.received} parts, largest ${(y.largestPart! / 2 ** 20).toFixed(2)} MiB)  ` +
      `RSS ${y.rssMb!.toFixed(0)} MB, peak ${y.peakRssMb!.toFixed(0)} MB (after Apply ${y.peakAfterApplyMb!.toFixed(0)}, after listing ${y.peakAfterListMb!.toFixed(0)})`,
  );
}
const ma = (k: string) => median(a.map((r) => r[k]!));
const mb = (k: string) => median(b.map((r) => r[k]!));
console.log(
  `  Apply from empty: ipvsadm -R ${s(ma('createMs'))}  Apply ${s(mb('applyMs'))}  ${(ma('createMs') / mb('applyMs')).toFixed(1)}x faster`,
);
console.log(
  `  list all:         ipvsadm -Ln ${s(ma('listMs'))}  ListServices, every page (stock 4 MiB client) ${s(mb('listMs'))}  ${(ma('listMs') / mb('listMs')).toFixed(2)}x faster`,
);
console.log(
  `  list all again:   ipvsadm -Ln ${s(ma('listMs'))}  ListServices, every page, a later listing ${s(mb('listAgainMs'))}  ${(ma('listMs') / mb('listAgainMs')).toFixed(2)}x faster`,
);
console.log(
  `  WatchStats tick:  ${s(mb('tickCpuMs'))} of server CPU per tick with ${tickWatchers} watchers (2 s interval; ticks came every ${s(mb('tickPeriodMs'))})`,
);
console.log(`  server RSS:       ${mb('rssMb').toFixed(0)} MB after, ${mb('peakRssMb').toFixed(0)} MB at peak`);

console.log(
  `== ${watchers} WatchStats streams on one namespace of 100 x 10 rules, median of ${REPS}, each run a fresh boot ==`,
);
const w: Record<string, number>[] = [];
for (let i = 0; i < REPS; i++) {
  const r = await boot(`${tsx} watchers 100 10 ${watchers}`);
  w.push(r);
  console.log(
    `  run ${i + 1}  ${r.dumps} dumps in ${r.ticks!.toFixed(1)} ticks for ${r.watchers} watchers (${r.delivered} messages)  ` +
      `write p50/p99 alone ${ms(r.p50AloneMs!)}/${ms(r.p99AloneMs!)}, streaming ${ms(r.p50BusyMs!)}/${ms(r.p99BusyMs!)}  peak RSS ${r.peakRssMb!.toFixed(0)} MB`,
  );
}
const mw = (k: string) => median(w.map((r) => r[k]!));
console.log(`  dumps per tick: ${(mw('dumps') / mw('ticks')).toFixed(2)} (window edges add at most one)`);
console.log(
  `  unary write p99: ${ms(mw('p99AloneMs'))} alone, ${ms(mw('p99BusyMs'))} with ${watchers} streams (${(mw('p99BusyMs') / mw('p99AloneMs')).toFixed(1)}x)`,
);
