// The guest side of bench/apply.ts, inside user-mode Linux:
//   apply-guest.ts ipvsd N D [failures-only]   a server in this process, a gRPC client Applying:
//                               from empty, unchanged, a 1% change, delete all (reporting every change, or only failures)
//   apply-guest.ts rules N D [changed]   ipvsadm -R input (with every 100th service's destinations reweighted)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectIpvs } from '../src/client/index.js';
import { parseConfig, type ServerConfig } from '../src/server/config.js';
import { startServer } from '../src/server/server.js';
import { rip, ruleLines, vip } from './rules.js';

/** A throwaway state directory (the guest's /tmp): a benchmark never touches /var/lib/ipvsd. */
const stateDir = () => mkdtempSync(join(tmpdir(), 'ipvsd-bench-state-'));
const [mode, n = '0', d = '0', option] = process.argv.slice(2);
const changed = option === 'changed';
const failuresOnly = option === 'failures-only';
const services = Number(n);
const dests = Number(d);
/** 1% of the services get new weights on every destination. */
const weight = (i: number, change: boolean) => (change && i % 100 === 0 ? 5 : 1);

if (mode === 'rules') {
  process.stdout.write(ruleLines(services, dests, (i) => weight(i, changed)));
} else if (mode === 'ipvsd') {
  const server = await startServer(
    parseConfig(
      ['--listen', '127.0.0.1:0', '--unix', '', '--max-message-bytes', String(256 << 20), '--state-dir', stateDir()],
      {},
    ) as ServerConfig,
    pino({ level: 'silent' }),
  );
  const c = connectIpvs(server.addresses[0]!, { channelOptions: { 'grpc.max_send_message_length': 256 << 20 } });
  const desired = (change: boolean) =>
    Array.from({ length: services }, (_, i) => ({
      service: { id: { address: vip(i), protocol: 6, port: 80 }, schedName: 'wlc' },
      destinations: Array.from({ length: dests }, (_, j) => ({
        address: rip(j),
        port: 8080,
        weight: weight(i, change),
      })),
    }));
  await c.getInfo({}); // connect first: the figures are of Apply, not of dialing
  // A long-running server has compiled its hot paths: warm this one with a
  // dry run of the same state (it plans everything and touches no kernel state).
  const t0 = performance.now();
  await c.apply({ services: desired(false), prune: true, dryRun: true });
  const warmMs = performance.now() - t0;
  const time = async (f: () => Promise<{ applied: number; failed: number }>) => {
    const t = performance.now();
    const r = await f();
    if (r.failed) throw new Error(`${r.failed} changes failed`);
    return { ms: performance.now() - t, applied: r.applied };
  };
  const create = await time(() => c.apply({ services: desired(false), prune: true, failuresOnly }));
  const same = await time(() => c.apply({ services: desired(false), prune: true, failuresOnly }));
  const change = await time(() => c.apply({ services: desired(true), prune: true, failuresOnly }));
  const remove = await time(() => c.apply({ services: [], prune: true, failuresOnly }));
  const rss = process.memoryUsage().rss;
  console.log(
    JSON.stringify({
      warmMs,
      createMs: create.ms,
      created: create.applied,
      changeMs: change.ms,
      changed: change.applied,
      sameMs: same.ms,
      same: same.applied,
      deleteMs: remove.ms,
      deleted: remove.applied,
      rssMb: rss / 2 ** 20,
    }),
  );
  c.close();
  await server.shutdown();
}
