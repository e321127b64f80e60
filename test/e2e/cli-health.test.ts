// ipvsctl watch --health through the real server and kernel: each
// destination row of the live view shows its health in the desired state
// named (up or down, and for how long), and "-" for one that is not checked;
// a name that is no desired state ends the watch with the server's reason.
// The real servers are test/kernel/topology.ts's: r1 listens on its port
// (up), nothing listens on r2's other port (down).
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type DestinationHealth,
  type DesiredStateSchema,
  type HealthCheckSchema,
  HealthState,
  Protocol,
} from '../../src/client/index.js';
import { createTopology, REAL, REAL_PORT, type Topology, VIP_ADDRESS, VIP_PORT } from '../kernel/topology.js';
import { ipvsctl, useServer } from './helpers.js';

const ctx = useServer();
const run = (args: string[], input?: string) => ipvsctl(ctx, args, input);
const CLOSED_PORT = REAL_PORT + 1;
const UP = `${REAL[0].server}:${REAL_PORT}`;
const DOWN = `${REAL[1].server}:${CLOSED_PORT}`;
const UNCHECKED = `${REAL[1].server}:${REAL_PORT}`;
let net: Topology;

beforeAll(async () => {
  net = await createTopology(ctx.ns);
});
afterAll(() => net?.close());
afterEach(async () => {
  const { desiredStates } = await ctx.client.listDesiredStates({});
  for (const s of desiredStates) await ctx.client.deleteDesiredState({ name: s.name });
});

// Two failures to go down: a connect to r1 slower than the timeout on a loaded
// user-mode Linux must not take it down while the test waits for "up".
const check: MessageInitShape<typeof HealthCheckSchema> = {
  interval: { seconds: 1n },
  timeout: { nanos: 900e6 },
  rise: 1,
  fall: 2,
  kind: { case: 'tcp', value: {} },
};
const service = { address: VIP_ADDRESS, protocol: Protocol.TCP, port: VIP_PORT };
const web = (): MessageInitShape<typeof DesiredStateSchema> => ({
  name: 'desiredStates/web',
  namespace: ctx.ns.name,
  prune: true,
  scope: { addresses: [VIP_ADDRESS] },
  services: [
    {
      service: { id: service, schedName: 'rr' },
      destinations: [
        { address: REAL[0].server, port: REAL_PORT, weight: 1 },
        { address: REAL[1].server, port: CLOSED_PORT, weight: 1 },
        { address: REAL[1].server, port: REAL_PORT, weight: 1 },
      ],
    },
  ],
  // Only two of the three destinations are checked.
  health: [
    {
      service,
      destinations: [
        { address: REAL[0].server, port: REAL_PORT, check },
        { address: REAL[1].server, port: CLOSED_PORT, check },
      ],
    },
  ],
});

/** Waits until the server says r1 is up and r2's closed port down (a failed listing is tried again). */
async function decided(): Promise<void> {
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    const seen = new Map<string, DestinationHealth>();
    try {
      for await (const d of ctx.client.listAllDestinationHealth({ parent: 'desiredStates/web' }))
        seen.set(`${d.address}:${d.port}`, d);
    } catch {
      // Listed again below.
    }
    if (seen.get(UP)?.state === HealthState.UP && seen.get(UP)?.last && seen.get(DOWN)?.state === HealthState.DOWN)
      return;
    await sleep(100);
  }
  throw new Error('the checks never decided');
}

/** The words of each tick's row for `dest`, after its rate cells: ["up", "3s", "▁▁"], ["-", "▁"]. */
const cells = (table: string, dest: string) =>
  table
    .split('\n')
    .find((l) => l.startsWith(`  -> ${dest} `))
    ?.trim()
    .split(/\s+/)
    .slice(8);

describe('ipvsctl watch --health', () => {
  it('shows each checked destination up or down with how long, and "-" for the unchecked one', async () => {
    await ctx.client.putDesiredState({ desiredState: web() });
    await decided();
    const r = await run(['watch', '--health', 'web', '--interval', '0.5', '--fast', '--count', '4']);
    expect(r).toMatchObject({ code: 0, err: '' });
    const ticks = r.out.split(/^(?=ipvsctl watch )/m).filter(Boolean);
    expect(ticks).toHaveLength(4);
    for (const t of ticks) {
      expect(t).toContain('health of desiredStates/web');
      expect(t).toMatch(/ OutBPS {2}Health {8}InBPS trend/);
    }
    // A tick whose listing failed keeps the last good one; at least one of four has listed.
    const good = ticks.filter((t) => cells(t, UP)?.[0] === 'up');
    expect(good.length).toBeGreaterThan(0);
    for (const t of good) {
      expect(cells(t, UP)?.[1]).toMatch(/^\d+s$/);
      expect(cells(t, DOWN)?.slice(0, 1)).toEqual(['down']);
      expect(cells(t, DOWN)?.[1]).toMatch(/^\d+s$/);
      expect(cells(t, UNCHECKED)?.[0]).toBe('-');
      // The service's own row has no health cell: its words are its name, six rates and the trend.
      const own = t.split('\n').find((l) => l.startsWith(`TCP  ${VIP_ADDRESS}:${VIP_PORT} `));
      expect(own?.trim().split(/\s+/)).toHaveLength(9);
    }
  });

  it('given the name of no desired state, ends at once with NOT_FOUND', async () => {
    const r = await run(['watch', '--health', 'nothing', '--count', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('ipvsctl: desiredStates/nothing: no such desired state (NOT_FOUND, field parent)\n');
  });
});
