// A TypeScript client of ipvsd, through the @ipvsd/client package as its
// users install it (npm install @ipvsd/client): creates a service with two
// destinations, reads it back, lists every service, watches its counters
// until they show --expect connections (at most 10 ticks), and deletes it.
// It prints one line per step; the e2e test (test/e2e/client-package.test.ts)
// reads them, after scripts/client-package.ts installed the packed tarball
// beside it, outside the repository, and type-checked it with tsc.
//
//   npx tsc -p . && node dist/example.js --addr 127.0.0.1:50051 --netns blue --expect 4
import { parseArgs } from 'node:util';
import { connectIpvs, IpvsError, Protocol, status } from '@ipvsd/client';

const { values: a } = parseArgs({
  options: {
    addr: { type: 'string', default: '127.0.0.1:50051' },
    netns: { type: 'string', default: '' },
    vip: { type: 'string', default: '192.0.2.10' },
    expect: { type: 'string', default: '1' },
  },
});
const namespace = a.netns;

const c = connectIpvs(a.addr); // or 'unix:/run/ipvsd.sock'; TLS: { credentials }
const web = { address: a.vip, protocol: Protocol.TCP, port: 80 };
await c.createService({ namespace, service: { id: web, schedName: 'rr' } });
for (const address of ['203.0.113.2', '203.0.113.6'])
  await c.createDestination({ namespace, service: web, destination: { address, port: 8080 } });
try {
  await c.createService({ namespace, service: { id: web } });
} catch (e) {
  // Every failure is an IpvsError: the gRPC status, and the kernel's errno when it refused.
  if (!(e instanceof IpvsError && e.code === status.ALREADY_EXISTS)) throw e;
  console.log(`again ${e.errno}`);
}
const got = await c.getService({ namespace, service: web, includeDestinations: true });
console.log(`created ${got.service?.service?.schedName} ${got.service?.destinations.length} destinations`);

let listed = 0;
for await (const s of c.listAllServices({ namespace, includeDestinations: true })) listed += s.destinations.length;
console.log(`listed ${listed} destinations`);

const ac = new AbortController();
let ticks = 0;
for await (const snap of c.watchStats({ namespace, services: [web] }, { signal: ac.signal })) {
  const connections = snap.services[0]?.stats?.connections ?? 0n;
  console.log(`tick connections=${connections}`);
  if (connections >= BigInt(a.expect) || ++ticks >= 10) ac.abort(); // the iteration then ends quietly
}

await c.deleteService({ namespace, service: web });
console.log('deleted');
c.close();
