// The kinds of check beyond tcp and http (test/e2e/health.test.ts), each
// against a real server in its own namespace made to fail the way that kind
// sees: a gRPC health service NOT_SERVING, a UDP responder gone silent, a
// script exiting 1. Each failed server reaches weight 0 within fall x
// interval + 1 s, client requests through the VIP then reach only the
// healthy one, and once it recovers it is back within rise x interval + 1 s.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REAL } from '../kernel/topology.js';
import { type Check, useHealthPool } from './health-pool.js';

const pool = useHealthPool();
const { ctx, state, until, destinations, probed } = pool;
const GRPC_PORT = 8083;
const UDP_PORT = 8084;
const modules = resolve(import.meta.dirname, '../../node_modules');

// Each responder flips between healthy and failing at SIGUSR1. Per real server: the gRPC one first, then the UDP one.
for (const i of REAL.keys()) {
  pool.serve(
    i,
    (server) => `const grpc = require('${modules}/@grpc/grpc-js');
      const { HealthImplementation } = require('${modules}/grpc-health-check');
      const health = new HealthImplementation({ '': 'SERVING', web: 'SERVING' });
      let serving = true;
      process.on('SIGUSR1', () => { serving = !serving; health.setStatus('web', serving ? 'SERVING' : 'NOT_SERVING'); });
      const s = new grpc.Server();
      health.addToServer(s);
      s.bindAsync('${server}:${GRPC_PORT}', grpc.ServerCredentials.createInsecure(), () => console.log('ready'));`,
  );
  pool.serve(
    i,
    (server) => `let answering = true;
      process.on('SIGUSR1', () => { answering = !answering; });
      const s = require('dgram').createSocket('udp4');
      s.on('message', (m, from) => { if (answering) s.send('pong ' + m, from.port, from.address); });
      s.bind(${UDP_PORT}, '${server}', () => console.log('ready'));`,
  );
}

// The script is down for an address while a file named after it exists.
const flags = mkdtempSync('/var/tmp/ipvsd-exec-check-');
const script = join(flags, 'check.sh');
writeFileSync(script, `#!/bin/sh\ntest ! -e "${flags}/down-$IPVSD_ADDRESS"\n`);
chmodSync(script, 0o755);
afterAll(() => rmSync(flags, { recursive: true, force: true }));

// A 1 s interval: starting a script (or a gRPC call) takes hundreds of ms in user-mode Linux.
const timing: Check = { interval: { seconds: 1n }, timeout: { nanos: 800e6 }, rise: 2, fall: 2 };
// fall x interval + 1 s, as the issue asks; rise x interval + 1 s back.
const DOWN_MS = 2 * 1000 + 1000;
const UP_MS = 2 * 1000 + 1000;

const kinds: { kind: string; check: Check; fail(i: number): void; recover(i: number): void; reason: string }[] = [
  {
    kind: 'grpc',
    check: { ...timing, port: GRPC_PORT, kind: { case: 'grpc', value: { service: 'web' } } },
    fail: (i) => pool.served[2 * i]!.kill('SIGUSR1'),
    recover: (i) => pool.served[2 * i]!.kill('SIGUSR1'),
    reason: 'gRPC NOT_SERVING',
  },
  {
    kind: 'udp',
    // Silence fails only at the timeout, which the second failure adds to fall x interval: kept short.
    check: {
      ...timing,
      timeout: { nanos: 400e6 },
      port: UDP_PORT,
      kind: { case: 'udp', value: { payload: new TextEncoder().encode('ping'), replyRegex: '^pong ping$' } },
    },
    fail: (i) => pool.served[2 * i + 1]!.kill('SIGUSR1'),
    recover: (i) => pool.served[2 * i + 1]!.kill('SIGUSR1'),
    reason: 'UDP no reply',
  },
  {
    kind: 'exec',
    check: { ...timing, kind: { case: 'exec', value: { path: script } } },
    fail: (i) => writeFileSync(join(flags, `down-${REAL[i]!.server}`), ''),
    recover: (i) => rmSync(join(flags, `down-${REAL[i]!.server}`)),
    reason: 'exit 1',
  },
];

describe.each(kinds)('a $kind check', ({ check, fail, recover, reason }) => {
  it(`takes a failing real server to weight 0 within fall x interval + 1 s ("${reason}"), and back once it recovers`, async () => {
    await ctx.client.putDesiredState({ desiredState: state(check) });
    await probed();
    // Both healthy first (a failed probe's reason shows if not).
    const results = async () => (await destinations()).map((d) => (d.last?.ok ? 'ok' : d.last?.reason));
    await expect.poll(results, { timeout: 10_000, interval: 100 }).toEqual(['ok', 'ok']);
    const failed = Date.now();
    fail(0);
    expect(await until([0, 1], DOWN_MS + 1000)).toBeGreaterThanOrEqual(0);
    expect(await pool.decidedAfter(0, failed)).toBeLessThanOrEqual(DOWN_MS);
    expect(new Set(pool.net().request(10))).toEqual(new Set([REAL[1].name]));
    expect((await destinations())[0]!.last).toMatchObject({ ok: false, reason });
    const recovered = Date.now();
    recover(0);
    expect(await until([1, 1], UP_MS + 1000)).toBeGreaterThanOrEqual(0);
    expect(await pool.decidedAfter(0, recovered)).toBeLessThanOrEqual(UP_MS);
    expect(new Set(pool.net().request(10))).toEqual(new Set([REAL[0].name, REAL[1].name]));
  });
});
