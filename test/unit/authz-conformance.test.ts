// gRFC A43 conformance: our own table of policies, calls and the decision
// each must get, one row per case class grpc-go's authz tests cover (deny
// before allow, the default deny, principals on plain text, TLS and mutual
// TLS, presence/prefix/suffix/exact, headers ANDed and their values ORed,
// multi-valued headers), plus ipvsd's namespace header.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide, type CallFacts } from '../../src/authz/engine.js';
import { NAMESPACE_HEADER, requestHeaders } from '../../src/authz/headers.js';
import type { Peer } from '../../src/authz/peer.js';
import { parsePolicy } from '../../src/authz/policy.js';

const SVC = '/ipvs.v1.IpvsService';
const plain: Peer = { tls: false };
const tlsNoCert: Peer = { tls: true };
const mtls = (c: Partial<NonNullable<Peer['certificate']>>): Peer => ({
  tls: true,
  certificate: { uris: [], dnsNames: [], subject: '', ...c },
});
const admin = mtls({ uris: ['spiffe://example.org/admin'], dnsNames: ['admin.example.org'], subject: 'CN=admin' });
const reader = mtls({ dnsNames: ['reader.example.org'], subject: 'CN=reader,O=ops' });
const bySubject = mtls({ subject: 'CN=legacy,O=ops' });

type Row = {
  policy: object;
  path?: string;
  headers?: Record<string, string[]>;
  namespace?: string;
  peer?: Peer;
  allowed: boolean;
  rule?: string;
};

const policy = (allow: object[], deny?: object[]) => ({ name: 'authz', allow_rules: allow, deny_rules: deny });

const TABLE: Record<string, Row> = {
  'a match in deny and none in allow: denied by the deny rule': {
    policy: policy(
      [{ name: 'allow_watch', request: { paths: [`${SVC}/WatchStats`] } }],
      [
        {
          name: 'deny_ipvs',
          request: { paths: [`${SVC}/*`], headers: [{ key: 'key-abc', values: ['val-abc', 'val-def'] }] },
        },
      ],
    ),
    path: `${SVC}/Flush`,
    headers: { 'key-abc': ['val-abc'] },
    allowed: false,
    rule: 'deny_ipvs',
  },
  'a match in deny and in allow: deny wins': {
    policy: policy(
      [{ name: 'allow_all', request: { paths: ['*'] } }],
      [{ name: 'deny_all', request: { paths: ['*'] } }],
    ),
    allowed: false,
    rule: 'deny_all',
  },
  'no match in deny, a match in allow: allowed by the allow rule': {
    policy: policy(
      [{ name: 'allow_all' }],
      [
        {
          name: 'deny_writes',
          request: { paths: [`${SVC}/Flush`], headers: [{ key: 'key-abc', values: ['val-abc'] }] },
        },
      ],
    ),
    path: `${SVC}/Flush`,
    headers: { 'key-xyz': ['val-xyz'] },
    allowed: true,
    rule: 'allow_all',
  },
  'no match in deny nor in allow: denied by default, no rule': {
    policy: policy(
      [{ name: 'allow_some_user', source: { principals: ['some_user'] } }],
      [{ name: 'deny_flush', request: { paths: [`${SVC}/Flush`] } }],
    ),
    peer: admin,
    allowed: false,
  },
  'no deny rules, a match in allow': {
    policy: policy([
      { name: 'allow_list', request: { paths: [`${SVC}/ListServices`] } },
      { name: 'allow_get', request: { paths: [`${SVC}/GetService`] } },
    ]),
    path: `${SVC}/GetService`,
    allowed: true,
    rule: 'allow_get',
  },
  'no deny rules, no match in allow': {
    policy: policy([{ name: 'allow_watch', request: { paths: [`${SVC}/WatchStats`] } }]),
    allowed: false,
  },
  'principals never match on a plain-text connection, not even "*" or ""': {
    policy: policy([{ name: 'allow_authenticated', source: { principals: ['*', ''] } }]),
    peer: plain,
    allowed: false,
  },
  'TLS without a client certificate is the empty principal ""': {
    policy: policy([{ name: 'allow_authenticated', source: { principals: ['*', ''] } }]),
    peer: tlsNoCert,
    allowed: true,
    rule: 'allow_authenticated',
  },
  '"*" is any peer with a certificate (mutual TLS)': {
    policy: policy([{ name: 'allow_mtls', source: { principals: ['*'] } }]),
    peer: reader,
    allowed: true,
    rule: 'allow_mtls',
  },
  '"*" does not take TLS without a certificate': {
    policy: policy([{ name: 'allow_mtls', source: { principals: ['*'] } }]),
    peer: tlsNoCert,
    allowed: false,
  },
  'no principals (or an empty list): any peer, plain text too': {
    policy: policy([{ name: 'allow_any', source: { principals: [] } }]),
    peer: plain,
    allowed: true,
    rule: 'allow_any',
  },
  'principals are ORed: one match is enough': {
    policy: policy([
      { name: 'admins', source: { principals: ['spiffe://example.org/nobody', 'spiffe://example.org/admin'] } },
    ]),
    peer: admin,
    allowed: true,
    rule: 'admins',
  },
  'a certificate with URI SANs is named by them only: its DNS SAN does not count': {
    policy: policy([{ name: 'by_dns', source: { principals: ['admin.example.org'] } }]),
    peer: admin,
    allowed: false,
  },
  'a certificate without URI SANs is named by its DNS SANs': {
    policy: policy([{ name: 'readers', source: { principals: ['*.example.org'] } }]),
    peer: reader,
    allowed: true,
    rule: 'readers',
  },
  'a certificate with DNS SANs is not named by its subject': {
    policy: policy([{ name: 'by_subject', source: { principals: ['CN=reader,O=ops'] } }]),
    peer: reader,
    allowed: false,
  },
  'a certificate without SANs is named by its subject (RFC 2253)': {
    policy: policy([{ name: 'legacy', source: { principals: ['CN=legacy,O=ops'] } }]),
    peer: bySubject,
    allowed: true,
    rule: 'legacy',
  },
  'principal prefix match': {
    policy: policy([{ name: 'spiffe', source: { principals: ['spiffe://example.org/*'] } }]),
    peer: admin,
    allowed: true,
    rule: 'spiffe',
  },
  'path prefix match': {
    policy: policy([{ name: 'ipvs', request: { paths: [`${SVC}/*`] } }]),
    path: `${SVC}/ListServices`,
    allowed: true,
    rule: 'ipvs',
  },
  'path suffix match': {
    policy: policy([{ name: 'lists', request: { paths: ['*/ListServices'] } }]),
    path: `${SVC}/ListServices`,
    allowed: true,
    rule: 'lists',
  },
  'path exact match is whole: a longer path does not match': {
    policy: policy([{ name: 'list', request: { paths: [`${SVC}/List`] } }]),
    path: `${SVC}/ListServices`,
    allowed: false,
  },
  'path "*": present, so any path': {
    policy: policy([{ name: 'any', request: { paths: ['*'] } }]),
    path: '/grpc.health.v1.Health/Check',
    allowed: true,
    rule: 'any',
  },
  'a star inside a pattern is a plain character': {
    policy: policy([{ name: 'starry', request: { paths: [`${SVC}/L*Services`] } }]),
    path: `${SVC}/ListServices`,
    allowed: false,
  },
  'header presence "*" fails on an empty value': {
    policy: policy([
      { name: 'present', request: { paths: [`${SVC}/*`], headers: [{ key: 'key-abc', values: ['*'] }] } },
    ]),
    headers: { 'key-abc': [''] },
    allowed: false,
  },
  'header presence "*" takes any non-empty value': {
    policy: policy([{ name: 'present', request: { headers: [{ key: 'key-abc', values: ['*'] }] } }]),
    headers: { 'key-abc': ['x'] },
    allowed: true,
    rule: 'present',
  },
  'a header the call lacks never matches': {
    policy: policy([{ name: 'needs', request: { headers: [{ key: 'key-abc', values: ['*'] }] } }]),
    allowed: false,
  },
  'header values are ORed': {
    policy: policy([{ name: 'either', request: { headers: [{ key: 'team', values: ['blue', 'red'] }] } }]),
    headers: { team: ['red'] },
    allowed: true,
    rule: 'either',
  },
  'headers are ANDed: one missing fails the rule': {
    policy: policy([
      {
        name: 'both',
        request: {
          headers: [
            { key: 'team', values: ['red'] },
            { key: 'env', values: ['prod'] },
          ],
        },
      },
    ]),
    headers: { team: ['red'] },
    allowed: false,
  },
  'header prefix and suffix values': {
    policy: policy([
      {
        name: 'fixes',
        request: {
          headers: [
            { key: 'dev-path', values: ['/dev/path/*'] },
            { key: 'region', values: ['*-west'] },
          ],
        },
      },
    ]),
    headers: { 'dev-path': ['/dev/path/a'], region: ['eu-west'] },
    allowed: true,
    rule: 'fixes',
  },
  'a multi-valued header is one value joined with ","': {
    policy: policy([{ name: 'joined', request: { headers: [{ key: 'k', values: ['a,b'] }] } }]),
    headers: { k: ['a', 'b'] },
    allowed: true,
    rule: 'joined',
  },
  'a header key in the policy is matched case-insensitively': {
    policy: policy([{ name: 'upper', request: { headers: [{ key: 'Key-ABC', values: ['v'] }] } }]),
    headers: { 'key-abc': ['v'] },
    allowed: true,
    rule: 'upper',
  },
  'source and request are ANDed': {
    policy: policy([
      {
        name: 'admin_flush',
        source: { principals: ['spiffe://example.org/admin'] },
        request: { paths: [`${SVC}/Flush`] },
      },
    ]),
    path: `${SVC}/Flush`,
    peer: reader,
    allowed: false,
  },
  'a rule with only a name matches every call': {
    policy: policy([{ name: 'everything' }]),
    path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
    peer: plain,
    allowed: true,
    rule: 'everything',
  },
  'the first matching rule of a list is the one named': {
    policy: policy([{ name: 'first', request: { paths: ['*'] } }, { name: 'second' }]),
    allowed: true,
    rule: 'first',
  },
  'ipvsd: x-ipvsd-namespace is the request namespace': {
    policy: policy([{ name: 'web', request: { headers: [{ key: NAMESPACE_HEADER, values: ['web'] }] } }]),
    namespace: 'web',
    allowed: true,
    rule: 'web',
  },
  'ipvsd: another namespace does not match': {
    policy: policy([{ name: 'web', request: { headers: [{ key: NAMESPACE_HEADER, values: ['web'] }] } }]),
    namespace: 'db',
    allowed: false,
  },
  "ipvsd: the server's own namespace is the empty value": {
    policy: policy([{ name: 'own', request: { headers: [{ key: NAMESPACE_HEADER, values: [''] }] } }]),
    namespace: '',
    allowed: true,
    rule: 'own',
  },
  'ipvsd: a call without a namespace (health, reflection) has no such header': {
    policy: policy([{ name: 'own', request: { headers: [{ key: NAMESPACE_HEADER, values: ['', '*'] }] } }]),
    allowed: false,
  },
  'ipvsd: a client cannot set x-ipvsd-namespace itself': {
    policy: policy([{ name: 'web', request: { headers: [{ key: NAMESPACE_HEADER, values: ['web'] }] } }]),
    headers: { [NAMESPACE_HEADER]: ['web'] },
    namespace: 'db',
    allowed: false,
  },
  'ipvsd: nor by itself, when the call has no namespace': {
    policy: policy([{ name: 'web', request: { headers: [{ key: NAMESPACE_HEADER, values: ['web'] }] } }]),
    headers: { [NAMESPACE_HEADER]: ['web'], 'X-Ipvsd-Namespace': ['web'] },
    allowed: false,
  },
};

describe('gRFC A43 decisions', () => {
  it.each(Object.entries(TABLE))('%s', (_name, row) => {
    const call: CallFacts = {
      path: row.path ?? `${SVC}/ListServices`,
      headers: requestHeaders(row.headers ?? {}, row.namespace),
      peer: row.peer ?? plain,
    };
    const d = decide(parsePolicy(JSON.stringify(row.policy)), call);
    expect({ allowed: d.allowed, rule: d.rule }).toEqual({ allowed: row.allowed, rule: row.rule });
    expect(d.policy).toBe('authz');
  });
});

describe("README's example policy", () => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Authorization and audit'));
  const example = parsePolicy(/```json\n([\s\S]*?)```/.exec(section)![1]!);
  const cert = (uri: string): Peer => ({ tls: true, certificate: { uris: [uri], dnsNames: [], subject: '' } });
  const monitoring = cert('spiffe://example.org/monitoring');
  const deployer = cert('spiffe://example.org/web/deployer');
  const ask = (peer: Peer, path: string, namespace?: string) =>
    decide(example, { path, peer, headers: requestHeaders({}, namespace) });

  it.each([
    ['monitoring lists', monitoring, `${SVC}/ListServices`, 'web', 'monitoring-reads'],
    ['monitoring watches', monitoring, `${SVC}/WatchStats`, 'db', 'monitoring-reads'],
    ['the deployer writes in web', deployer, `${SVC}/Batch`, 'web', 'web-deployer'],
    ['any certificate probes health', monitoring, '/grpc.health.v1.Health/Check', undefined, 'probes'],
    ['and reflects', deployer, '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', undefined, 'probes'],
  ])('allows: %s', (_what, peer, path, namespace, rule) => {
    expect(ask(peer, path, namespace)).toEqual({ allowed: true, policy: 'lb-prod', rule });
  });

  it.each([
    ['monitoring applying', monitoring, `${SVC}/Apply`, 'web', undefined],
    ['the deployer in db', deployer, `${SVC}/Batch`, 'db', undefined],
    ['the deployer flushing web', deployer, `${SVC}/Flush`, 'web', 'nobody-flushes'],
    ['plain text probing health', { tls: false }, '/grpc.health.v1.Health/Check', undefined, undefined],
  ])('denies: %s', (_what, peer, path, namespace, rule) => {
    expect(ask(peer as Peer, path, namespace)).toEqual({ allowed: false, policy: 'lb-prod', rule });
  });
});
