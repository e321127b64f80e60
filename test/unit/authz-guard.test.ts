// The guard of every call (server/guard.ts): x-ipvsd-namespace comes from the
// decoded request, never from the client (a client's header of that name is
// dropped), from the field each RPC keeps it in; denied calls and writes get
// one audit line, reads only when asked.
import { create } from '@bufbuild/protobuf';
import { Metadata } from '@grpc/grpc-js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { parsePolicy } from '../../src/authz/policy.js';
import { DENIED_MESSAGE, Guard, type GuardableCall } from '../../src/server/guard.js';
import { WriteLimiter } from '../../src/server/rate-limit.js';

const POLICY = parsePolicy(
  JSON.stringify({
    name: 'web-only',
    allow_rules: [
      {
        name: 'web_writer',
        request: { paths: ['/ipvs.v1.IpvsService/*'], headers: [{ key: 'x-ipvsd-namespace', values: ['web'] }] },
      },
    ],
  }),
);

function call(method: string, headers: Record<string, string> = {}): GuardableCall {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.add(k, v);
  return {
    metadata,
    getPath: () => `/ipvs.v1.IpvsService/${method}`,
    getPeer: () => '127.0.0.1:40000',
    getAuthContext: () => ({}),
  };
}

function guard(o: { policy?: boolean; auditReads?: boolean } = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const g = new Guard({
    log,
    policy: () => (o.policy === false ? undefined : POLICY),
    tls: false,
    auditReads: o.auditReads ?? false,
    desiredNamespace: (name) => ({ 'desiredStates/web': 'web', 'desiredStates/db': 'db' })[name],
  });
  return { g, lines };
}

const service = create(api.CreateServiceRequestSchema, {
  namespace: 'db',
  service: { id: { addressFamily: 2, protocol: 6, address: '192.0.2.1', port: 80 }, schedName: 'rr' },
});

describe('Guard', () => {
  it("ignores a client's own x-ipvsd-namespace: the request's namespace decides", () => {
    const { g, lines } = guard();
    const c = g.open('CreateService', call('CreateService', { 'x-ipvsd-namespace': 'web' }), service);
    expect(c.denied?.code).toBe(7);
    expect(c.denied?.message).toBe(DENIED_MESSAGE);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'audit',
        method: '/ipvs.v1.IpvsService/CreateService',
        namespace: 'db',
        decision: 'deny',
        policy: 'web-only',
        code: 'PERMISSION_DENIED',
        principal: '',
        peer: '127.0.0.1:40000',
      }),
    ]);
    expect(lines[0]).not.toHaveProperty('rule');
  });

  it('allows the namespace the rule names, and audits the write with the service it names', () => {
    const { g, lines } = guard();
    const c = g.open('CreateService', call('CreateService'), { ...service, namespace: 'web' });
    expect(c.denied).toBeUndefined();
    expect(lines).toEqual([]);
    c.end('OK');
    expect(lines).toEqual([
      expect.objectContaining({
        namespace: 'web',
        decision: 'allow',
        rule: 'web_writer',
        code: 'OK',
        service: 'tcp 192.0.2.1:80',
      }),
    ]);
  });

  it('a namespace is one name however written: "/run/netns/db" is "db", so a rule on "db" cannot be passed', () => {
    const denyDb = parsePolicy(
      JSON.stringify({
        name: 'no-db',
        deny_rules: [{ name: 'not_db', request: { headers: [{ key: 'x-ipvsd-namespace', values: ['db'] }] } }],
        allow_rules: [{ name: 'all' }],
      }),
    );
    const g = new Guard({ log: pino({ level: 'silent' }), policy: () => denyDb, tls: false, auditReads: false });
    for (const ns of ['db', '/run/netns/db'])
      expect(g.open('Flush', call('Flush'), { namespace: ns }).denied?.code).toBe(7);
    expect(g.namespaceOf('Flush', { namespace: '/run/netns/web' })).toBe('web');
    expect(g.namespaceOf('Flush', { namespace: '/proc/1/ns/net' })).toBe('/proc/1/ns/net');
    expect(g.namespaceOf('Flush', { namespace: '/run/netns/a/b' })).toBe('/run/netns/a/b');
    expect(g.namespaceOf('Flush', { namespace: '' })).toBe('');
    expect(g.open('Flush', call('Flush'), { namespace: '/run/netns/web' }).denied).toBeUndefined();
  });

  it("ApplyWithProgress acts in apply.namespace, and a Batch's counts are noted", () => {
    const { g, lines } = guard();
    const denied = g.open('ApplyWithProgress', call('ApplyWithProgress'), { apply: { namespace: 'db', services: [] } });
    expect(denied.denied).toBeDefined();
    const batch = g.open('Batch', call('Batch'), create(api.BatchRequestSchema, { namespace: 'web', operations: [] }));
    batch.note({ applied: 0, failed: 0 });
    batch.end('OK');
    expect(lines[1]).toMatchObject({ method: '/ipvs.v1.IpvsService/Batch', operations: 0, applied: 0, failed: 0 });
  });

  it('the RPCs that name a desired state act in its namespace; one not held has none, and is denied', () => {
    const { g } = guard();
    expect(
      g.open('DeleteDesiredState', call('DeleteDesiredState'), { name: 'desiredStates/web' }).denied,
    ).toBeUndefined();
    expect(g.open('DeleteDesiredState', call('DeleteDesiredState'), { name: 'desiredStates/db' }).denied).toBeDefined();
    expect(g.open('GetDesiredState', call('GetDesiredState'), { name: 'desiredStates/gone' }).denied).toBeDefined();
    expect(
      g.open('PutDesiredState', call('PutDesiredState'), { desiredState: { namespace: 'web' } }).denied,
    ).toBeUndefined();
    expect(
      g.open('ListDestinationHealth', call('ListDestinationHealth'), { parent: 'desiredStates/web' }).denied,
    ).toBeUndefined();
  });

  it('audits reads only with --audit-reads', () => {
    const quiet = guard();
    quiet.g.open('ListServices', call('ListServices'), { namespace: 'web' }).end('OK');
    expect(quiet.lines).toEqual([]);
    const loud = guard({ auditReads: true });
    loud.g.open('ListServices', call('ListServices'), { namespace: 'web' }).end('OK');
    expect(loud.lines).toEqual([expect.objectContaining({ msg: 'audit', decision: 'allow', code: 'OK' })]);
  });

  it('without a policy every call is allowed, and writes are still audited', () => {
    const { g, lines } = guard({ policy: false });
    const c = g.open('Flush', call('Flush'), { namespace: 'db' });
    expect(c.denied).toBeUndefined();
    c.end('OK');
    expect(lines).toEqual([
      expect.objectContaining({ method: '/ipvs.v1.IpvsService/Flush', decision: 'allow', namespace: 'db' }),
    ]);
    expect(lines[0]).not.toHaveProperty('policy');
  });

  it('--write-rate-limit: a principal past its burst is RESOURCE_EXHAUSTED with when to retry; reads and others go on', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const t = 0;
    const g = new Guard({
      log,
      policy: () => undefined,
      tls: false,
      auditReads: false,
      unixPeer: (p) => ({ 'unix#1': { uid: 1001, gid: 1001 }, 'unix#2': { uid: 1002, gid: 1002 } })[p],
      writeLimit: new WriteLimiter(2, 2, () => t),
    });
    const from = (peer: string, method: string) => ({ ...call(method), getPeer: () => peer });
    const write = (peer: string) => g.open('Flush', from(peer, 'Flush'), { namespace: 'web' }).denied;
    expect([write('unix#1'), write('unix#1')]).toEqual([undefined, undefined]);
    const refused = write('unix#1');
    expect(refused?.code).toBe(8);
    expect(refused?.message).toBe(
      'write rate limit: unix:uid:1001 may write 2 times a second, 2 at once (--write-rate-limit); retry in 0.500 s',
    );
    expect(lines.at(-1)).toMatchObject({ principal: 'unix:uid:1001', code: 'RESOURCE_EXHAUSTED', retryMs: 500 });
    // Reads take no token; another principal, or another host without one, has its own bucket.
    expect(g.open('ListServices', from('unix#1', 'ListServices'), { namespace: 'web' }).denied).toBeUndefined();
    expect([write('unix#2'), write('unix#2')]).toEqual([undefined, undefined]);
    expect([write('127.0.0.1:1'), write('127.0.0.1:2'), write('127.0.0.1:3')].map((d) => d?.code)).toEqual([
      undefined,
      undefined,
      8,
    ]);
    expect(write('127.0.0.2:1')).toBeUndefined();
  });
});
