// Graceful removal with Apply's drain_timeout: a drained destination is
// deleted as soon as it carries no connections, or when its time is up; one
// wanted again before then stays. Real connections through a masquerading
// VIP make the kernel's connection counts.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Protocol, status } from '../../src/client/index.js';
import { createTopology, REAL, REAL_PORT, VIP_ADDRESS, VIP_PORT, type Topology } from '../kernel/topology.js';
import { failure, until, useServer } from './helpers.js';

const ctx = useServer();
let net: Topology;
const id = { address: VIP_ADDRESS, protocol: Protocol.TCP, port: VIP_PORT };
const real = (i: number) => ({ address: REAL[i]!.server, port: REAL_PORT });
const apply = (reals: number[], drainSeconds?: number) =>
  ctx.client.apply({
    namespace: ctx.ns.name,
    prune: true,
    drain: drainSeconds !== undefined,
    drainTimeout: drainSeconds === undefined ? undefined : { seconds: BigInt(drainSeconds), nanos: 0 },
    services: [{ service: { id, schedName: 'rr' }, destinations: reals.map(real) }],
  });
/** The weight of real server i, or undefined once it is deleted. */
const weightOf = (i: number) => {
  const line = ctx.ns.saved().find((l) => l.includes(`-r ${REAL[i]!.server}:`));
  return line ? Number(/-w (\d+)/.exec(line)![1]) : undefined;
};

describe('drain_timeout', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
  });
  afterAll(() => net?.close());

  it('deletes a drained destination at once when it has no connections', async () => {
    await apply([0, 1]);
    await apply([0], 60);
    expect(await until(() => weightOf(1) === undefined, 5000)).toBeGreaterThanOrEqual(0);
    expect(weightOf(0)).toBe(1);
  });

  it('keeps a drained destination with connections until its time is up', async () => {
    await apply([0, 1]);
    expect(new Set(net.request(4))).toEqual(new Set(['r1', 'r2'])); // closed connections linger as inactive
    const r = await apply([1], 4);
    expect(r.changes.map((c) => c.description)).toEqual([
      `drainDestination ${REAL[0].server}:${REAL_PORT} of tcp ${VIP_ADDRESS}:${VIP_PORT}: weight 1 -> 0`,
    ]);
    await sleep(2000);
    expect(weightOf(0)).toBe(0);
    expect(await until(() => weightOf(0) === undefined, 6000)).toBeGreaterThanOrEqual(0);
    expect(weightOf(1)).toBe(1);
  });

  it('leaves a destination wanted again before its time is up', async () => {
    await apply([0, 1]);
    net.request(4);
    await apply([0], 2);
    expect(weightOf(1)).toBe(0);
    await apply([0, 1]);
    await sleep(4000);
    expect(weightOf(1)).toBe(1);
  });

  it('refuses drain_timeout without drain', async () => {
    const e = await failure(
      ctx.client.apply({ namespace: ctx.ns.name, prune: true, drainTimeout: { seconds: 5n, nanos: 0 }, services: [] }),
    );
    expect(e).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'drain_timeout' });
  });
});
