// The fingerprint that drift detection compares, against the kernel: after
// each reconcile, what fingerprintAfter computes from the listing and the
// changes applied is what the kernel's own listing then fingerprints to, for
// IPv4, IPv6 and firewall-mark services, every forwarding method, persistence,
// updates, drains, prunes and a flush; and a change by ipvsadm moves it.
import { describe, expect, it } from 'vitest';
import {
  applyState,
  ConnFwdDirectRoute,
  ConnFwdMasq,
  ConnFwdTunnel,
  fingerprint,
  fingerprintAfter,
  IPPROTO_TCP,
  IPPROTO_UDP,
  owns,
  SvcFlagPersistent,
  type DesiredService,
  type Scope,
} from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();

/** `n` services of each kind, each with `dests` destinations of weight `weight`. */
function table(n: number, dests: number, weight = 1, sched = 'rr'): DesiredService[] {
  const out: DesiredService[] = [];
  for (let i = 0; i < n; i++) {
    const d = (address: (j: number) => string, connectionFlags: number) =>
      Array.from({ length: dests }, (_, j) => ({
        address: address(j),
        port: 8080,
        weight: weight + j,
        connectionFlags,
      }));
    out.push(
      {
        address: `192.0.2.${i + 1}`,
        protocol: IPPROTO_TCP,
        port: 80,
        schedName: sched,
        destinations: d((j) => `198.51.100.${j + 1}`, ConnFwdMasq),
      },
      {
        address: `2001:db8::${(i + 1).toString(16)}`,
        protocol: IPPROTO_UDP,
        port: 53,
        schedName: 'wlc',
        flags: SvcFlagPersistent,
        timeout: 600,
        destinations: d((j) => `2001:db8:1::${(j + 1).toString(16)}`, ConnFwdDirectRoute),
      },
      { fwMark: i + 1, schedName: 'sh', destinations: d((j) => `203.0.113.${j + 1}`, ConnFwdTunnel) },
    );
  }
  return out;
}

/** Applies `desired` as a desired state would, and returns [what fingerprintAfter says, what the kernel then lists]. */
async function reconcile(desired: DesiredService[], o: { prune?: boolean; drain?: boolean; scope?: Scope } = {}) {
  let before = Number.NaN;
  const mine = (s: Parameters<typeof owns>[1]) => owns(o.scope, s);
  const r = await applyState(ctx.h, desired, {
    ...o,
    onListed: (current) => {
      before = fingerprint(current, mine);
    },
  });
  const expected = fingerprintAfter(before, r.changes, r.results);
  const listed = fingerprint(await ctx.h.getServicesWithDestinations(), mine);
  return { expected, listed, r };
}

describe('the fingerprint after a reconcile, against the kernel', () => {
  it('is what the kernel lists after creates, updates, prunes, drains and deletes of every kind of service', async () => {
    const steps: [DesiredService[], { prune?: boolean; drain?: boolean }][] = [
      [table(20, 4), {}],
      // Weights and a scheduler changed, a destination added to each service.
      [table(20, 5, 3, 'wlc'), {}],
      // Pruned: half the services go, one destination of each that stays.
      [table(10, 4, 3, 'wlc'), { prune: true }],
      // Drained rather than deleted.
      [table(10, 2, 3, 'wlc'), { prune: true, drain: true }],
      // Everything goes: one flush.
      [[], { prune: true }],
    ];
    for (const [desired, o] of steps) {
      const { expected, listed, r } = await reconcile(desired, o);
      expect(r.changes.length).toBeGreaterThan(0);
      expect(r.results.every((x) => x.ok)).toBe(true);
      expect(expected).toBe(listed);
    }
    expect(ctx.ns.saved()).toEqual([]);
  });

  it('counts only what the scope owns', async () => {
    ctx.ns.ipvsadm('-A -t 203.0.113.200:80 -s rr');
    const scope = { prefixes: ['192.0.2.0/24'] };
    const tcp = (t: DesiredService[]) => t.filter((d) => d.address?.startsWith('192.0.2.'));
    for (const desired of [tcp(table(3, 2)), tcp(table(2, 3, 4))]) {
      const { expected, listed } = await reconcile(desired, { scope, prune: true });
      expect(expected).toBe(listed);
    }
    expect(ctx.ns.saved()).toContain('-A -t 203.0.113.200:80 -s rr');
  });

  it('differs from the next listing when another writer changed the rules between the listing and the changes', async () => {
    await reconcile(table(3, 2), {});
    let before = Number.NaN;
    const r = await applyState(ctx.h, table(3, 2, 5), {
      onListed: (current) => {
        before = fingerprint(current);
        // ipvsadm deletes a destination the plan is about to update: that update is refused.
        ctx.ns.ipvsadm('-d -t 192.0.2.1:80 -r 198.51.100.1:8080');
      },
    });
    expect(r.results.filter((x) => !x.ok)).toHaveLength(1);
    const now = fingerprint(await ctx.h.getServicesWithDestinations());
    expect(fingerprintAfter(before, r.changes, r.results)).not.toBe(now);
    const { expected, listed } = await reconcile(table(3, 2, 5), {});
    // The second reconcile put it back, and then they agree again.
    expect(expected).toBe(listed);
    expect(ctx.ns.saved()).toContain('-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 5');
  });

  it('moves when ipvsadm changes a weight, deletes a destination or adds a service, and comes back', async () => {
    await reconcile(table(5, 3), {});
    const at = () => ctx.h.getServicesWithDestinations().then((s) => fingerprint(s));
    const start = await at();
    ctx.ns.ipvsadm('-e -t 192.0.2.2:80 -r 198.51.100.1:8080 -m -w 9');
    const weight = await at();
    expect(weight).not.toBe(start);
    ctx.ns.ipvsadm('-e -t 192.0.2.2:80 -r 198.51.100.1:8080 -m -w 1');
    expect(await at()).toBe(start);
    ctx.ns.ipvsadm('-d -t 192.0.2.2:80 -r 198.51.100.2:8080');
    expect(await at()).not.toBe(start);
    ctx.ns.ipvsadm('-a -t 192.0.2.2:80 -r 198.51.100.2:8080 -m -w 2');
    expect(await at()).toBe(start);
    ctx.ns.ipvsadm('-A -t 192.0.2.99:80 -s rr');
    expect(await at()).not.toBe(start);
  });
});
