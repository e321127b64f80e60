// A bounded soak: writers, listers and watchers (opened and cancelled over
// and over) against a server in its own process, for SOAK_SECONDS (45 in
// the suite; `SOAK_SECONDS=300` for the five-minute run). The server's
// memory and file descriptors must be flat at the end, and it must still
// serve. Loopback only; every loop is bounded by time and by count.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIpvs, Protocol, type IpvsClient } from '../../src/client/index.js';
import { freePort } from '../../src/sandbox/slirp.js';
import { createNetns, type Netns } from '../kernel/helpers.js';
import { testStateDir } from '../state-dir.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 45);
const MAX_ROUNDS = 100_000;
const service = (i: number) => ({ address: `198.18.1.${i}`, protocol: Protocol.TCP, port: 80 });

let ns: Netns;
let server: ChildProcess;
let c: IpvsClient;

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) / 1024;
const fds = () => readdirSync(`/proc/${server.pid}/fd`).length;

describe('soak', () => {
  beforeAll(async () => {
    ns = createNetns('s');
    const port = await freePort();
    server = spawn(
      process.execPath,
      [
        'dist/src/server/main.js',
        '--sandbox',
        'never',
        '--log-level',
        'warn',
        '--listen',
        `127.0.0.1:${port}`,
        '--unix',
        '',
        '--netns',
        ns.name,
        '--state-dir',
        testStateDir(),
      ],
      { stdio: 'ignore' },
    );
    c = connectIpvs(`127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) =>
      c.grpc.waitForReady(Date.now() + 30_000, (e) => (e ? reject(e) : resolve())),
    );
  });
  afterAll(() => {
    c?.close();
    server?.kill('SIGTERM');
    ns?.remove();
  });

  it(
    `mixed writes, listings and watches for ${SECONDS} s leave memory and descriptors flat`,
    async () => {
      const namespace = ns.name;
      const end = Date.now() + SECONDS * 1000;
      const counts = { writes: 0, lists: 0, watches: 0, messages: 0, errors: 0 };
      const running = () => Date.now() < end;

      // Writers: each owns services, creating, reweighting and deleting destinations, with an Apply now and then.
      const writer = async (w: number) => {
        for (let round = 0; running() && round < MAX_ROUNDS; round++) {
          const svc = service(w * 10 + (round % 10) + 1);
          const destinations = Array.from({ length: 1 + (round % 5) }, (_, j) => ({
            address: `203.0.113.${j + 1}`,
            port: 8080,
            weight: 1 + (round % 3),
          }));
          await c.upsertService({ namespace, service: { service: { id: svc, schedName: 'rr' }, destinations } });
          await c.updateDestination({ namespace, service: svc, destination: { ...destinations[0]!, weight: 9 } });
          if (round % 4 === 3) await c.deleteService({ namespace, service: svc });
          if (round % 10 === 9)
            await c.apply({ namespace, services: [], prune: true, scope: { addresses: [svc.address] } });
          counts.writes += 4;
        }
      };
      const lister = async () => {
        for (let round = 0; running() && round < MAX_ROUNDS; round++) {
          await c.listServices({ namespace, includeDestinations: true });
          counts.lists++;
          await sleep(20);
        }
      };
      // Watchers: streams opened, read for a while, then cancelled; fast ticks so each sees several.
      const watcher = async (events: boolean) => {
        for (let round = 0; running() && round < MAX_ROUNDS; round++) {
          const ac = new AbortController();
          const stop = setTimeout(() => ac.abort(), 1500);
          const req = { namespace, interval: { seconds: 0n, nanos: 200_000_000 }, allowFast: true };
          for await (const _ of events
            ? c.watchEvents(req, { signal: ac.signal })
            : c.watchStats(req, { signal: ac.signal }))
            counts.messages++;
          clearTimeout(stop);
          counts.watches++;
        }
      };
      const tracked = (p: Promise<void>) =>
        p.catch(() => {
          counts.errors++;
        });

      const load = Promise.all([
        ...[0, 1, 2].map((w) => tracked(writer(w))),
        tracked(lister()),
        ...Array.from({ length: 8 }, (_, i) => tracked(watcher(i % 2 === 0))),
      ]);
      // Memory after a fifth of the time (warm), and descriptors with the load at full tilt.
      await sleep(SECONDS * 200);
      const warm = { rss: rssMb(), fds: fds() };
      await load;
      await sleep(3000); // streams' sockets and timers wind down
      const after = { rss: rssMb(), fds: fds() };
      console.log(
        `soak ${SECONDS} s: ${JSON.stringify(counts)}; server RSS ${warm.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MB, fds ${warm.fds} -> ${after.fds}`,
      );

      expect(counts.errors).toBe(0);
      expect(counts.writes).toBeGreaterThan(100);
      expect(counts.watches).toBeGreaterThan(8);
      expect(after.fds).toBeLessThanOrEqual(warm.fds);
      expect(after.rss).toBeLessThan(warm.rss * 1.25 + 10);
      // Still serving, and the rules are what the writers left.
      expect((await c.listServices({ namespace })).services.length).toBe(
        Number(ns.exec('ipvsadm -S -n | grep -c "^-A" || true').trim()),
      );
    },
    (SECONDS + 60) * 1000,
  );
});
