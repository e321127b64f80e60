// In the guest (bench/connections.ts boots it): N connection entries (a UDP
// datagram from each of N client ports through a UDP VIP), then the time and
// memory of reading them: ipvsadm -Lnc, and ListConnections through the
// server (its own process) following every page, at the default
// --max-response-bytes (the first listing, then a later one) and at
// page_size 1000, and filtered. Prints one JSON line.
import { execFileSync, spawnSync } from 'node:child_process';
import { Protocol } from '../src/client/index.js';
import { startServerProcess } from './server-process.js';

const n = Number(process.argv[2] ?? 20_000);
const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 30 });

sh(`ip netns add d && ip netns add c && ip -n d link set lo up && ip -n c link set lo up &&
  ip link add c0 netns c type veth peer name d0 netns d &&
  ip -n c addr add 198.51.100.2/24 dev c0 && ip -n c link set c0 up && ip -n c route add 192.0.2.0/24 via 198.51.100.1 &&
  ip -n d addr add 198.51.100.1/24 dev d0 && ip -n d link set d0 up && ip -n d addr add 192.0.2.10/32 dev lo &&
  ip -n d link add r0 type dummy && ip -n d link set r0 up && ip -n d addr add 203.0.113.1/30 dev r0 &&
  ip netns exec d ipvsadm -A -u 192.0.2.10:53 -s rr && ip netns exec d ipvsadm -a -u 192.0.2.10:53 -r 203.0.113.2:53 -m`);
// One datagram from each of n ports (from 20000 on), 200 at a time: a bounded loop.
const send = `const dgram = require('dgram');
  const one = (p) => new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    s.bind(p, () => s.send('x', 53, '192.0.2.10', (e) => { s.close(); e ? reject(e) : resolve(); }));
  });
  (async () => {
    for (let p = 20000; p < ${20000 + n}; p += 200) {
      const batch = [];
      for (let q = p; q < Math.min(p + 200, ${20000 + n}); q++) batch.push(one(q));
      await Promise.all(batch);
    }
  })().catch((e) => { console.error(e); process.exit(1); });`;
const sent = spawnSync('ip', ['netns', 'exec', 'c', process.execPath, '-e', send], {
  stdio: 'inherit',
  timeout: 300_000,
});
if (sent.status !== 0) throw new Error('sending the datagrams failed');

let t = performance.now();
const listed = sh('ip netns exec d ipvsadm -Lnc').trimEnd().split('\n').length - 2;
const ipvsadmMs = performance.now() - t;
if (listed !== n) throw new Error(`ipvsadm -Lnc lists ${listed} entries, not ${n}`);

const server = await startServerProcess(['--netns', 'd']);
const c = await server.connect();
await c.listConnections({ namespace: 'd', pageSize: 1 }); // warm: the handle, the code paths
const rssBefore = server.rss().now;
const follow = async (pageSize: number) => {
  const start = performance.now();
  let pages = 0;
  let entries = 0;
  let pageToken = '';
  do {
    const page = await c.listConnections({ namespace: 'd', pageSize, pageToken });
    entries += page.connections.length;
    pages++;
    pageToken = page.nextPageToken;
  } while (pageToken);
  if (entries !== n) throw new Error(`ListConnections gave ${entries} entries, not ${n}`);
  return { ms: performance.now() - start, pages };
};
// The first listing of a fresh server compiles its code paths (user-mode Linux runs JavaScript 7-9x slower); a
// daemon's later listings are what it serves from then on.
const first = await follow(0);
const whole = await follow(0);
const small = await follow(1000);
t = performance.now();
let filtered = 0;
for await (const _ of c.listAllConnections({ namespace: 'd', protocol: Protocol.UDP, destinationPort: 53 })) filtered++;
const filteredMs = performance.now() - t;
if (filtered !== n) throw new Error(`the filtered listing gave ${filtered}`);
const rss = server.rss();
c.close();
await server.stop();
console.log(
  JSON.stringify({
    entries: n,
    ipvsadmMs,
    firstListMs: first.ms,
    listMs: whole.ms,
    pages: whole.pages,
    list1000Ms: small.ms,
    pages1000: small.pages,
    filteredMs,
    rssBeforeMiB: rssBefore,
    rssAfterMiB: rss.now,
    rssPeakMiB: rss.peak,
  }),
);
