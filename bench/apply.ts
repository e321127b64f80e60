// `npm run bench:apply [-- 1000x10]`: declarative Apply through the gRPC
// server against ipvsadm -R, each contender in its own fresh user-mode Linux
// boot, median of 3:
//   from empty:   Apply(all)                vs  ipvsadm -R (all)
//   a 1% change:  Apply(all, 1% reweighted) vs  ipvsadm -C; ipvsadm -R (all again)
//   delete all:   Apply([], prune)          vs  ipvsadm -C
// plus an Apply of an unchanged state (it must change nothing), run before
// the 1% change. The server is warmed first with a dry run of the whole
// state (it touches no kernel state), as a long-running server is warm; its
// time is printed too.
import { boot, guest, median, REPS } from './boot.js';

const tsx = guest('bench/apply-guest.ts');
const [n, d] = (process.argv[2] ?? '1000x10').split('x').map(Number) as [number, number];

const ipvsadm = () =>
  boot(
    `${tsx} rules ${n} ${d} > /run/all && ${tsx} rules ${n} ${d} changed > /run/changed && ` +
      'ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }; ' +
      't=$(date +%s%N); ipvsadm -R < /run/all; c=$(ms $t); ' +
      't=$(date +%s%N); ipvsadm -C; ipvsadm -R < /run/changed; u=$(ms $t); ' +
      't=$(date +%s%N); ipvsadm -C; x=$(ms $t); ' +
      'echo "{\\"createMs\\": $c, \\"changeMs\\": $u, \\"deleteMs\\": $x}"',
  );

const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const objects = n * (d + 1);
console.log(
  `== Apply ${n} services x ${d} destinations (${objects} objects), median of ${REPS}, each run a fresh boot ==`,
);
type Who = 'ipvsadm' | 'ipvsd' | 'quiet';
const runs: Record<Who, Record<string, number>[]> = { ipvsadm: [], ipvsd: [], quiet: [] };
const label = { ipvsd: 'ipvsd   ', quiet: 'ipvsd -f' } as const;
for (let i = 0; i < REPS; i++) {
  const a = await ipvsadm();
  runs.ipvsadm.push(a);
  console.log(
    `  run ${i + 1} ipvsadm   create ${s(a.createMs!)}  1% change (re-apply all) ${s(a.changeMs!)}  delete ${s(a.deleteMs!)}`,
  );
  for (const who of ['ipvsd', 'quiet'] as const) {
    const b = await boot(`${tsx} ipvsd ${n} ${d}${who === 'quiet' ? ' failures-only' : ''}`);
    if (b.created !== objects || b.same !== 0 || b.deleted !== n)
      throw new Error(`ipvsd run wrong: ${JSON.stringify(b)}`);
    runs[who].push(b);
    console.log(
      `  run ${i + 1} ${label[who]}  warm-up dry run ${s(b.warmMs!)}  create ${s(b.createMs!)}  unchanged ${s(b.sameMs!)}  1% change ${s(b.changeMs!)} (${b.changed} changes)  delete ${s(b.deleteMs!)}  rss ${b.rssMb!.toFixed(0)} MB`,
    );
  }
}
const m = (who: Who, k: string) => median(runs[who].map((r) => r[k]!));
const x = (base: number, v: number) => `${(base / v).toFixed(1)}x faster`;
console.log('  (ipvsd: the response lists every change; ipvsd -f: failures_only, it lists only refused changes)');
for (const who of ['ipvsd', 'quiet'] as const) {
  console.log(
    `  ${label[who]}  from empty:  ipvsadm -R ${s(m('ipvsadm', 'createMs'))}  Apply ${s(m(who, 'createMs'))}  ${x(m('ipvsadm', 'createMs'), m(who, 'createMs'))}`,
  );
  console.log(
    `  ${label[who]}  1% change:   ipvsadm -C + -R ${s(m('ipvsadm', 'changeMs'))}  Apply ${s(m(who, 'changeMs'))}  ${x(m('ipvsadm', 'changeMs'), m(who, 'changeMs'))}; ` +
      `${x(m(who, 'createMs'), m(who, 'changeMs'))} than Apply of everything from empty`,
  );
  console.log(`  ${label[who]}  unchanged:   Apply ${s(m(who, 'sameMs'))} (no changes)`);
  console.log(
    `  ${label[who]}  delete all:  ipvsadm -C ${s(m('ipvsadm', 'deleteMs'))}  Apply([], prune) ${s(m(who, 'deleteMs'))}`,
  );
}
