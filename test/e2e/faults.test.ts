// Faults during Apply: the rules flushed from outside while it runs, and the
// server killed mid-Apply. Either way the report is exact and a second Apply
// converges to the desired state. The server runs as its own process here,
// so that the fault really lands while its batch is in the kernel.
import { exec, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIpvs, Protocol, status, type IpvsClient } from '../../src/client/index.js';
import { freePort } from '../../src/sandbox/slirp.js';
import { createNetns } from '../kernel/helpers.js';
import { failure, useServer } from './helpers.js';
import { testStateDir } from '../state-dir.js';

const ctx = useServer();
const sh = promisify(exec);
const N = 1000;
const D = 10;
const desired = (n = N) =>
  Array.from({ length: n }, (_, i) => ({
    service: { id: { address: `198.18.${i >> 8}.${i & 255}`, protocol: Protocol.TCP, port: 80 } },
    destinations: Array.from({ length: D }, (_, j) => ({ address: `203.0.113.${j + 1}`, port: 8080 })),
  }));
const count = async () => Number((await sh(`ip netns exec ${ctx.ns.name} ipvsadm -S -n | wc -l`)).stdout);

let port: number;
let server: ChildProcess | undefined;
let c: IpvsClient;
const start = async () => {
  server = spawn(
    process.execPath,
    [
      'dist/src/server/main.js',
      '--sandbox',
      'never',
      '--listen',
      `127.0.0.1:${port}`,
      '--unix',
      '',
      '--netns',
      '*',
      '--state-dir',
      testStateDir(),
    ],
    { stdio: 'ignore' },
  );
  await new Promise<void>((resolve, reject) =>
    c.grpc.waitForReady(Date.now() + 30_000, (e) => (e ? reject(e) : resolve())),
  );
};
const apply = (namespace = ctx.ns.name, n = N) =>
  c.apply({ namespace, services: desired(n), prune: true }, { deadline: 120_000 });
const openFds = () => readdirSync(`/proc/${server!.pid}/fd`).length;

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
      const flusher = sh(
        `ip netns exec ${ctx.ns.name} sh -c 'i=0; while [ "$(ipvsadm -S -n | head -c1)" = "" ] && [ $i -lt 3000 ]; do i=$((i+1)); done; ipvsadm -C'`,
      );
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
    const running = apply().then(
      () => 'finished',
      () => 'cut off',
    );
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

  it('the namespace deleted mid-Apply: NOT_FOUND, its socket closed, and the name usable again', async () => {
    const gone = createNetns('z');
    await c.getInfo({ namespace: gone.name });
    const fds = openFds();
    // A long Apply; the namespace goes as soon as its first service is in (a bounded wait, one process).
    const running = failure(apply(gone.name, 3 * N));
    await sh(
      `i=0; while [ "$(ip netns exec ${gone.name} head -4 /proc/net/ip_vs | wc -l)" -lt 4 ] && [ $i -lt 2000 ]; do i=$((i+1)); done; ip netns del ${gone.name}`,
    );
    expect(await running).toMatchObject({
      code: status.NOT_FOUND,
      field: 'namespace',
      details: expect.stringMatching(/was deleted while the call ran/),
    });
    // The handle's socket kept the dead namespace alive; now it is closed.
    expect(openFds()).toBeLessThan(fds);
    // The same name, a new namespace: a fresh handle, a whole Apply.
    await sh(`ip netns add ${gone.name} && ip -n ${gone.name} link set lo up`);
    try {
      expect(await apply(gone.name)).toMatchObject({ applied: N * (D + 1), failed: 0 });
    } finally {
      gone.remove();
    }
  });
});
