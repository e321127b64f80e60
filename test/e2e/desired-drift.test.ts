// Drift between periods: while a shared poller lists the namespace (a
// WatchEvents or WatchStats stream, or /metrics), a change by someone else
// inside a desired state's scope is put back soon, not a period later; each
// correction is a WatchEvents message and a metric; a writer that fights the
// desired state gets at most one correction per --reconcile-min-interval-ms;
// and rules outside every scope never start a reconcile. ipvsadm is both the
// other writer and the witness.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ChangeAction,
  connectIpvs,
  EventKind,
  Protocol,
  ReconcileTrigger,
  type DesiredStateSchema,
  type IpvsClient,
  type WatchEventsResponse,
} from '../../src/client/index.js';
import { startInProcess, useServer } from './helpers.js';

// A period far away: whatever is put back here was put back because of drift.
const ctx = useServer(['--reconcile-period-ms', '3600000', '--reconcile-min-interval-ms', '1000']);
const ns = () => ctx.ns.name;
const NAME = 'desiredStates/web';

const web = (): MessageInitShape<typeof DesiredStateSchema> => ({
  name: NAME,
  namespace: ns(),
  scope: { prefixes: ['192.0.2.0/24'] },
  prune: true,
  services: [
    {
      service: { id: { address: '192.0.2.1', protocol: Protocol.TCP, port: 80 }, schedName: 'rr' },
      destinations: [
        { address: '198.51.100.1', port: 8080, weight: 1 },
        { address: '198.51.100.2', port: 8080, weight: 1 },
      ],
    },
  ],
});
const WEB_RULES = [
  '-A -t 192.0.2.1:80 -s rr',
  '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1',
  '-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 1',
];
const rules = () => [...ctx.ns.saved()].sort();
const status = async (c: IpvsClient = ctx.client) => (await c.getDesiredState({ name: NAME })).desiredState!.status!;

/** Polls until the namespace holds `want` (sorted ipvsadm -S lines) or `ms` pass; how long it took, or -1. */
async function restored(want: string[], ms: number, also: () => string[] = () => []): Promise<number> {
  const t = Date.now();
  const goal = [...want, ...also()].sort().join('\n');
  while (Date.now() - t < ms) {
    if (rules().join('\n') === goal) return Date.now() - t;
    await sleep(50);
  }
  return -1;
}

/** A WatchEvents stream of the namespace every 200 ms, collecting its messages until stopped. */
function watch(c: IpvsClient = ctx.client) {
  const ac = new AbortController();
  const messages: WatchEventsResponse[] = [];
  const done = (async () => {
    try {
      for await (const m of c.watchEvents(
        { namespace: ns(), interval: { nanos: 200e6 }, allowFast: true },
        { signal: ac.signal },
      ))
        messages.push(m);
    } catch {
      // Ended by stop().
    }
  })();
  return {
    messages,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

/** Runs a shell loop in the namespace without blocking this process (the server lives in it). */
async function inBackground(script: string): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', ns(), 'sh', '-c', script], { stdio: 'ignore' });
  await once(p, 'close');
}

afterEach(async () => {
  const { desiredStates } = await ctx.client.listDesiredStates({});
  for (const s of desiredStates) await ctx.client.deleteDesiredState({ name: s.name });
});

describe('drift seen by a shared poller', () => {
  it('is put back within about a tick, and WatchEvents shows the removal, the correction, then the rules again', async () => {
    await ctx.client.putDesiredState({ desiredState: web() });
    const w = watch();
    // Past the minimum interval since the Put's reconcile: this drift is put back at once.
    await sleep(1100);
    ctx.ns.ipvsadm('-d -t 192.0.2.1:80 -r 198.51.100.2:8080');
    const took = await restored(WEB_RULES, 5000);
    expect(took).toBeGreaterThanOrEqual(0);
    // A tick (200 ms), the reconcile, and this poll: far below the hour-long period.
    expect(took).toBeLessThan(3000);
    await sleep(600);
    await w.stop();
    const steps = w.messages.flatMap((m) =>
      m.correction
        ? [
            `correction ${ReconcileTrigger[m.correction.trigger]} ${m.correction.reconcile?.changes.map((c) => ChangeAction[c.action]).join()}`,
          ]
        : m.events.map((e) => `${EventKind[e.kind]} ${e.oldDestination?.address ?? e.newDestination?.address}`),
    );
    expect(steps).toEqual(['REMOVED 198.51.100.2', 'correction DRIFT CREATE_DESTINATION', 'ADDED 198.51.100.2']);
    const c = w.messages.find((m) => m.correction)!.correction!;
    expect(c).toMatchObject({ desiredState: NAME, generation: 1n, reconcile: { applied: 1, failed: 0 } });
    const s = await status();
    expect(s).toMatchObject({ trigger: ReconcileTrigger.DRIFT, inSync: true, corrections: 1n, deferredReconciles: 0n });
    expect(s.driftTime).toBeUndefined();
  });

  it('of every kind (ipvsadm -C, -D, -d, -e) is put back each time', async () => {
    await ctx.client.putDesiredState({ desiredState: web() });
    const w = watch();
    for (const change of [
      '-C',
      '-D -t 192.0.2.1:80',
      '-d -t 192.0.2.1:80 -r 198.51.100.1:8080',
      '-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 7',
      '-E -t 192.0.2.1:80 -s wlc',
    ]) {
      // The minimum interval since the last reconcile first, so that each is put back at once.
      await sleep(1100);
      ctx.ns.ipvsadm(change);
      expect(await restored(WEB_RULES, 5000), change).toBeGreaterThanOrEqual(0);
    }
    await w.stop();
    expect((await status()).corrections).toBe(5n);
  });

  it('outside every scope starts no reconcile and is left alone', async () => {
    await ctx.client.putDesiredState({ desiredState: web() });
    const w = watch();
    await sleep(600);
    const before = await status();
    ctx.ns.ipvsadm('-A -t 203.0.113.9:80 -s rr');
    ctx.ns.ipvsadm('-a -t 203.0.113.9:80 -r 198.51.100.9:80 -m');
    await sleep(1500);
    await w.stop();
    const after = await status();
    expect(after.reconcileTime).toEqual(before.reconcileTime);
    expect(after).toMatchObject({ trigger: ReconcileTrigger.PUT, corrections: 0n, inSync: true });
    expect(w.messages.some((m) => m.correction)).toBe(false);
    expect(rules()).toEqual(
      [...WEB_RULES, '-A -t 203.0.113.9:80 -s rr', '-a -t 203.0.113.9:80 -r 198.51.100.9:80 -m -w 1'].sort(),
    );
  });

  it('from a writer that fights it gets one correction per minimum interval at most, and the desired state wins', async () => {
    await ctx.client.putDesiredState({ desiredState: web() });
    const w = watch();
    await sleep(600);
    // 40 weight changes, 100 ms apart: 4 s of fighting.
    const t = Date.now();
    await inBackground(
      'for i in $(seq 40); do ipvsadm -e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w $((i + 10)); sleep 0.1; done',
    );
    const fought = (Date.now() - t) / 1000;
    expect(await restored(WEB_RULES, 5000)).toBeGreaterThanOrEqual(0);
    // The last correction reaches the stream with the next listing.
    const count = async () => Number((await status()).corrections);
    for (let i = 0; i < 30 && w.messages.filter((m) => m.correction).length < (await count()); i++) await sleep(100);
    await w.stop();
    const s = await status();
    const corrections = Number(s.corrections);
    // Each interval of 1 s holds one correction at most (the last one after the fight ends).
    expect(corrections).toBeGreaterThanOrEqual(2);
    expect(corrections).toBeLessThanOrEqual(Math.ceil(fought) + 2);
    expect(Number(s.deferredReconciles)).toBeGreaterThanOrEqual(1);
    expect(w.messages.filter((m) => m.correction)).toHaveLength(corrections);
    expect(s.inSync).toBe(true);
  });
});

describe('drift seen by /metrics polling alone (no watcher)', () => {
  it('ipvsadm -C is put back within two 2 s ticks, and the metrics count the correction', async () => {
    const s = await startInProcess(['--netns', ns(), '--reconcile-period-ms', '3600000', '--metrics', '127.0.0.1:0']);
    const c = connectIpvs(s.addresses[0]!);
    try {
      await c.putDesiredState({ desiredState: web() });
      await sleep(2500);
      ctx.ns.ipvsadm('-C');
      const took = await restored(WEB_RULES, 8000);
      expect(took).toBeGreaterThanOrEqual(0);
      expect(took).toBeLessThan(6000);
      const text = await (await fetch(`http://${s.metricsAddress}/metrics`)).text();
      const line = (name: string, labels: string) =>
        text
          .split('\n')
          .find((l) => l.startsWith(`${name}{${labels}}`))
          ?.split(' ')[1];
      expect(line('ipvsd_desired_state_corrections_total', `desired_state="${NAME}",trigger="drift"`)).toBe('1');
      expect(line('ipvsd_desired_state_corrected_changes_total', `desired_state="${NAME}"`)).toBe('3');
      expect(line('ipvsd_desired_state_reconciles_total', `desired_state="${NAME}",trigger="put"`)).toBe('1');
      expect(line('ipvsd_desired_state_in_sync', `desired_state="${NAME}"`)).toBe('1');
      expect(line('ipvsd_desired_state_generation', `desired_state="${NAME}"`)).toBe('1');
      await c.deleteDesiredState({ name: NAME });
    } finally {
      c.close();
      await s.shutdown();
    }
  });
});
