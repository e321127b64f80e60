// Principals from real certificates (made here by openssl): URI SANs, DNS
// SANs and the subject as grpc-go names them, and what the transport says.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { pattern } from '../../src/authz/pattern.js';
import { certificateOf, peerOf, principalMatches, principalName } from '../../src/authz/peer.js';

const dir = mkdtempSync('/var/tmp/ipvsd-authz-peer-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate's DER, with `subj` and the subjectAltName extension `san` (if any). */
function der(name: string, subj: string, extensions = 'basicConstraints=CA:FALSE'): Buffer {
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(cnf, `[req]\ndistinguished_name=dn\n[dn]\n[x]\n${extensions}\n`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      subj,
      '-config',
      cnf,
      '-extensions',
      'x',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.pem`),
    ],
    { stdio: 'pipe' },
  );
  return new X509Certificate(readFileSync(join(dir, `${name}.pem`))).raw;
}

describe('certificateOf', () => {
  it('reads URI and DNS SANs in order, and the subject most significant last', () => {
    const c = certificateOf(
      der(
        'both',
        '/C=US/O=Example Ops/OU=lb/CN=writer',
        'subjectAltName=URI:spiffe://example.org/writer,DNS:writer.example.org,IP:192.0.2.1,URI:spiffe://example.org/alt',
      ),
    );
    expect(c).toEqual({
      uris: ['spiffe://example.org/writer', 'spiffe://example.org/alt'],
      dnsNames: ['writer.example.org'],
      subject: 'CN=writer,OU=lb,O=Example Ops,C=US',
    });
  });

  it("escapes a subject's special characters as RFC 2253 (and Go) do", () => {
    expect(certificateOf(der('special', '/O=a\\,b\\+c/CN=#x ')).subject).toBe('CN=\\#x\\ ,O=a\\,b\\+c');
  });

  it('a SAN value with a comma stays one name', () => {
    const c = certificateOf(
      der('comma', '/CN=c', 'subjectAltName=@alt\n[alt]\nURI.1=spiffe://example.org/a,b\nDNS.1=c.example.org'),
    );
    expect(c.uris).toEqual(['spiffe://example.org/a,b']);
    expect(c.dnsNames).toEqual(['c.example.org']);
  });
});

describe('peerOf and principals', () => {
  const raw = der('dns', '/CN=reader', 'subjectAltName=DNS:reader.example.org');
  it('mutual TLS: the certificate', () => {
    const peer = peerOf({ transportSecurityType: 'ssl', sslPeerCertificate: { raw } }, true);
    expect(principalName(peer)).toBe('reader.example.org');
    expect(principalMatches(pattern('*.example.org'), peer)).toBe(true);
    expect(principalMatches(pattern('CN=reader'), peer)).toBe(false);
  });
  it('TLS without a client certificate: the empty name, which only "" matches', () => {
    const peer = peerOf({}, true);
    expect(peer).toEqual({ tls: true });
    expect(principalMatches(pattern(''), peer)).toBe(true);
    expect(principalMatches(pattern('*'), peer)).toBe(false);
  });
  it('plain text: no principal at all', () => {
    const peer = peerOf({}, false);
    expect(principalName(peer)).toBe('');
    expect(principalMatches(pattern(''), peer)).toBe(false);
  });
  it('a unix socket peer (ipvsd\'s extension): "unix:uid:N" and "unix:gid:N", matched like any principal', () => {
    const peer = { tls: false, unix: { uid: 1001, gid: 100 } };
    expect(principalName(peer)).toBe('unix:uid:1001');
    expect(principalMatches(pattern('unix:uid:1001'), peer)).toBe(true);
    expect(principalMatches(pattern('unix:gid:100'), peer)).toBe(true);
    expect(principalMatches(pattern('unix:*'), peer)).toBe(true);
    expect(principalMatches(pattern('*'), peer)).toBe(true);
    // Numbers are whole: uid 1001 is not uid 100, nor gid 1001.
    expect(principalMatches(pattern('unix:uid:100'), peer)).toBe(false);
    expect(principalMatches(pattern('unix:gid:1001'), peer)).toBe(false);
    expect(principalMatches(pattern(''), peer)).toBe(false);
    expect(principalMatches(pattern('1001'), peer)).toBe(false);
  });
  it('a certificate cannot pass for a unix peer: its URI SAN "unix:uid:0" matches no pattern', () => {
    const peer = peerOf(
      {
        transportSecurityType: 'ssl',
        sslPeerCertificate: { raw: der('root', '/CN=root', 'subjectAltName=URI:unix:uid:0') },
      },
      true,
    );
    expect(peer.certificate?.uris).toEqual(['unix:uid:0']);
    expect(principalMatches(pattern('unix:uid:0'), peer)).toBe(false);
    expect(principalMatches(pattern('*'), peer)).toBe(false);
  });
});
