// `npm run bench [-- SERVICESxDESTS ...]`: create N services x D destinations
// with ipvsd and with `ipvsadm -R`, then list them with ipvsd and with
// `ipvsadm -Ln`. Each contender runs in its own fresh user-mode Linux boot
// (a just-flushed kernel is markedly slower), three times; the medians and
// their ratios are printed. Default sizes: 1000x10 and 10000x10.
// ipvsadm is timed by the guest's shell around the bare command; ipvsd around
// the operation on an open Handle (a daemon opens it once; the open time is
// printed beside it).
import { boot, guest, median, REPS } from './boot.js';

const tsx = guest('bench/guest.ts');
const sizes = (process.argv.slice(2).length ? process.argv.slice(2) : ['1000x10', '10000x10'])
  .map((s) => s.split('x').map(Number) as [number, number]);

interface Run { createMs: number; listMs: number; objects: number; openMs?: number }

async function ipvsd(n: number, d: number): Promise<Run> {
  const r = await boot(`${tsx} ipvsd ${n} ${d}`);
  if (r.failed || r.listed !== n * (d + 1)) throw new Error(`ipvsd run wrong: ${JSON.stringify(r)}`);
  return { createMs: r.createMs!, listMs: r.listMs!, objects: r.listed!, openMs: r.openMs! };
}

async function ipvsadm(n: number, d: number): Promise<Run> {
  // The shell times the bare ipvsadm processes; the rules file is written first, untimed.
  const r = await boot(`${tsx} rules ${n} ${d} > /run/rules && `
    + 't0=$(date +%s%N); ipvsadm -R < /run/rules; t1=$(date +%s%N); ipvsadm -Ln > /dev/null; t2=$(date +%s%N); '
    + `c=$(${tsx} count) && echo "{\\"createMs\\": $(( (t1 - t0) / 1000000 )), \\"listMs\\": $(( (t2 - t1) / 1000000 )), \\"count\\": $c}"`);
  const count = r.count as unknown as { services: number; destinations: number };
  if (count.services !== n || count.destinations !== n * d) throw new Error(`ipvsadm run wrong: ${JSON.stringify(r)}`);
  return { createMs: r.createMs!, listMs: r.listMs!, objects: n * (d + 1) };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

for (const [n, d] of sizes) {
  const objects = n * (d + 1);
  console.log(`\n== ${n} services x ${d} destinations (${objects} objects), median of ${REPS}, each run a fresh boot ==`);
  const runs: Record<'ipvsd' | 'ipvsadm', Run[]> = { ipvsd: [], ipvsadm: [] };
  for (let i = 0; i < REPS; i++) {
    for (const [name, fn] of [['ipvsadm', ipvsadm], ['ipvsd', ipvsd]] as const) {
      const r = await fn(n, d);
      runs[name].push(r);
      console.log(`  run ${i + 1} ${name.padEnd(7)} create ${fmt(r.createMs)}  list ${fmt(r.listMs)}${r.openMs ? `  (handle open, untimed above: ${fmt(r.openMs)})` : ''}`);
    }
  }
  const m = (name: 'ipvsd' | 'ipvsadm', k: 'createMs' | 'listMs') => median(runs[name].map((r) => r[k]));
  const [ca, cd, la, ld] = [m('ipvsadm', 'createMs'), m('ipvsd', 'createMs'), m('ipvsadm', 'listMs'), m('ipvsd', 'listMs')];
  console.log(`  create: ipvsadm -R ${fmt(ca)} (${Math.round(objects / (ca / 1000))} objects/s)  ipvsd ${fmt(cd)} (${Math.round(objects / (cd / 1000))} objects/s)  ipvsd is ${(ca / cd).toFixed(1)}x faster`);
  console.log(`  list:   ipvsadm -Ln ${fmt(la)}  ipvsd ${fmt(ld)}  ipvsd is ${(la / ld).toFixed(2)}x as fast`);
}
