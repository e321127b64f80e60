// The guest side of bench/ipvs.ts, run inside user-mode Linux:
//   guest.ts rules N D   print N services x D destinations as `ipvsadm -R` input
//   guest.ts ipvsd N D   create them with the library, list them, print timings as JSON
//   guest.ts count       print how many services and destinations the kernel holds
import { Handle, IPPROTO_TCP, type BatchOp } from '../src/ipvs/index.js';

const [mode, n = '0', d = '0'] = process.argv.slice(2);
const services = Number(n);
const dests = Number(d);

// VIPs from 198.18.0.0/15, real servers from 203.0.113.0/24: benchmark ranges only.
const vip = (i: number) => `198.18.${i >> 8}.${i & 255}`;
const rip = (j: number) => `203.0.113.${j + 1}`;

if (mode === 'rules') {
  const lines: string[] = [];
  for (let i = 0; i < services; i++) {
    lines.push(`-A -t ${vip(i)}:80 -s wlc`);
    for (let j = 0; j < dests; j++) lines.push(`-a -t ${vip(i)}:80 -r ${rip(j)}:8080 -m -w 1`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
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
