// Who the peer is, as A43's principals see it: nothing without TLS; TLS
// without a client certificate is the empty name; with one, its URI SANs if
// it has any, else its DNS SANs if it has any, else its subject. Only the
// first kind the certificate has is consulted (grpc-go since 2026, and gRFC
// A41/Envoy: falling through to the next kind let a certificate named by
// one authority pass as another). ipvsd's extension: a peer on the plain
// unix socket is named by the kernel (SO_PEERCRED) as "unix:uid:N" and
// "unix:gid:N", numbers only (a user's name could be renamed or reused).
import { X509Certificate } from 'node:crypto';
import { matches, type Pattern } from './pattern.js';

export interface PeerCertificate {
  uris: string[];
  dnsNames: string[];
  /** RFC 2253, most significant last, as grpc-go prints it: "CN=reader,O=ops". */
  subject: string;
}

export interface Peer {
  /** The connection is TLS: only then can a certificate's principal match. */
  tls: boolean;
  /** The client's certificate (mutual TLS). */
  certificate?: PeerCertificate;
  /** A peer on the plain unix socket: its effective uid and gid when it connected. */
  unix?: { uid: number; gid: number };
}

const UNIX_PREFIX = 'unix:';

/** The principals of a unix socket peer: its uid's name first (the audit trail's), then its gid's. */
export const unixPrincipals = (u: { uid: number; gid: number }) => [
  `${UNIX_PREFIX}uid:${u.uid}`,
  `${UNIX_PREFIX}gid:${u.gid}`,
];

/** What grpc-js tells of a call's transport (its AuthContext), as far as it matters here. */
export interface TransportAuth {
  transportSecurityType?: string;
  sslPeerCertificate?: { raw?: Buffer };
}

/** Splits "DNS:a, URI:b" (Node's subjectAltName); a value with a comma or quote comes as a JSON string. */
function altNames(text: string | undefined): { kind: string; value: string }[] {
  const out: { kind: string; value: string }[] = [];
  const s = text ?? '';
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    // A name not read could be the URI that decides: refuse the certificate rather than judge it by the rest.
    if (!m?.[0]) throw new Error(`unreadable subjectAltName: ${s}`);
    const raw = m[2]!;
    out.push({ kind: m[1]!, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return out;
}

/** Go's names of the attributes it prints by name; OpenSSL's short names elsewhere. */
const GO_NAMES: Record<string, string> = { serialNumber: 'SERIALNUMBER', street: 'STREET', postalCode: 'POSTALCODE' };

/**
 * Node's subject (one attribute a line, most significant first, each value
 * already escaped as RFC 2253 asks, by OpenSSL, the way Go escapes it) as
 * RFC 2253 (most significant last).
 */
function subjectOf(text: string): string {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq);
      return `${GO_NAMES[key] ?? key}${line.slice(eq)}`;
    })
    .reverse()
    .join(',');
}

/** Certificates seen lately, by their DER in base64: parsing one costs ~0.4 ms, and a client makes many calls. */
const seen = new Map<string, PeerCertificate>();
const SEEN_MAX = 1024;

export function certificateOf(der: Buffer): PeerCertificate {
  const key = der.toString('base64');
  let c = seen.get(key);
  if (!c) {
    c = parseCertificate(der);
    // The oldest first out: Map keeps insertion order.
    if (seen.size >= SEEN_MAX) seen.delete(seen.keys().next().value!);
    seen.set(key, c);
  }
  return c;
}

function parseCertificate(der: Buffer): PeerCertificate {
  const c = new X509Certificate(der);
  const names = altNames(c.subjectAltName);
  return {
    uris: names.filter((n) => n.kind === 'URI').map((n) => n.value),
    dnsNames: names.filter((n) => n.kind === 'DNS').map((n) => n.value),
    subject: subjectOf(c.subject),
  };
}

/**
 * The peer of a call, from its transport. grpc-js tells of a TLS connection
 * only when the client's certificate was verified, so the listener's own
 * `tls` says whether a call without one came over TLS.
 */
export function peerOf(auth: TransportAuth, tls: boolean): Peer {
  const raw = auth.transportSecurityType === 'ssl' ? auth.sslPeerCertificate?.raw : undefined;
  if (raw?.length) return { tls: true, certificate: certificateOf(raw) };
  return { tls: tls || auth.transportSecurityType === 'ssl' };
}

export function principalMatches(p: Pattern, peer: Peer): boolean {
  if (peer.unix) return unixPrincipals(peer.unix).some((n) => matches(p, n));
  if (!peer.tls) return false;
  const c = peer.certificate;
  if (!c) return matches(p, '');
  // A certificate's URI spelled like a unix peer's name never passes for one: only the kernel names local users.
  if (c.uris.length) return c.uris.some((u) => !u.startsWith(UNIX_PREFIX) && matches(p, u));
  if (c.dnsNames.length) return c.dnsNames.some((d) => matches(p, d));
  return matches(p, c.subject);
}

/** The name the audit trail gives the peer: the identity a principal is matched against first. */
export function principalName(peer: Peer): string {
  if (peer.unix) return unixPrincipals(peer.unix)[0]!;
  if (!peer.tls) return '';
  const c = peer.certificate;
  return c?.uris[0] ?? c?.dnsNames[0] ?? c?.subject ?? '';
}
