// TLS and mutual TLS with certificates made here by openssl: a client that
// trusts the server's CA gets in; without its own certificate it does not,
// when the server asks for one. Reloads (SIGHUP): new connections get the
// new files, a bad set keeps the old one.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { credentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { connectIpvs, IpvsError } from '../../src/client/index.js';
import { testStateDir } from '../state-dir.js';
import { startInProcess } from './helpers.js';

const dir = mkdtempSync('/var/tmp/ipvsd-tls-');
const file = (n: string) => join(dir, n);
const openssl = (args: string) => execFileSync('sh', ['-c', `cd ${dir} && openssl ${args}`], { stdio: 'pipe' });

/** A CA, and a certificate it signs for `cn` (with 127.0.0.1 as its address). */
function issue(cn: string): void {
  openssl(
    `req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ca-${cn} -keyout ca-${cn}.key -out ca-${cn}.pem`,
  );
  openssl(`req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=${cn} -keyout ${cn}.key -out ${cn}.csr`);
  execFileSync(
    'sh',
    [
      '-c',
      `cd ${dir} && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${cn}.ext && openssl x509 -req -in ${cn}.csr -CA ca-${cn}.pem -CAkey ca-${cn}.key -CAcreateserial -days 1 -extfile ${cn}.ext -out ${cn}.pem`,
    ],
    { stdio: 'pipe' },
  );
}
issue('server');
issue('server2');
issue('client');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = pino({ level: 'silent' });
const start = (extra: string[]) =>
  startInProcess(['--tls-cert', file('server.pem'), '--tls-key', file('server.key'), ...extra], log);
const serverCa = () => readFileSync(file('ca-server.pem'));

describe('TLS', () => {
  it('serves a client that trusts its CA, and not a plain-text one', async () => {
    const s = await start([]);
    const secure = connectIpvs(s.addresses[0]!, { credentials: credentials.createSsl(serverCa()) });
    expect((await secure.getInfo({})).info?.version).toBe('1.2.1');
    const plain = connectIpvs(s.addresses[0]!);
    await expect(plain.getInfo({}, { deadline: 3000 })).rejects.toBeInstanceOf(IpvsError);
    secure.close();
    plain.close();
    await s.shutdown();
  });

  it('with --tls-client-ca, serves only clients with a certificate from that CA', async () => {
    const s = await start(['--tls-client-ca', file('ca-client.pem')]);
    const withCert = connectIpvs(s.addresses[0]!, {
      credentials: credentials.createSsl(
        serverCa(),
        readFileSync(file('client.key')),
        readFileSync(file('client.pem')),
      ),
    });
    expect((await withCert.getInfo({})).info?.version).toBe('1.2.1');
    const without = connectIpvs(s.addresses[0]!, { credentials: credentials.createSsl(serverCa()) });
    await expect(without.getInfo({}, { deadline: 3000 })).rejects.toBeInstanceOf(IpvsError);
    withCert.close();
    without.close();
    await s.shutdown();
  });
});

/** The CN of the certificate a new TLS connection to `address` is shown. */
function peerCn(address: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.split(':').pop())];
  return new Promise((resolve, reject) => {
    const s = tlsConnect(
      { host, port, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false },
      () => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.destroy();
      },
    );
    s.on('error', reject);
  });
}

/** Makes the live files (what the server was started with) copies of `cn`'s. */
function install(cn: string, o: { key?: string } = {}): void {
  copyFileSync(file(`${cn}.pem`), file('live.pem'));
  copyFileSync(file(`${o.key ?? cn}.key`), file('live.key'));
}
const LIVE = ['--tls-cert', file('live.pem'), '--tls-key', file('live.key')];

describe('TLS reload', () => {
  it('new connections get the new certificate; a bad set (not PEM, a key not its own) keeps the old', async () => {
    install('server');
    const s = await startInProcess([...LIVE], log);
    const addr = s.addresses[0]!;
    const before = connectIpvs(addr, { credentials: credentials.createSsl(serverCa()) });
    expect((await before.getInfo({})).info?.version).toBe('1.2.1');
    expect(await peerCn(addr)).toBe('server');

    install('server2');
    expect(s.reloadTls()).toBe(true);
    expect(await peerCn(addr)).toBe('server2');
    const after = connectIpvs(addr, { credentials: credentials.createSsl(readFileSync(file('ca-server2.pem'))) });
    expect((await after.getInfo({})).info?.version).toBe('1.2.1');
    // The connection made before keeps going.
    expect((await before.getInfo({})).info?.version).toBe('1.2.1');

    writeFileSync(file('live.pem'), 'not a certificate\n');
    expect(s.reloadTls()).toBe(false);
    install('server', { key: 'server2' });
    expect(s.reloadTls()).toBe(false);
    expect(await peerCn(addr)).toBe('server2');
    expect((await after.getInfo({})).info?.version).toBe('1.2.1');
    before.close();
    after.close();
    await s.shutdown();
  });

  it('rereads the client CA: a client of the CA removed is refused on a new connection', async () => {
    install('server');
    copyFileSync(file('ca-client.pem'), file('live-ca.pem'));
    const s = await startInProcess([...LIVE, '--tls-client-ca', file('live-ca.pem')], log);
    const client = () =>
      connectIpvs(s.addresses[0]!, {
        credentials: credentials.createSsl(
          serverCa(),
          readFileSync(file('client.key')),
          readFileSync(file('client.pem')),
        ),
      });
    const first = client();
    expect((await first.getInfo({})).info?.version).toBe('1.2.1');
    copyFileSync(file('ca-server2.pem'), file('live-ca.pem'));
    expect(s.reloadTls()).toBe(true);
    const second = client();
    await expect(second.getInfo({}, { deadline: 3000 })).rejects.toBeInstanceOf(IpvsError);
    first.close();
    second.close();
    await s.shutdown();
  });

  it('ipvsd reloads on SIGHUP (systemctl reload), and logs a refused set', async () => {
    install('server');
    const p = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', 'src/server/main.ts', '--sandbox', 'never', '--listen', '127.0.0.1:0', '--unix', ''],
        ...[...LIVE, '--state-dir', testStateDir()],
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout!.on('data', (d) => {
      out += d;
    });
    const logged = async (msg: string) => {
      for (let i = 0; i < 300 && !out.includes(`"msg":"${msg}"`); i++) await new Promise((r) => setTimeout(r, 100));
      return out.includes(`"msg":"${msg}"`);
    };
    try {
      expect(await logged('ipvsd listening')).toBe(true);
      const addr = JSON.parse(out.split('\n').find((l) => l.includes('ipvsd listening'))!).addresses[0];
      expect(await peerCn(addr)).toBe('server');
      install('server2');
      p.kill('SIGHUP');
      expect(await logged('TLS reloaded')).toBe(true);
      expect(await peerCn(addr)).toBe('server2');
      writeFileSync(file('live.key'), 'not a key\n');
      p.kill('SIGHUP');
      expect(await logged('TLS reload refused: serving the certificates loaded before')).toBe(true);
      expect(p.exitCode).toBe(null);
      expect(await peerCn(addr)).toBe('server2');
    } finally {
      p.kill('SIGTERM');
    }
  });
});
