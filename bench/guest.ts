// The guest side of bench/ipvs.ts, run inside user-mode Linux:
//   guest.ts rules N D   print N services x D destinations as `ipvsadm -R` input
//   guest.ts ipvsd N D   create them with the library, list them, print timings as JSON
//   guest.ts count       print how many services and destinations the kernel holds
import { Handle, IPPROTO_TCP, type BatchOp } from '../src/ipvs/index.js';
import { rip, ruleLines, vip } from './rules.js';

const [mode, n = '0', d = '0'] = process.argv.slice(2);
const services = Number(n);
const dests = Number(d);

if (mode === 'rules') {
  process.stdout.write(ruleLines(services, dests));
} else if (mode === 'ipvsd') {
  const ops: BatchOp[] = [];
  for (let i = 0; i < services; i++) {
    const service = { address: vip(i), protocol: IPPROTO_TCP, port: 80, schedName: 'wlc' };
    ops.push({ op: 'newService', service });
    for (let j = 0; j < dests; j++) ops.push({ op: 'newDestination', service, destination: { address: rip(j), port: 8080, weight: 1 } });
  }
  const tOpen = performance.now();
  const h = new Handle();
  const t0 = performance.now();
  const results = await h.batch(ops);
  const t1 = performance.now();
  const list = await h.getServicesWithDestinations();
  const t2 = performance.now();
  const failed = results.filter((r) => !r.ok).length;
  const listed = list.reduce((sum, s) => sum + 1 + s.destinations.length, 0);
  console.log(JSON.stringify({ openMs: t0 - tOpen, createMs: t1 - t0, listMs: t2 - t1, failed, listed, sends: h.io.sends }));
  h.close();
} else if (mode === 'count') {
  const h = new Handle();
  const list = await h.getServicesWithDestinations();
  console.log(JSON.stringify({ services: list.length, destinations: list.reduce((s, x) => s + x.destinations.length, 0) }));
  h.close();
}
