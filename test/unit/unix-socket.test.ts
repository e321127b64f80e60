// The unix socket names its peers by the kernel's word (SO_PEERCRED): a
// policy naming this process's uid allows it, one naming another uid does
// not, and the audit line says who. Its file gets the mode and group asked
// for. A real grpc-js server (health, under the guard) on a socket in a
// temporary directory.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type Client } from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicy, type Policy } from '../../src/authz/policy.js';
import { Guard, guardedServer } from '../../src/server/guard.js';
import { groupId, UnixSocket } from '../../src/server/unix-socket.js';

const dir = mkdtempSync(join(tmpdir(), 'ipvsd-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const uid = process.getuid!();
const gid = process.getgid!();

const allowing = (principal: string): Policy =>
  parsePolicy(JSON.stringify({ name: 'p', allow_rules: [{ name: 'local', source: { principals: [principal] } }] }));

async function serve(policy: Policy, o: { mode?: number; group?: string } = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const server = new Server();
  const path = join(dir, `${Math.random().toString(36).slice(2)}.sock`);
  let unix: UnixSocket | undefined;
  const guard = new Guard({
    log,
    policy: () => policy,
    tls: false,
    auditReads: true,
    unixPeer: (p) => unix?.peer(p),
  });
  new HealthImplementation({ '': 'SERVING' }).addToServer(guardedServer(server, guard) as Server);
  unix = await UnixSocket.listen(path, server, ServerCredentials.createInsecure(), { group: '', log, ...o });
  const Health = makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(`unix:${path}`, credentials.createInsecure()) as Client &
    Record<string, (...a: unknown[]) => void>;
  const check = () =>
    new Promise<number>((resolve) =>
      client.check!({ service: '' }, (e: { code: number } | null) => resolve(e?.code ?? 0)),
    );
  const close = () => {
    client.close();
    unix?.stop();
    server.forceShutdown();
  };
  return { path, lines, check, close };
}

describe('the unix socket', () => {
  it(`names its peer "unix:uid:N" and "unix:gid:N": a policy naming this process's allows it`, async () => {
    for (const principal of [`unix:uid:${uid}`, `unix:gid:${gid}`]) {
      const s = await serve(allowing(principal));
      expect(await s.check()).toBe(0);
      expect(s.lines.find((l) => l.msg === 'audit')).toMatchObject({
        principal: `unix:uid:${uid}`,
        peer: expect.stringMatching(new RegExp(`^unix#\\d+ pid=${process.pid} uid=${uid} gid=${gid}$`)),
        decision: 'allow',
        rule: 'local',
      });
      s.close();
    }
  });

  it('denies it when the policy names another uid', async () => {
    const s = await serve(allowing(`unix:uid:${uid + 1}`));
    expect(await s.check()).toBe(7);
    expect(s.lines.find((l) => l.msg === 'audit')).toMatchObject({ principal: `unix:uid:${uid}`, decision: 'deny' });
    s.close();
  });

  it('leaves the mode to the umask unless asked; sets the mode and group asked for', async () => {
    const plain = await serve(allowing('*'));
    const umask = Number.parseInt(/^Umask:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!, 8);
    expect(statSync(plain.path).mode & 0o777).toBe(0o777 & ~umask);
    plain.close();
    const s = await serve(allowing('*'), { mode: 0o600, group: String(gid) });
    const st = statSync(s.path);
    expect([st.mode & 0o777, st.gid]).toEqual([0o600, gid]);
    expect(await s.check()).toBe(0);
    s.close();
  });
});

describe('groupId', () => {
  it('takes a gid as it is, and a name from the group file', () => {
    const file = join(dir, 'group');
    writeFileSync(file, 'root:x:0:\nipvsd:x:997:alice,bob\n');
    expect(groupId('1234', file)).toBe(1234);
    expect(groupId('ipvsd', file)).toBe(997);
    expect(() => groupId('nobody-here', file)).toThrow(/--unix-group: no group "nobody-here" in/);
  });
});
