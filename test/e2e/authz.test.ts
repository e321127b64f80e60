// Authorization (gRFC A43) over real mutual TLS, certificates made here by
// openssl: a read-only certificate lists and watches but every write RPC is
// PERMISSION_DENIED with the kernel unchanged; a writer limited to one
// namespace (x-ipvsd-namespace) is refused in the others, whatever header it
// sends; a reload under a live WatchStats stream switches decisions without
// dropping it, and a broken reload leaves the policy before in force. The
// audit lines name who, what, where and the rule.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { credentials, makeGenericClientConstructor, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateServiceRequestSchema, IpvsService } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { AddressFamily, Protocol } from '../../gen/ts/ipvs/v1/model_pb.js';
import { connectIpvs, IpvsError, status, type IpvsClient } from '../../src/client/index.js';
import { WRITES } from '../../src/server/audit.js';
import type { RunningServer } from '../../src/server/server.js';
import { createNetns, type Netns } from '../kernel/helpers.js';
import { startInProcess, until } from './helpers.js';

const dir = mkdtempSync('/var/tmp/ipvsd-authz-');
const file = (n: string) => join(dir, n);
const sh = (cmd: string) => execFileSync('sh', ['-c', `cd ${dir} && ${cmd}`], { stdio: 'pipe' });

/** The CA, and a certificate it signs for `name` with the subjectAltName `san`. */
function issue(name: string, san: string): void {
  sh(
    `openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=${name} -keyout ${name}.key -out ${name}.csr`,
  );
  writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\n`);
  sh(
    `openssl x509 -req -in ${name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ${name}.ext -out ${name}.pem`,
  );
}
sh(
  'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ca -keyout ca.key -out ca.pem',
);
issue('server', 'IP:127.0.0.1,DNS:localhost');
issue('reader', 'URI:spiffe://example.org/reader');
issue('writer', 'URI:spiffe://example.org/writer');
issue('stranger', 'URI:spiffe://example.org/stranger');

const creds = (name: string) =>
  credentials.createSsl(
    readFileSync(file('ca.pem')),
    readFileSync(file(`${name}.key`)),
    readFileSync(file(`${name}.pem`)),
  );

const SVC = '/ipvs.v1.IpvsService';
const READS = ['ListServices', 'GetService', 'ListDestinations', 'WatchStats', 'WatchEvents', 'GetInfo', 'GetConfig'];

/** The policy: readers read, the writer writes in `web` only, any client certificate may probe health. */
function policy(web: string, extra: object[] = []): string {
  return JSON.stringify({
    name: 'e2e',
    deny_rules: [{ name: 'nobody_flushes', request: { paths: [`${SVC}/Flush`] }, source: { principals: ['*writer'] } }],
    allow_rules: [
      {
        name: 'readers',
        source: { principals: ['spiffe://example.org/reader', 'spiffe://example.org/writer'] },
        request: { paths: READS.map((m) => `${SVC}/${m}`) },
      },
      {
        name: 'web_writer',
        source: { principals: ['spiffe://example.org/writer'] },
        request: { paths: [`${SVC}/*`], headers: [{ key: 'x-ipvsd-namespace', values: [web] }] },
      },
      { name: 'probes', source: { principals: ['*'] }, request: { paths: ['/grpc.health.v1.Health/*'] } },
      ...extra,
    ],
  });
}

const lines: Record<string, unknown>[] = [];
const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
const audits = () => lines.filter((l) => l.msg === 'audit');

let web: Netns;
let db: Netns;
let server: RunningServer;
const clients: IpvsClient[] = [];
const connect = (name: string, resubscribe = true) => {
  const c = connectIpvs(server.addresses[0]!, { credentials: creds(name), resubscribe });
  clients.push(c);
  return c;
};
const tcp = (ns: string, port: number) => ({
  namespace: ns,
  service: {
    id: { addressFamily: AddressFamily.INET, protocol: Protocol.TCP, address: '192.0.2.10', port },
    schedName: 'rr',
  },
});
const waitFor = async (f: () => boolean, ms: number) => expect(await until(f, ms)).not.toBe(-1);
const code = async (p: Promise<unknown>) => {
  try {
    await p;
    return status.OK;
  } catch (e) {
    if (!(e instanceof IpvsError)) throw e;
    return e.code;
  }
};

beforeAll(async () => {
  web = createNetns('web');
  db = createNetns('db');
  web.ipvsadm('-A -t 192.0.2.1:80 -s rr');
  db.ipvsadm('-A -t 192.0.2.2:80 -s rr');
  writeFileSync(file('policy.json'), policy(web.name));
  server = await startInProcess(
    [
      '--tls-cert',
      file('server.pem'),
      '--tls-key',
      file('server.key'),
      '--tls-client-ca',
      file('ca.pem'),
      '--netns',
      web.name,
      '--netns',
      db.name,
      '--authz-policy',
      file('policy.json'),
    ],
    log,
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.shutdown();
  web?.remove();
  db?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('a read-only certificate', () => {
  it('lists and watches', async () => {
    const reader = connect('reader');
    const page = await reader.listServices({ namespace: web.name });
    expect(page.services.map((s) => s.service?.id?.address)).toEqual(['192.0.2.1']);
    for await (const tick of reader.watchStats({ namespace: web.name })) {
      expect(tick.services).toHaveLength(1);
      break;
    }
  });

  it('gets PERMISSION_DENIED on every write RPC, Batch and Apply included, and the kernel is unchanged', async () => {
    const reader = connect('reader');
    const before = [web.saved(), db.saved()];
    const writes = IpvsService.methods.filter((m) => WRITES.has(m.name));
    expect(writes.map((m) => m.name)).toEqual(expect.arrayContaining(['Batch', 'Apply', 'ApplyWithProgress', 'Flush']));
    expect(writes).toHaveLength(WRITES.size);
    const r = reader as unknown as Record<string, (req: object) => unknown>;
    for (const m of writes) {
      // Requests that would change something if they ran: a service to create, an apply that prunes.
      const req = {
        ...tcp(web.name, 81),
        operations: [{ operation: { case: 'createService', value: tcp(web.name, 82).service } }],
        services: [],
        prune: true,
        apply: { namespace: web.name, prune: true },
      };
      const got =
        m.methodKind === 'unary'
          ? await code(r[m.localName]!(req) as Promise<unknown>)
          : await code(
              (async () => {
                for await (const _ of r[m.localName]!(req) as AsyncIterable<unknown>);
              })(),
            );
      expect([m.name, got]).toEqual([m.name, status.PERMISSION_DENIED]);
    }
    expect([web.saved(), db.saved()]).toEqual(before);
    const denied = audits().filter((l) => l.decision === 'deny' && l.principal === 'spiffe://example.org/reader');
    expect(new Set(denied.map((l) => l.method))).toEqual(new Set(writes.map((m) => `${SVC}/${m.name}`)));
    expect(denied.find((l) => l.method === `${SVC}/Apply`)).toMatchObject({
      namespace: web.name,
      policy: 'e2e',
      code: 'PERMISSION_DENIED',
    });
  });
});

describe('a writer limited to one namespace', () => {
  it('writes there, and is refused in the others, even when it sends x-ipvsd-namespace itself', async () => {
    const writer = connect('writer');
    expect(await code(writer.createService(tcp(web.name, 8080)))).toBe(status.OK);
    expect(web.saved()).toContain('-A -t 192.0.2.10:8080 -s rr');
    expect(await code(writer.createService(tcp(db.name, 8080)))).toBe(status.PERMISSION_DENIED);
    expect(await code(writer.createService(tcp('', 8080)))).toBe(status.PERMISSION_DENIED);
    expect(
      await code(
        writer.batch({
          namespace: db.name,
          operations: [{ operation: { case: 'deleteService', value: tcp(db.name, 80).service!.id } }],
        }),
      ),
    ).toBe(status.PERMISSION_DENIED);

    const forged = new Metadata();
    forged.set('x-ipvsd-namespace', web.name);
    const raw = writer.grpc as unknown as Record<string, (...a: unknown[]) => void>;
    const err = await new Promise<ServiceError | null>((resolve) =>
      raw.createService!(create(CreateServiceRequestSchema, tcp(db.name, 8081)), forged, (e: ServiceError | null) =>
        resolve(e),
      ),
    );
    expect(err?.code).toBe(status.PERMISSION_DENIED);
    expect(db.saved()).toEqual(['-A -t 192.0.2.2:80 -s rr']);

    // An Apply's audit line counts what it changed.
    const desired = [{ service: tcp(web.name, 8443).service, destinations: [] }];
    expect(
      await code(writer.apply({ namespace: web.name, services: desired, scope: { addresses: ['192.0.2.10'] } })),
    ).toBe(status.OK);
    expect(audits()).toContainEqual(
      expect.objectContaining({
        method: `${SVC}/Apply`,
        namespace: web.name,
        rule: 'web_writer',
        code: 'OK',
        services: 1,
        prune: false,
        dryRun: false,
        applied: 1,
        failed: 0,
      }),
    );

    // Deny rules come first: the writer may not Flush even its own namespace.
    expect(await code(writer.flush({ namespace: web.name }))).toBe(status.PERMISSION_DENIED);
    expect(audits()).toContainEqual(
      expect.objectContaining({
        principal: 'spiffe://example.org/writer',
        method: `${SVC}/CreateService`,
        namespace: web.name,
        decision: 'allow',
        rule: 'web_writer',
        code: 'OK',
        service: 'tcp 192.0.2.10:8080',
      }),
    );
    expect(audits()).toContainEqual(
      expect.objectContaining({ method: `${SVC}/Flush`, decision: 'deny', rule: 'nobody_flushes' }),
    );
  });
});

describe('health and other callers', () => {
  it('a certificate the policy does not name gets health but nothing of IpvsService', async () => {
    const stranger = connect('stranger');
    expect(await code(stranger.getInfo({}))).toBe(status.PERMISSION_DENIED);
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const h = new Health(server.addresses[0]!, creds('stranger')) as Client & Record<string, (...a: unknown[]) => void>;
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      h.check!({ service: '' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    expect(res.status).toBe('SERVING');
    h.close();
  });
});

describe('reloading', () => {
  it('switches decisions under a live WatchStats stream without dropping it; a broken file keeps the policy before', async () => {
    const reader = connect('reader', false);
    const ac = new AbortController();
    let ticks = 0;
    let ended: unknown = 'running';
    const watching = (async () => {
      try {
        for await (const _ of reader.watchStats(
          { namespace: web.name, interval: { seconds: 0n, nanos: 200_000_000 }, allowFast: true },
          { signal: ac.signal },
        ))
          ticks++;
        ended = 'ended';
      } catch (e) {
        ended = e;
      }
    })();
    await waitFor(() => ticks >= 2, 10_000);
    expect(await code(reader.createService(tcp(web.name, 9000)))).toBe(status.PERMISSION_DENIED);

    const readerWrites = {
      name: 'reader_writes_web',
      source: { principals: ['spiffe://example.org/reader'] },
      request: { headers: [{ key: 'x-ipvsd-namespace', values: [web.name] }] },
    };
    writeFileSync(file('policy.json'), policy(web.name, [readerWrites]));
    await waitFor(() => lines.some((l) => l.msg === 'authorization policy reloaded'), 10_000);
    expect(await code(reader.createService(tcp(web.name, 9000)))).toBe(status.OK);
    const atReload = ticks;
    await waitFor(() => ticks >= atReload + 2, 10_000);

    writeFileSync(
      file('policy.json'),
      '{"name": "e2e", "allow_rules": [{"name": "x", "request": {"headers": [{"key": "host", "values": ["*"]}]}}]}',
    );
    await waitFor(() => lines.some((l) => String(l.msg).startsWith('authorization policy reload refused')), 10_000);
    const refused = lines.find((l) => String(l.msg).startsWith('authorization policy reload refused'))!;
    expect(refused.err).toMatch(/allow_rules\[0\]\.request\.headers\[0\]\.key: unsupported header "host"/);
    // The policy before (the reader may write in web) is still the one in force.
    expect(await code(reader.createService(tcp(web.name, 9001)))).toBe(status.OK);
    expect(await code(reader.createService(tcp(db.name, 9001)))).toBe(status.PERMISSION_DENIED);
    expect(web.saved()).toEqual(expect.arrayContaining(['-A -t 192.0.2.10:9000 -s rr', '-A -t 192.0.2.10:9001 -s rr']));

    const afterRefusal = ticks;
    await waitFor(() => ticks >= afterRefusal + 2, 10_000);
    expect(ended).toBe('running');
    ac.abort();
    await watching;
  });
});
