// Clients and servers as node processes inside a namespace, for the
// connection table's tests: TCP connections held open (ESTABLISHED entries),
// and UDP datagrams from chosen source ports (one entry each).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Netns } from './helpers.js';

/** Runs node `code` inside `ns`; resolves once it prints "ready" (it must within 120 s); the caller kills it. */
export async function nodeIn(ns: Netns, code: string): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => p.kill(), 120_000);
  const [data] = await Promise.race([once(p.stdout!, 'data'), once(p, 'exit').then(() => ['exited'])]);
  clearTimeout(timer);
  if (!String(data).includes('ready')) throw new Error(`node in ${ns.name}: ${data}`);
  return p;
}

/** A TCP server at address:port that accepts and holds every connection. */
export const holdingServer = (ns: Netns, address: string, port: number) =>
  nodeIn(ns, `require('net').createServer(() => {}).listen(${port}, '${address}', () => console.log('ready'))`);

/** `count` TCP connections to address:port, open once it resolves, held until the process is killed (60 s at most). */
export const holdConnections = (ns: Netns, address: string, port: number, count: number) =>
  nodeIn(
    ns,
    `const net = require('net'); let n = 0;
     for (let i = 0; i < ${count}; i++)
       net.connect(${port}, '${address}', () => { if (++n === ${count}) console.log('ready'); })
         .on('error', (e) => { console.error(e); process.exit(1); });
     setTimeout(() => process.exit(0), 60000);`,
  );

/**
 * One UDP datagram to address:port from each source port from `first` on (`count` of them, 200 at a time); resolves
 * once all are sent.
 */
export async function sendUdp(ns: Netns, address: string, port: number, first: number, count: number): Promise<void> {
  const p = await nodeIn(
    ns,
    `const dgram = require('dgram');
     const one = (p) => new Promise((resolve, reject) => {
       const s = dgram.createSocket('${address.includes(':') ? 'udp6' : 'udp4'}');
       s.on('error', reject);
       s.bind(p, () => s.send('x', ${port}, '${address}', (e) => { s.close(); e ? reject(e) : resolve(); }));
     });
     (async () => {
       for (let p = ${first}; p < ${first + count}; p += 200) {
         const batch = [];
         for (let q = p; q < Math.min(p + 200, ${first + count}); q++) batch.push(one(q));
         await Promise.all(batch);
       }
       console.log('ready');
     })().catch((e) => { console.error(e); process.exit(1); });`,
  );
  p.kill();
}
