// Local users on the unix socket, named by the kernel (SO_PEERCRED): the
// socket file is 0660 root:4000 (--unix-mode, --unix-group), and each client
// is a separate node process run as another user by setpriv, with the TS
// client from dist/ (run `npm run build` first). A user in group 4000 the
// policy names by uid writes; one it names by gid reads but may not write;
// one it denies by uid is refused every call; a user outside the group
// cannot even connect (EACCES).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { createNetns, type Netns } from '../kernel/helpers.js';
import { startInProcess } from './helpers.js';

const GROUP = 4000;
const SVC = '/ipvs.v1.IpvsService';
const CLIENT = resolve(import.meta.dirname, '../../dist/src/client/index.js');

// What each user's process does: a raw connect (the file's permissions), then a read and a write through the client.
const SCRIPT = `
import { connect } from 'node:net';
const { connectIpvs, IpvsError, status } = await import(process.env.CLIENT);
const out = { uid: process.getuid(), gid: process.getgid() };
out.connect = await new Promise((r) => {
  const s = connect(process.env.SOCK, () => { s.destroy(); r('ok'); });
  s.on('error', (e) => r(e.code));
});
if (out.connect === 'ok') {
  const c = connectIpvs('unix:' + process.env.SOCK);
  const code = (p) => p.then(() => 'OK', (e) => (e instanceof IpvsError ? status[e.code] : String(e)));
  out.read = await code(c.listServices({ namespace: process.env.NS }));
  out.write = await code(c.createService({ namespace: process.env.NS, service: {
    id: { addressFamily: 2, protocol: 6, address: '192.0.2.40', port: Number(process.env.PORT) }, schedName: 'rr' } }));
  c.close();
}
console.log(JSON.stringify(out));
`;

const dir = mkdtempSync('/var/tmp/ipvsd-unix-peers-');
let ns: Netns;
let server: RunningServer;
let sock: string;
const lines: Record<string, unknown>[] = [];

/** Runs the script as uid `uid`, primary group `gid`, supplementary groups `groups`. */
async function as(uid: number, gid: number, groups: number[], port: number): Promise<Record<string, unknown>> {
  const ids = ['--reuid', String(uid), '--regid', String(gid)];
  const grouping = groups.length ? ['--groups', groups.join(',')] : ['--clear-groups'];
  const { stdout } = await promisify(execFile)(
    'setpriv',
    [...ids, ...grouping, process.execPath, '--input-type=module', '-e', SCRIPT],
    { env: { PATH: process.env.PATH, CLIENT, SOCK: sock, NS: ns.name, PORT: String(port) }, timeout: 30_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

beforeAll(async () => {
  ns = createNetns('unix');
  sock = `/run/ipvsd-${ns.name}.sock`;
  writeFileSync(
    join(dir, 'policy.json'),
    JSON.stringify({
      name: 'local-users',
      deny_rules: [{ name: 'not-4003', source: { principals: ['unix:uid:4003'] } }],
      allow_rules: [
        { name: 'deployer', source: { principals: ['unix:uid:4001'] }, request: { paths: [`${SVC}/*`] } },
        {
          name: 'group-reads',
          source: { principals: [`unix:gid:${GROUP}`] },
          request: { paths: [`${SVC}/List*`, `${SVC}/Get*`] },
        },
      ],
    }),
  );
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  server = await startInProcess(
    [
      '--listen',
      '',
      '--unix',
      sock,
      '--unix-mode',
      '0660',
      '--unix-group',
      String(GROUP),
      '--netns',
      ns.name,
      '--authz-policy',
      join(dir, 'policy.json'),
    ],
    log,
  );
});

afterAll(async () => {
  await server?.shutdown();
  ns?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('local users on the unix socket', () => {
  it('the socket file is 0660, group 4000', () => {
    const st = statSync(sock);
    expect([st.mode & 0o777, st.gid]).toEqual([0o660, GROUP]);
  });

  it('a user in the group, named by uid in the policy, reads and writes', async () => {
    expect(await as(4001, 4001, [GROUP], 8001)).toEqual({
      uid: 4001,
      gid: 4001,
      connect: 'ok',
      read: 'OK',
      write: 'OK',
    });
    expect(ns.saved()).toContain('-A -t 192.0.2.40:8001 -s rr');
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'audit',
        principal: 'unix:uid:4001',
        peer: expect.stringMatching(/^unix#\d+ pid=\d+ uid=4001 gid=4001$/),
        method: `${SVC}/CreateService`,
        rule: 'deployer',
        code: 'OK',
      }),
    );
  });

  it('a user whose group the policy names reads, and may not write', async () => {
    expect(await as(4004, GROUP, [], 8004)).toMatchObject({ connect: 'ok', read: 'OK', write: 'PERMISSION_DENIED' });
    expect(ns.saved()).not.toContain('-A -t 192.0.2.40:8004 -s rr');
  });

  it('a user in the group whom the policy denies by uid is refused every call', async () => {
    expect(await as(4003, 4003, [GROUP], 8003)).toMatchObject({
      connect: 'ok',
      read: 'PERMISSION_DENIED',
      write: 'PERMISSION_DENIED',
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ principal: 'unix:uid:4003', decision: 'deny', rule: 'not-4003' }),
    );
  });

  it('a user outside the group cannot connect', async () => {
    expect(await as(4002, 4002, [], 8002)).toEqual({ uid: 4002, gid: 4002, connect: 'EACCES' });
  });
});
