// TLS and mutual TLS with certificates made here by openssl: a client that
// trusts the server's CA gets in; without its own certificate it does not,
// when the server asks for one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { connectIpvs, IpvsError } from '../../src/client/index.js';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';

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
issue('client');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = pino({ level: 'silent' });
const start = (extra: string[]) =>
  startServer(
    parseConfig(
      [
        '--listen',
        '127.0.0.1:0',
        '--unix',
        '',
        '--tls-cert',
        file('server.pem'),
        '--tls-key',
        file('server.key'),
        ...extra,
      ],
      {},
    ) as ServerConfig,
    log,
  );
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
