// --max-watchers: the watcher over the most is refused RESOURCE_EXHAUSTED
// before it runs; a slot comes back when a watcher ends, however it ends.
// Health's Watch streams count too (a real grpc-js server, plain text).
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type Client } from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Guard, guardedServer } from '../../src/server/guard.js';
import type { CallContext } from '../../src/server/handler.js';
import { RpcError } from '../../src/server/status.js';
import { WatcherSlots } from '../../src/server/watchers.js';

const ctx: CallContext = { signal: new AbortController().signal, log: pino({ level: 'silent' }), note: () => {} };

describe('WatcherSlots', () => {
  it('refuses one over the most, and takes one again when a watcher ends or fails', async () => {
    const slots = new WatcherSlots(2);
    const ends: (() => void)[] = [];
    let runs = 0;
    const watch = slots.limit('WatchStats', async (fail: boolean) => {
      runs++;
      await new Promise<void>((resolve) => ends.push(resolve));
      if (fail) throw new Error('poller failed');
    });
    const a = watch(false, async () => {}, ctx);
    const b = watch(true, async () => {}, ctx);
    expect(slots.size).toBe(2);
    const refused = await watch(false, async () => {}, ctx).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcError);
    expect(refused).toMatchObject({
      code: 8,
      message: 'WatchStats: the server has 2 watchers open, its most (--max-watchers); try again when one ends',
    });
    expect(runs).toBe(2);
    ends[1]!();
    await expect(b).rejects.toThrow('poller failed');
    expect(slots.size).toBe(1);
    const c = watch(false, async () => {}, ctx);
    expect(slots.size).toBe(2);
    ends[0]!();
    ends[2]!();
    await Promise.all([a, c]);
    expect(slots.size).toBe(0);
  });

  it("counts health's Watch streams: one over the most is RESOURCE_EXHAUSTED, a cancelled one frees its slot", async () => {
    const slots = new WatcherSlots(2);
    const server = new Server();
    const guard = new Guard({ log: pino({ level: 'silent' }), policy: () => undefined, tls: false, auditReads: false });
    new HealthImplementation({ '': 'SERVING' }).addToServer(guardedServer(server, guard, slots) as Server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const client = new Health(`127.0.0.1:${port}`, credentials.createInsecure()) as Client &
      Record<string, (req: object) => NodeJS.ReadableStream & { cancel(): void }>;
    /** A Watch stream: resolves with 'SERVING' at its first message, or the status code it fails with. */
    const watch = () => {
      const call = client.watch!({ service: '' });
      const first = new Promise<unknown>((resolve) => {
        call.on('data', (m: { status: string }) => resolve(m.status));
        call.on('error', (e: { code: number }) => resolve(e.code));
      });
      return { call, first };
    };
    try {
      const [a, b] = [watch(), watch()];
      expect([await a.first, await b.first]).toEqual(['SERVING', 'SERVING']);
      expect(slots.size).toBe(2);
      expect(await watch().first).toBe(8);
      a.call.cancel();
      for (let i = 0; i < 100 && slots.size > 1; i++) await new Promise((r) => setTimeout(r, 10));
      expect(slots.size).toBe(1);
      const c = watch();
      expect(await c.first).toBe('SERVING');
      b.call.cancel();
      c.call.cancel();
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
