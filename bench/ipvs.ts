// `npm run bench [-- SERVICESxDESTS ...]`: create N services x D destinations
// with ipvsd and with `ipvsadm -R`, then list them with ipvsd and with
// `ipvsadm -Ln`; set every destination's weight to 2. Against two baselines:
// a C program sending ipvsd's very requests, packed the same way (bench/floor.c,
// the floor under any netlink client), and for the batch, Promise.all of the
// same writes as single calls. Each contender runs in its own fresh user-mode
// Linux boot (a just-flushed kernel is markedly slower), three times; the
// medians and their ratios are printed. Default sizes: 1000x10 and 10000x10.
// ipvsadm is timed by the guest's shell around the bare command; the C floor
// by itself (clock_gettime) and ipvsd by the guest script, both around
// building the requests and the exchange, on an open socket (a daemon opens
// it once; ipvsd's open time is printed beside it).
import { boot, guest, median, REPS } from './boot.js';
import { buildFloor } from './floor.js';

const tsx = guest('bench/guest.ts');
const floor = buildFloor();
const sizes = (process.argv.slice(2).length ? process.argv.slice(2) : ['1000x10', '10000x10']).map(
  (s) => s.split('x').map(Number) as [number, number],
);

interface Run {
  createMs: number;
  listMs?: number;
  warmListMs?: number;
  steadyListMs?: number;
  updateMs?: number;
  openMs?: number;
}
type Count = { services: number; destinations: number; reweighted: number };

const wrong = (who: string, r: unknown) => new Error(`${who} run wrong: ${JSON.stringify(r)}`);

async function ipvsd(n: number, d: number): Promise<Run> {
  const r = await boot(`${tsx} ipvsd ${n} ${d}`);
  if (r.failed || r.updateFailed || r.listed !== n * (d + 1) || r.reweighted !== n * d) throw wrong('ipvsd', r);
  return {
    createMs: r.createMs!,
    listMs: r.listMs!,
    warmListMs: r.warmListMs!,
    steadyListMs: r.steadyListMs!,
    updateMs: r.updateMs!,
    openMs: r.openMs!,
  };
}

async function calls(n: number, d: number): Promise<Run> {
  const r = await boot(`${tsx} calls ${n} ${d}`);
  if (r.listed !== n * (d + 1) || r.reweighted !== n * d) throw wrong('Promise.all', r);
  return { createMs: r.createMs!, updateMs: r.updateMs! };
}

async function cFloor(n: number, d: number): Promise<Run> {
  type Out = { failed: number; createMs: number; updateMs: number };
  const r = (await boot(
    `c=$(${floor} create ${n} ${d}) && u=$(${floor} update ${n} ${d}) && k=$(${tsx} count) && ` +
      'echo "{\\"create\\": $c, \\"update\\": $u, \\"count\\": $k}"',
  )) as unknown as { create: Out; update: Out; count: Count };
  const { create, update, count } = r;
  if (
    create.failed ||
    update.failed ||
    count.services !== n ||
    count.destinations !== n * d ||
    count.reweighted !== n * d
  )
    throw wrong('C floor', r);
  return { createMs: create.createMs, updateMs: update.updateMs };
}

async function ipvsadm(n: number, d: number): Promise<Run> {
  // The shell times the bare ipvsadm processes; the rules file is written first, untimed.
  const r = await boot(
    `${tsx} rules ${n} ${d} > /run/rules && ` +
      't0=$(date +%s%N); ipvsadm -R < /run/rules; t1=$(date +%s%N); ipvsadm -Ln > /dev/null; t2=$(date +%s%N); ' +
      `c=$(${tsx} count) && echo "{\\"createMs\\": $(( (t1 - t0) / 1000000 )), \\"listMs\\": $(( (t2 - t1) / 1000000 )), \\"count\\": $c}"`,
  );
  const count = r.count as unknown as Count;
  if (count.services !== n || count.destinations !== n * d) throw wrong('ipvsadm', r);
  return { createMs: r.createMs!, listMs: r.listMs! };
}

const contenders = { ipvsadm, 'C floor': cFloor, ipvsd, 'Promise.all': calls } as const;
type Name = keyof typeof contenders;
const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const x = (v: number, base: number, digits = 1) => `${(v / base).toFixed(digits)}x`;

for (const [n, d] of sizes) {
  const objects = n * (d + 1);
  console.log(
    `\n== ${n} services x ${d} destinations (${objects} objects), median of ${REPS}, each run a fresh boot ==`,
  );
  const runs = Object.fromEntries(Object.keys(contenders).map((k) => [k, [] as Run[]])) as Record<Name, Run[]>;
  for (let i = 0; i < REPS; i++) {
    for (const [name, fn] of Object.entries(contenders) as [Name, typeof ipvsd][]) {
      const r = await fn(n, d);
      runs[name].push(r);
      console.log(
        `  run ${i + 1} ${name.padEnd(11)} create ${fmt(r.createMs)}${r.listMs === undefined ? '' : `  list ${fmt(r.listMs)}`}` +
          `${r.warmListMs === undefined ? '' : ` (again: ${fmt(r.warmListMs)}, steady ${fmt(r.steadyListMs!)})`}` +
          `${r.updateMs === undefined ? '' : `  update ${fmt(r.updateMs)}`}${r.openMs ? `  (handle open, untimed above: ${fmt(r.openMs)})` : ''}`,
      );
    }
  }
  const m = (name: Name, k: 'createMs' | 'listMs' | 'warmListMs' | 'steadyListMs' | 'updateMs') =>
    median(runs[name].map((r) => r[k]!));
  const [ca, cd, la, ld] = [
    m('ipvsadm', 'createMs'),
    m('ipvsd', 'createMs'),
    m('ipvsadm', 'listMs'),
    m('ipvsd', 'listMs'),
  ];
  const [cf, uf, ud, cp, up] = [
    m('C floor', 'createMs'),
    m('C floor', 'updateMs'),
    m('ipvsd', 'updateMs'),
    m('Promise.all', 'createMs'),
    m('Promise.all', 'updateMs'),
  ];
  console.log(
    `  create: ipvsadm -R ${fmt(ca)} (${Math.round(objects / (ca / 1000))} objects/s)  ipvsd ${fmt(cd)} (${Math.round(objects / (cd / 1000))} objects/s)  ipvsd is ${(ca / cd).toFixed(1)}x faster`,
  );
  const lw = m('ipvsd', 'warmListMs');
  console.log(`  list:   ipvsadm -Ln ${fmt(la)}  ipvsd ${fmt(ld)}  ipvsd is ${(la / ld).toFixed(2)}x as fast`);
  console.log(
    `  list, the second listing (compiled code, sockets open): ipvsd ${fmt(lw)}  ${(la / lw).toFixed(2)}x as fast as ipvsadm -Ln`,
  );
  const ls = m('ipvsd', 'steadyListMs');
  console.log(
    `  list, steady (a daemon's: median of listings 3-9): ipvsd ${fmt(ls)}  ${(la / ls).toFixed(2)}x as fast as ipvsadm -Ln`,
  );
  console.log(
    `  create: C floor ${fmt(cf)}, ipvsd batch ${fmt(cd)} (${x(cd, cf)} the floor), ipvsadm -R ${fmt(ca)} (${x(ca, cf)} the floor)`,
  );
  console.log(`  update: C floor ${fmt(uf)}, ipvsd batch ${fmt(ud)} (${x(ud, uf)} the floor)`);
  console.log(
    `  Promise.all create ${fmt(cp)} vs batch ${fmt(cd)}: ${x(cp, cd, 2)} the batch; update: Promise.all ${fmt(up)} vs batch ${fmt(ud)}: ${x(up, ud, 2)}`,
  );
}
