// A server and a client for each e2e test file, inside user-mode Linux: the
// server runs in the test process (so tests can read its counters), the
// client reaches it over real gRPC on loopback TCP or the unix socket, and
// every file works in its own network namespace, cross-checked with ipvsadm.
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { connectIpvs, IpvsError, type IpvsClient } from '../../src/client/index.js';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { createNetns, type Netns } from '../kernel/helpers.js';

export interface E2e {
  ns: Netns;
  server: RunningServer;
  client: IpvsClient;
  /** The client's calls, with this file's namespace filled in. */
  address: string;
  unixPath: string;
}

/** Starts a server allowing this file's namespace; flushes it before each test. */
export function useServer(extraArgs: string[] = []): E2e {
  const ctx = {} as E2e;
  beforeAll(async () => {
    ctx.ns = createNetns('e');
    ctx.unixPath = `/run/ipvsd-${ctx.ns.name}.sock`;
    const cfg = parseConfig(['--listen', '127.0.0.1:0', '--unix', ctx.unixPath, '--netns', ctx.ns.name, ...extraArgs], {}) as ServerConfig;
    ctx.server = await startServer(cfg, pino({ level: process.env.IPVSD_TEST_LOG ?? 'silent' }));
    ctx.address = ctx.server.addresses[0]!;
    ctx.client = connectIpvs(ctx.address);
  });
  beforeEach(async () => {
    await ctx.client.flush({ namespace: ctx.ns.name });
  });
  afterAll(async () => {
    ctx.client?.close();
    await ctx.server?.shutdown();
    ctx.ns?.remove();
  });
  return ctx;
}

/** The IpvsError a call fails with (the test fails if it succeeds). */
export async function failure(p: Promise<unknown>): Promise<IpvsError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof IpvsError)) throw new Error(`expected an IpvsError, got ${String(e)}`);
  return e;
}
