// The pool that the health e2e files check: a server (useServer) whose
// namespace directs one TCP virtual service to the two real servers of
// test/kernel/topology.ts, extra processes in the real servers' namespaces
// for the checks to probe, and the kernel's weights read as the test's truth.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  DesiredStateView,
  Protocol,
  type DesiredStateSchema,
  type DestinationHealth,
  type HealthCheckSchema,
  type IpvsClient,
} from '../../src/client/index.js';
import { createTopology, REAL, REAL_PORT, VIP_ADDRESS, VIP_PORT, type Topology } from '../kernel/topology.js';
import { useServer, type E2e } from './helpers.js';

export const NAME = 'desiredStates/web';
export type Check = MessageInitShape<typeof HealthCheckSchema>;
type Weights = (number | undefined)[];

export interface HealthPool {
  ctx: E2e;
  /** The topology, once beforeAll has built it. */
  net(): Topology;
  /** Starts `code` in real server i's namespace once the topology is up; it must print "ready" when it serves. */
  serve(i: number, code: (server: string) => string): void;
  /** The processes serve() started, in the order asked (filled synchronously, so the order holds). */
  served: ChildProcess[];
  /** The desired state checking the service with `check` (`checked`: the service address the check names). */
  state(check: Check, checked?: string): MessageInitShape<typeof DesiredStateSchema>;
  /** Each real server's weight in the kernel, as ipvsadm lists it; undefined when it is not a destination. */
  weights(): Promise<Weights>;
  /** Polls until the weights are `want`; how long it took in ms, or -1 after `ms`. */
  until(want: Weights, ms: number): Promise<number>;
  /** Each checked destination's health, by real server. */
  destinations(): Promise<DestinationHealth[]>;
  /** Milliseconds from `from` (epoch ms) to when the server decided destination `i`'s present state. */
  decidedAfter(i: number, from: number): Promise<number>;
  /** Waits until every checked destination has been probed since `since` (the prober may still be starting). */
  probed(since?: Date, client?: IpvsClient): Promise<void>;
}

export function useHealthPool(): HealthPool {
  const ctx = useServer();
  let net: Topology | undefined;
  const wanted: [number, (server: string) => string][] = [];
  const served: ChildProcess[] = [];

  // Started together: each node process takes seconds to load in user-mode Linux.
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
    const started = wanted.map(async ([i, code]) => {
      const p = spawn('ip', ['netns', 'exec', net!.servers[i]!.name, process.execPath, '-e', code(REAL[i]!.server)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      served.push(p);
      const [data] = await once(p.stdout!, 'data');
      if (!String(data).includes('ready')) throw new Error('server did not start');
    });
    await Promise.all(started);
  }, 120_000);
  afterAll(() => {
    for (const p of served) p.kill();
    net?.close();
  });
  // A test that failed midway leaves the next one the pool as it found it.
  afterEach(async () => {
    const { desiredStates } = await ctx.client.listDesiredStates({});
    for (const s of desiredStates) await ctx.client.deleteDesiredState({ name: s.name });
    for (const i of REAL.keys()) await net?.start(i);
  });

  // Read without blocking: the server under test runs in this process, and a blocking poll (ipvsadm spawned
  // synchronously, hundreds of ms in user-mode Linux) would hold its probes' results back.
  const weights = async (): Promise<Weights> => {
    const saved = await ctx.ns.savedAsync();
    return REAL.map((r) => {
      const line = saved.find((l) => l.includes(`-r ${r.server}:${REAL_PORT}`));
      return line ? Number(/-w (\d+)/.exec(line)![1]) : undefined;
    });
  };

  return {
    ctx,
    net: () => net!,
    serve: (i, code) => wanted.push([i, code]),
    served,
    state: (check, checked = VIP_ADDRESS) => ({
      name: NAME,
      namespace: ctx.ns.name,
      prune: true,
      scope: { addresses: [VIP_ADDRESS] },
      services: [
        {
          service: { id: { address: VIP_ADDRESS, protocol: Protocol.TCP, port: VIP_PORT }, schedName: 'rr' },
          destinations: REAL.map((r) => ({ address: r.server, port: REAL_PORT, weight: 1 })),
        },
      ],
      health: [{ service: { address: checked, protocol: Protocol.TCP, port: VIP_PORT }, check }],
    }),
    weights,
    async until(want, ms) {
      const t = Date.now();
      while (Date.now() - t < ms) {
        if (JSON.stringify(await weights()) === JSON.stringify(want)) return Date.now() - t;
        await sleep(50);
      }
      return -1;
    },
    // By the server's clock (the guest's, as the test's): the kernel has the weight within milliseconds of the
    // decision, but reading it through ipvsadm adds 100 ms and more when the host's cores are shared.
    async decidedAfter(i: number, from: number) {
      const d = (await this.destinations())[i]!;
      return timestampDate(d.since!).getTime() - from;
    },
    async destinations() {
      const out = new Map<string, DestinationHealth>();
      for await (const d of ctx.client.listAllDestinationHealth({ parent: NAME })) out.set(d.address, d);
      return REAL.map((r) => out.get(r.server)!);
    },
    async probed(since = new Date(0), client = ctx.client) {
      // The prober is a process of its own: in a guest that shares the host's cores its start alone can take 10 s.
      for (const t = Date.now(); Date.now() - t < 30_000; ) {
        const all: DestinationHealth[] = [];
        for await (const d of client.listAllDestinationHealth({ parent: NAME })) all.push(d);
        if (all.length && all.every((d) => d.last?.time && timestampDate(d.last.time) > since)) return;
        await sleep(50);
      }
      throw new Error('the destinations were never probed');
    },
  };
}

/** The desired state's status (its health counts among it). */
export async function status(client: IpvsClient) {
  return (await client.getDesiredState({ name: NAME, view: DesiredStateView.BASIC })).desiredState!.status!;
}
