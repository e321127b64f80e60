// Health and reflection share the listeners, so the policy covers them as
// it covers IpvsService (guardedServer): a unary call, a server stream and a
// bidirectional stream each end PERMISSION_DENIED when denied, and run when
// allowed. A real grpc-js server on loopback, in plain text.
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type Client } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/authz/policy.js';
import { reflected } from '../../src/server/server.js';
import { Guard, guardedServer } from '../../src/server/guard.js';

const policy = parsePolicy(
  JSON.stringify({
    name: 'p',
    allow_rules: [{ name: 'health-check', request: { paths: ['/grpc.health.v1.Health/Check'] } }],
  }),
);
const lines: Record<string, unknown>[] = [];
const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
const server = new Server();
let address = '';

beforeAll(async () => {
  const guard = new Guard({ log, policy: () => policy, tls: false, auditReads: false });
  new HealthImplementation({ '': 'SERVING' }).addToServer(guardedServer(server, guard) as Server);
  new ReflectionService(reflected()).addToServer(guardedServer(server, guard));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});
afterAll(() => server.forceShutdown());

type Generic = Client &
  Record<
    string,
    (...a: unknown[]) => { on(ev: string, f: (x: unknown) => void): unknown; write?(m: unknown): void; end?(): void }
  >;
const Health = makeGenericClientConstructor(healthService, 'Health');
const Reflection = makeGenericClientConstructor(
  {
    info: {
      path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      requestStream: true,
      responseStream: true,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  },
  'ServerReflection',
);

/** The status code a stream ends with. */
const ends = (s: { on(ev: string, f: (x: unknown) => void): unknown }) =>
  new Promise<number>((resolve) => {
    s.on('data', () => {});
    s.on('error', (e) => resolve((e as { code: number }).code));
    s.on('end', () => resolve(0));
  });

describe('health and reflection under the policy', () => {
  it('an allowed unary call runs', async () => {
    const h = new Health(address, credentials.createInsecure()) as Generic;
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      h.check!({ service: '' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    expect(res.status).toBe('SERVING');
    h.close();
  });

  it('a denied server stream (Health.Watch) ends PERMISSION_DENIED, audited', async () => {
    const h = new Health(address, credentials.createInsecure()) as Generic;
    expect(await ends(h.watch!({ service: '' }))).toBe(7);
    h.close();
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'audit', method: '/grpc.health.v1.Health/Watch', decision: 'deny' }),
    );
  });

  it('a denied bidirectional stream (reflection) ends PERMISSION_DENIED', async () => {
    const r = new Reflection(address, credentials.createInsecure()) as Generic;
    const s = r.info!();
    const code = ends(s);
    s.write!(Buffer.alloc(0));
    s.end!();
    expect(await code).toBe(7);
    r.close();
    const audited = lines.find((l) => l.method === '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo');
    expect(audited).toMatchObject({ decision: 'deny', code: 'PERMISSION_DENIED' });
    expect(audited).not.toHaveProperty('namespace');
  });
});
