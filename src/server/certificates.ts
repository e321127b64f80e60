// The TLS files (--tls-cert, --tls-key, --tls-client-ca), reread on demand
// (SIGHUP, main.ts). They reach grpc-js through its certificate provider
// interface (experimental, public): grpc-js hands every update to its
// listeners' setSecureContext, so connections made after a reload get the new
// certificate and client CA while open ones keep theirs. A set that does not
// load whole (unreadable, not PEM, a key that is not the certificate's, as
// while a rotation is half written) is refused: the old one stays, and the
// error is logged. grpc-js would otherwise stop accepting connections.
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';

type TlsFiles = Pick<ServerConfig, 'tlsCert' | 'tlsKey' | 'tlsClientCa'>;

interface TlsSet {
  certificate: Buffer;
  privateKey: Buffer;
  caCertificate?: Buffer;
  /** The certificate's subject and expiry, for the log. */
  subject: string;
  validTo: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Reads and checks the files; throws naming the file at fault. */
export function loadTls(f: TlsFiles): TlsSet {
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
  };
  const certs = (path: string, pem: Buffer) => {
    const found = pem.toString('latin1').match(PEM_CERT) ?? [];
    if (!found.length) throw new Error(`${path}: no PEM certificate`);
    try {
      return found.map((c) => new X509Certificate(c));
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
  };
  const certificate = read(f.tlsCert);
  const privateKey = read(f.tlsKey);
  const leaf = certs(f.tlsCert, certificate)[0]!;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(privateKey);
  } catch (e) {
    throw new Error(`${f.tlsKey}: ${(e as Error).message}`);
  }
  // OpenSSL drops a key that does not match quietly, and every handshake then fails.
  if (!leaf.checkPrivateKey(key)) throw new Error(`${f.tlsKey} is not the key of ${f.tlsCert}`);
  const caCertificate = f.tlsClientCa ? read(f.tlsClientCa) : undefined;
  if (caCertificate) certs(f.tlsClientCa, caCertificate);
  // What setSecureContext will do with them: if this throws, so would it.
  createSecureContext({ cert: certificate, key: privateKey, ca: caCertificate });
  return { certificate, privateKey, caCertificate, subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo };
}

/** The server's TLS: credentials for its listeners, and reload(). */
export class ReloadableTls implements experimental.CertificateProvider {
  private current: TlsSet;
  private readonly identity = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly ca = new Set<experimental.CaCertificateUpdateListener>();
  readonly credentials: ServerCredentials;

  /** Loads the files now: a bad set fails the start. */
  constructor(
    private readonly files: TlsFiles,
    private readonly log: Logger,
  ) {
    this.current = loadTls(files);
    // grpc-js 1.14 names these parameters the wrong way round: the first is the
    // identity (certificate and key), the second the client CA, or null for no client certificates.
    this.credentials = experimental.createCertificateProviderServerCredentials(
      this,
      files.tlsClientCa ? this : null,
      !!files.tlsClientCa,
    );
  }

  /** Rereads the files: true if the new set is in force for new connections, false if the old one stays. */
  reload(): boolean {
    let next: TlsSet;
    try {
      next = loadTls(this.files);
    } catch (e) {
      this.log.error(
        { err: (e as Error).message, subject: this.current.subject, validTo: this.current.validTo },
        'TLS reload refused: serving the certificates loaded before',
      );
      return false;
    }
    this.current = next;
    for (const l of this.identity) l(this.identityUpdate());
    for (const l of this.ca) l(this.caUpdate());
    this.log.info({ subject: next.subject, validTo: next.validTo, clientCa: !!next.caCertificate }, 'TLS reloaded');
    return true;
  }

  private identityUpdate = () => ({ certificate: this.current.certificate, privateKey: this.current.privateKey });
  private caUpdate = () => (this.current.caCertificate ? { caCertificate: this.current.caCertificate } : null);

  // grpc-js subscribes while it binds: the first update must come later (it would miss a synchronous one).
  addIdentityCertificateListener(l: experimental.IdentityCertificateUpdateListener): void {
    this.identity.add(l);
    process.nextTick(() => this.identity.has(l) && l(this.identityUpdate()));
  }
  removeIdentityCertificateListener(l: experimental.IdentityCertificateUpdateListener): void {
    this.identity.delete(l);
  }
  addCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    this.ca.add(l);
    process.nextTick(() => this.ca.has(l) && l(this.caUpdate()));
  }
  removeCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    this.ca.delete(l);
  }
}
