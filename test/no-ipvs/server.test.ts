// The server on a kernel without IPVS. The binary, unless asked for a
// sandbox, refuses to start, loudly; the server itself (as a library
// embeds it) starts, says NOT_SERVING, and every call fails with
// FAILED_PRECONDITION and the errno ENOPROTOOPT.
import { spawnSync } from 'node:child_process';
import { credentials, makeGenericClientConstructor, type Client } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectIpvs, IpvsError, status } from '../../src/client/index.js';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import { testStateDir } from '../state-dir.js';

describe('the server without IPVS', () => {
  it('as a binary without --sandbox, exits non-zero saying IPVS is missing and how to get a sandbox', () => {
    const env = { ...process.env };
    delete env.IPVSD_SANDBOX;
    const r = spawnSync(process.execPath, ['dist/src/server/main.js', '--listen', '127.0.0.1:0', '--unix', ''], {
      env,
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('IPVS is not available in this kernel (modprobe ip_vs');
    expect(r.stderr).toContain('npm start');
    expect(r.stderr).toContain('--sandbox auto');
  }, 60_000);

  it('reports NOT_SERVING and fails calls with FAILED_PRECONDITION / ENOPROTOOPT', async () => {
    const server = await startServer(
      parseConfig(['--listen', '127.0.0.1:0', '--unix', '', '--state-dir', testStateDir()], {}) as ServerConfig,
      pino({ level: 'silent' }),
    );
    expect(server.serving).toBe(false);
    const Health = makeGenericClientConstructor(healthService, 'Health');
    // biome-ignore lint/complexity/noBannedTypes: a generic grpc-js client: its methods are untyped
    const h = new Health(server.addresses[0]!, credentials.createInsecure()) as Client & Record<string, Function>;
    const health = await new Promise<{ status: string }>((resolve, reject) =>
      h.check!({ service: '' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    expect(health.status).toBe('NOT_SERVING');
    const c = connectIpvs(server.addresses[0]!);
    const e = await c.listServices({}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IpvsError);
    expect(e).toMatchObject({ code: status.FAILED_PRECONDITION, errno: 'ENOPROTOOPT' });
    expect((e as IpvsError).details).toContain('IPVS is not available');
    c.close();
    h.close();
    await server.shutdown();
  });
});
