// Faults during Apply: the rules flushed from outside while it runs, and the
// server killed mid-Apply. Either way the report is exact and a second Apply
// converges to the desired state. The server runs as its own process here,
// so that the fault really lands while its batch is in the kernel.
import { exec, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIpvs, Protocol, type IpvsClient } from '../../src/client/index.js';
import { freePort } from '../../src/sandbox/slirp.js';
import { useServer } from './helpers.js';

const ctx = useServer();
const sh = promisify(exec);
const N = 1000;
const D = 10;
const desired = () => Array.from({ length: N }, (_, i) => ({
  service: { id: { address: `198.18.${i >> 8}.${i & 255}`, protocol: Protocol.TCP, port: 80 } },
  destinations: Array.from({ length: D }, (_, j) => ({ address: `203.0.113.${j + 1}`, port: 8080 })),
}));
const count = async () => Number((await sh(`ip netns exec ${ctx.ns.name} ipvsadm -S -n | wc -l`)).stdout);

let port: number;
let server: ChildProcess | undefined;
let c: IpvsClient;
const start = async () => {
  server = spawn(process.execPath, ['dist/src/server/main.js', '--sandbox', 'never', '--listen', `127.0.0.1:${port}`, '--unix', '', '--netns', ctx.ns.name], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => c.grpc.waitForReady(Date.now() + 30_000, (e) => (e ? reject(e) : resolve())));
};
const apply = () => c.apply({ namespace: ctx.ns.name, services: desired(), prune: true }, { deadline: 120_000 });

describe('faults during Apply', () => {
  beforeAll(async () => {
    port = await freePort();
    c = connectIpvs(`127.0.0.1:${port}`);
    await start();
  });
  afterAll(() => {
    c?.close();
    server?.kill('SIGTERM');
  });

  it('ipvsadm -C from outside mid-Apply: the report stays exact, and Apply again converges', async () => {
    // The flush must land inside the batch (then some of the rules survive it);
    // the timing is the scheduler's, so try a few times, bounded.
    let survivors = 0;
    for (let attempt = 0; attempt < 4 && !(survivors > 0 && survivors < N * (D + 1)); attempt++) {
      await sh(`ip netns exec ${ctx.ns.name} ipvsadm -C`);
      // One waiting process flushes the moment the first rules appear (bounded loop).
      const flusher = sh(`ip netns exec ${ctx.ns.name} sh -c 'i=0; while [ "$(ipvsadm -S -n | head -c1)" = "" ] && [ $i -lt 3000 ]; do i=$((i+1)); done; ipvsadm -C'`);
      const r = await apply();
      await flusher;
      // Every change is accounted for; a destination whose service the flush took is refused with ESRCH.
      expect(r.applied + r.failed).toBe(N * (D + 1));
      for (const x of r.changes) if (x.code) expect(['ESRCH', 'ENOENT']).toContain(x.errno);
      survivors = await count();
    }
    expect(survivors, 'a flush landed inside a batch').toBeGreaterThan(0);
    expect(survivors).toBeLessThan(N * (D + 1));
    const again = await apply();
    expect(again.failed).toBe(0);
    expect(again.applied).toBe(N * (D + 1) - survivors);
    expect(await count()).toBe(N * (D + 1));
    expect((await apply()).changes).toEqual([]);
  });

  it('the server killed mid-Apply: restarted, Apply again converges', async () => {
    await sh(`ip netns exec ${ctx.ns.name} ipvsadm -C`);
    const running = apply().then(() => 'finished', () => 'cut off');
    for (let i = 0; i < 200 && (await count()) === 0; i++);
    server!.kill('SIGKILL');
    await running;
    const partial = await count();
    expect(partial).toBeLessThanOrEqual(N * (D + 1));
    await start();
    const r = await apply();
    expect(r.failed).toBe(0);
    expect(r.applied).toBe(N * (D + 1) - partial);
    expect(await count()).toBe(N * (D + 1));
  });
});
