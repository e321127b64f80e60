// A prober probes from its network namespace and from no other. Namespaces A
// and B both hold 192.0.2.10 on lo; in A a server listens on TCP 8080 and
// echoes UDP 8082, in both an HTTP server on 8081 answers with the
// namespace's name. A prober for A finds A's servers, one for B (and one for
// our own namespace) finds none of them; a child that is not where it was
// asked to be is refused at its ready line.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeRequest } from '../../src/health/probe.js';
import { ProberProcess } from '../../src/health/prober-process.js';
import { inNetns } from '../../src/netlink/netns.js';
import { createNetns, type Netns } from './helpers.js';

const VIP = '192.0.2.10';

/** Starts the servers of one namespace; resolves once they listen. */
async function startServers(ns: Netns, name: string, withTcpAndUdp: boolean): Promise<ChildProcess> {
  const code = `
    const net = require('net'), http = require('http'), dgram = require('dgram');
    const servers = [new Promise((ok) => http.createServer((q, r) => r.end('${name}')).listen(8081, '${VIP}', ok))];
    if (${withTcpAndUdp}) {
      servers.push(new Promise((ok) => net.createServer((s) => s.destroy()).listen(8080, '${VIP}', ok)));
      const u = dgram.createSocket('udp4');
      u.on('message', (m, from) => u.send(m, from.port, from.address));
      servers.push(new Promise((ok) => u.bind(8082, '${VIP}', ok)));
    }
    Promise.all(servers).then(() => console.log('ready'));`;
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [data] = await once(p.stdout!, 'data');
  if (!String(data).includes('ready')) throw new Error(`servers of ${name} did not start`);
  return p;
}

type Probe = Omit<ProbeRequest, 'id'>;
const at = (kind: Probe['kind'], port: number, more: Partial<Probe> = {}): Probe => ({
  kind,
  address: VIP,
  port,
  timeoutMs: 2000,
  ...more,
});
const tcp = at('tcp', 8080);
const http = (name: string) =>
  at('http', 8081, { http: { tls: false, path: '/', statuses: [[200, 299]], body: `^${name}$`, verify: true } });
const udp = at('udp', 8082, { udp: { payload: Buffer.from('ping').toString('base64') } });
/** A script that exits 0 only inside the namespace of `inode`. */
const execIn = (inode: number) =>
  at('exec', 0, {
    exec: {
      path: '/bin/sh',
      args: ['-c', `[ "$(readlink /proc/self/ns/net)" = "net:[${inode}]" ]`],
      weightFromOutput: false,
    },
  });

describe('a prober in a network namespace', () => {
  let a: Netns;
  let b: Netns;
  const servers: ChildProcess[] = [];
  const probers: ProberProcess[] = [];
  beforeAll(async () => {
    a = createNetns('pa');
    b = createNetns('pb');
    for (const ns of [a, b]) ns.exec(`ip addr add ${VIP}/32 dev lo`);
    servers.push(await startServers(a, 'a', true), await startServers(b, 'b', false));
  });
  afterAll(async () => {
    for (const p of probers) await p.close();
    for (const s of servers) s.kill();
    a?.remove();
    b?.remove();
  });
  const start = async (path: string) => {
    const p = await ProberProcess.start(path);
    probers.push(p);
    return p;
  };

  it('finds the servers of its own namespace up, every kind of probe', async () => {
    const p = await start(a.path);
    expect(await p.probe(tcp)).toMatchObject({ ok: true, reason: 'connected' });
    expect(await p.probe(http('a'))).toMatchObject({ ok: true, reason: 'HTTP 200' });
    expect(await p.probe(udp)).toMatchObject({ ok: true, reason: 'UDP reply, 4 bytes' });
    expect(await p.probe(execIn(statSync(a.path).ino))).toMatchObject({ ok: true, reason: 'exit 0' });
  });

  it('does not reach another namespace: the same address in B answers as B, or refuses', async () => {
    const p = await start(b.path);
    expect(await p.probe(tcp)).toMatchObject({ ok: false, reason: 'connect ECONNREFUSED' });
    expect(await p.probe(http('a'))).toMatchObject({ ok: false, reason: 'body does not match /^a$/' });
    expect(await p.probe(http('b'))).toMatchObject({ ok: true });
    expect(await p.probe(udp)).toMatchObject({ ok: false, reason: 'UDP port unreachable' });
    expect(await p.probe(execIn(statSync(a.path).ino))).toMatchObject({ ok: false, reason: 'exit 1' });
  });

  it('probes from our own namespace for an empty path, where the address is not', async () => {
    const p = await start('');
    expect((await p.probe({ ...tcp, timeoutMs: 500 })).ok).toBe(false);
    expect(await p.probe(execIn(statSync('/proc/self/ns/net').ino))).toMatchObject({ ok: true });
  });

  it('stays in its namespace after a restart', async () => {
    const p = await start(a.path);
    process.kill(p.pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await p.probe(tcp)).toMatchObject({ ok: true, reason: 'connected' });
  });

  it('refuses a child that is not in the namespace it was asked for', async () => {
    // Spawned while this thread visits B, the child starts in B, and stays there for '' (our own).
    const started = inNetns(b.path, () => ProberProcess.start(''));
    const own = statSync('/proc/self/ns/net').ino;
    await expect(started).rejects.toThrow(
      `prober is in network namespace inode ${statSync(b.path).ino}, not our own (inode ${own})`,
    );
  });
});
