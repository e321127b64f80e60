// The server on a kernel without IPVS: it starts, says NOT_SERVING, and
// every call fails with FAILED_PRECONDITION and the errno ENOPROTOOPT.
import { credentials, makeGenericClientConstructor, type Client } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectIpvs, IpvsError, status } from '../../src/client/index.js';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';

describe('the server without IPVS', () => {
  it('reports NOT_SERVING and fails calls with FAILED_PRECONDITION / ENOPROTOOPT', async () => {
    const server = await startServer(parseConfig(['--listen', '127.0.0.1:0', '--unix', ''], {}) as ServerConfig, pino({ level: 'silent' }));
    expect(server.serving).toBe(false);
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const h = new Health(server.addresses[0]!, credentials.createInsecure()) as Client & Record<string, Function>;
    const health = await new Promise<{ status: string }>((resolve, reject) => h.check!({ service: '' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))));
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
