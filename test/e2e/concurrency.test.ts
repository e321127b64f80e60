// Many gRPC clients writing and listing at once on overlapping services: no
// failure, no acknowledged write lost, and each contested destination ends
// with one of the writers' last acknowledged weights.
import { describe, expect, it } from 'vitest';
import { connectIpvs, Protocol } from '../../src/client/index.js';
import { useServer } from './helpers.js';

const ctx = useServer();
const CLIENTS = 6;
const ROUNDS = 20;
const shared = { address: '192.0.2.1', protocol: Protocol.TCP, port: 80 };
const contested = ['198.51.100.1', '198.51.100.2'];

describe('concurrent clients', () => {
  it('lose no acknowledged write, and contested objects end with a last acknowledged write', async () => {
    const ns = ctx.ns.name;
    await ctx.client.createService({ namespace: ns, service: { id: shared } });
    for (const address of contested)
      await ctx.client.createDestination({ namespace: ns, service: shared, destination: { address } });
    const lastWeight = new Map<string, Set<number>>(contested.map((a) => [a, new Set()]));
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, k) => {
        const c = connectIpvs(ctx.address);
        const mine = new Map<string, number>();
        for (let i = 0; i < ROUNDS; i++) {
          const own = { address: '192.0.2.2', protocol: Protocol.TCP, port: 1000 + k * ROUNDS + i };
          const address = contested[i % contested.length]!;
          const weight = k * 1000 + i + 1;
          await Promise.all([
            c.createService({ namespace: ns, service: { id: own } }),
            c
              .updateDestination({ namespace: ns, service: shared, destination: { address, weight } })
              .then(() => mine.set(address, weight)),
            c.listServices({ namespace: ns, includeDestinations: true }),
          ]);
        }
        for (const [address, w] of mine) lastWeight.get(address)!.add(w);
        c.close();
      }),
    );
    const saved = ctx.ns.saved();
    // Every acknowledged create is there.
    expect(saved.filter((l) => l.startsWith('-A -t 192.0.2.2:'))).toHaveLength(CLIENTS * ROUNDS);
    for (const address of contested) {
      const line = saved.find((l) => l.includes(`-r ${address}:80`))!;
      const weight = Number(/-w (\d+)/.exec(line)![1]);
      expect(lastWeight.get(address)!.has(weight), `${address} weight ${weight}`).toBe(true);
    }
  });
});
