import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { credentials, makeGenericClientConstructor, type Client } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { connectIpvs, status } from '../../src/client/index.js';
import { reflection } from '../reflection.js';
import { testStateDir } from '../state-dir.js';
import { failure, startInProcess, useServer } from './helpers.js';

const ctx = useServer();

describe('health and reflection', () => {
  it('reports SERVING for the server and for ipvs.v1.IpvsService', async () => {
    const Health = makeGenericClientConstructor(healthService, 'Health');
    // biome-ignore lint/complexity/noBannedTypes: a generic grpc-js client: its methods are untyped
    const h = new Health(ctx.address, credentials.createInsecure()) as Client & Record<string, Function>;
    for (const service of ['', 'ipvs.v1.IpvsService']) {
      const r = await new Promise<{ status: string }>((resolve, reject) =>
        h.check!({ service }, (e: Error | null, res: { status: string }) => (e ? reject(e) : resolve(res))),
      );
      expect(r.status).toBe('SERVING');
    }
    h.close();
  });

  it('the container healthcheck script exits 0 against a serving server, 1 against none', async () => {
    const run = async (addr: string) => {
      const p = spawn(process.execPath, ['dist/src/server/healthcheck.js', addr], { stdio: 'ignore' });
      const [code] = await once(p, 'exit');
      return code;
    };
    expect(await run(ctx.address)).toBe(0);
    expect(await run('127.0.0.1:1')).toBe(1);
  });

  it('--health-listen serves health alone, in plain text, beside a TLS-only API', async () => {
    const s = await startInProcess(['--health-listen', '127.0.0.1:0']);
    const Health = makeGenericClientConstructor(healthService, 'Health');
    // biome-ignore lint/complexity/noBannedTypes: a generic grpc-js client: its methods are untyped
    const h = new Health(s.healthAddress!, credentials.createInsecure()) as Client & Record<string, Function>;
    const r = await new Promise<{ status: string }>((resolve, reject) =>
      h.check!({ service: 'ipvs.v1.IpvsService' }, (e: Error | null, res: { status: string }) =>
        e ? reject(e) : resolve(res),
      ),
    );
    expect(r.status).toBe('SERVING');
    const api = connectIpvs(s.healthAddress!);
    expect((await failure(api.getInfo({}))).code).toBe(status.UNIMPLEMENTED);
    api.close();
    h.close();
    await s.shutdown();
  });

  it('answers a reflection client: services, then the descriptors of IpvsService and Health with their methods', async () => {
    const r = reflection(ctx.address);
    expect(await r.services()).toEqual(expect.arrayContaining(['ipvs.v1.IpvsService', 'grpc.health.v1.Health']));
    expect(await r.methods('ipvs.v1.IpvsService')).toEqual(
      expect.arrayContaining(['ListServices', 'CreateService', 'Batch', 'WatchStats']),
    );
    expect(await r.methods('grpc.health.v1.Health')).toEqual(expect.arrayContaining(['Check', 'Watch']));
    await r.close();
  });
});

describe('logs', () => {
  it('one JSON line per RPC with method, namespace, status and duration, and no request body', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const s = await startInProcess(['--netns', ctx.ns.name], log);
    const c = connectIpvs(s.addresses[0]!);
    await c.getInfo({ namespace: ctx.ns.name });
    await c.createService({ namespace: ctx.ns.name, service: { id: { address: '192.0.2.77', protocol: 6, port: 1 } } });
    await c
      .createService({ namespace: ctx.ns.name, service: { id: { address: '192.0.2.77', protocol: 6, port: 1 } } })
      .catch(() => undefined);
    c.close();
    await s.shutdown();
    const rpcs = lines.filter((l) => l.msg === 'rpc');
    expect(rpcs.map((l) => [l.method, l.namespace, l.code])).toEqual([
      ['GetInfo', ctx.ns.name, 'OK'],
      ['CreateService', ctx.ns.name, 'OK'],
      ['CreateService', ctx.ns.name, 'ALREADY_EXISTS'],
    ]);
    expect(rpcs.every((l) => typeof l.ms === 'number')).toBe(true);
    expect(rpcs[2]!.error).toBe('newService tcp 192.0.2.77:1: EEXIST');
    expect(JSON.stringify(rpcs)).not.toContain('"service":{');
  });
});

describe('shutdown', () => {
  it('on SIGTERM ends open streams with UNAVAILABLE, removes its socket and exits 0', async () => {
    const sock = `/run/ipvsd-term-${process.pid}.sock`;
    const p = spawn(
      process.execPath,
      [
        'dist/src/server/main.js',
        '--sandbox',
        'never',
        '--listen',
        '127.0.0.1:0',
        '--unix',
        sock,
        '--state-dir',
        testStateDir(),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout!.on('data', (d) => {
      out += d;
    });
    for (let i = 0; i < 300 && !out.includes('ipvsd listening'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(sock)).toBe(true);
    const c = connectIpvs(`unix:${sock}`);
    const watched = failure(
      (async () => {
        // The server's own UNAVAILABLE, not the client's re-subscription giving up after it.
        for await (const _ of c.watchStats({ interval: { nanos: 200e6 }, allowFast: true }, { resubscribe: false })) {
          if (p.exitCode === null && !p.killed) p.kill('SIGTERM');
        }
      })(),
    );
    const [code] = await once(p, 'exit');
    expect(code).toBe(0);
    expect((await watched).code).toBe(status.UNAVAILABLE);
    expect(existsSync(sock)).toBe(false);
    expect(out).toContain('"msg":"stopped"');
    c.close();
  });
});
