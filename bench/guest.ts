// The guest side of bench/ipvs.ts, run inside user-mode Linux:
//   guest.ts rules N D   print N services x D destinations as `ipvsadm -R` input
//   guest.ts ipvsd N D   create them with one Handle.batch, list them (twice: the first listing of a fresh
//                        process, then a later one), then set every destination's weight to 2 with one batch,
//                        then list seven more times (a daemon's steady listing: their median)
//   guest.ts calls N D   the same create and update, each as Promise.all of single calls made in one loop
//   guest.ts count       print how many services and destinations the kernel holds, and how many have weight 2
// Timings start before the batch's objects are built, as bench/floor.c's
// start before its messages are: building them is part of the work.
import { Handle, IPPROTO_TCP, type BatchOp } from '../src/ipvs/index.js';
import { rip, ruleLines, vip } from './rules.js';

const [mode, n = '0', d = '0'] = process.argv.slice(2);
const services = Number(n);
const dests = Number(d);
const service = (i: number) => ({ address: vip(i), protocol: IPPROTO_TCP, port: 80, schedName: 'wlc' });
const serviceId = (i: number) => ({ address: vip(i), protocol: IPPROTO_TCP, port: 80 });
const destination = (j: number, weight: number) => ({ address: rip(j), port: 8080, weight });

/** What the kernel holds (listed without counters: this is a check, not a figure). */
async function census(h: Handle) {
  const list = await h.getServicesWithDestinations({ counters: false });
  const all = list.flatMap((s) => s.destinations);
  return { services: list.length, destinations: all.length, reweighted: all.filter((x) => x.weight === 2).length };
}

if (mode === 'rules') {
  process.stdout.write(ruleLines(services, dests));
} else if (mode === 'ipvsd') {
  const tOpen = performance.now();
  const h = new Handle();
  const t0 = performance.now();
  const ops: BatchOp[] = [];
  for (let i = 0; i < services; i++) {
    // One object per service: the batch validates the service of its destinations once.
    const s = service(i);
    ops.push({ op: 'newService', service: s });
    for (let j = 0; j < dests; j++) ops.push({ op: 'newDestination', service: s, destination: destination(j, 1) });
  }
  const results = await h.batch(ops);
  const t1 = performance.now();
  const sends = h.io.sends;
  const list = await h.getServicesWithDestinations();
  const t2 = performance.now();
  // The same listing again, as a daemon's later listings run: compiled code, dump sockets open.
  await h.getServicesWithDestinations();
  const warmListMs = performance.now() - t2;
  const t2b = performance.now();
  const updates: BatchOp[] = [];
  for (let i = 0; i < services; i++) {
    const s = serviceId(i);
    for (let j = 0; j < dests; j++)
      updates.push({ op: 'updateDestination', service: s, destination: destination(j, 2) });
  }
  const updated = await h.batch(updates);
  const t3 = performance.now();
  const updateMs = t3 - t2b;
  const failed = results.filter((r) => !r.ok).length;
  const updateFailed = updated.filter((r) => !r.ok).length;
  const listed = list.reduce((sum, s) => sum + 1 + s.destinations.length, 0);
  const { reweighted } = await census(h);
  // A daemon lists again and again: the median of seven more listings, after the update (which they leave alone).
  const steady: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await h.getServicesWithDestinations();
    steady.push(performance.now() - t);
  }
  console.log(
    JSON.stringify({
      openMs: t0 - tOpen,
      createMs: t1 - t0,
      listMs: t2 - t1,
      warmListMs,
      steadyListMs: steady.sort((a, b) => a - b)[3],
      updateMs,
      failed,
      updateFailed,
      listed,
      reweighted,
      sends,
    }),
  );
  h.close();
} else if (mode === 'calls') {
  const h = new Handle();
  // Every call is made in one synchronous loop, so they coalesce; each
  // service's create comes before its destinations' (calls run in call order).
  const t0 = performance.now();
  const creates: Promise<void>[] = [];
  for (let i = 0; i < services; i++) {
    const s = service(i);
    creates.push(h.newService(s));
    for (let j = 0; j < dests; j++) creates.push(h.newDestination(s, destination(j, 1)));
  }
  await Promise.all(creates);
  const t1 = performance.now();
  const created = await census(h);
  const t2 = performance.now();
  const updates: Promise<void>[] = [];
  for (let i = 0; i < services; i++) {
    const s = serviceId(i);
    for (let j = 0; j < dests; j++) updates.push(h.updateDestination(s, destination(j, 2)));
  }
  await Promise.all(updates);
  const t3 = performance.now();
  const { reweighted } = await census(h);
  console.log(
    JSON.stringify({
      createMs: t1 - t0,
      updateMs: t3 - t2,
      listed: created.services + created.destinations,
      reweighted,
    }),
  );
  h.close();
} else if (mode === 'count') {
  const h = new Handle();
  console.log(JSON.stringify(await census(h)));
  h.close();
}
