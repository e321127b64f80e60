// Prometheus metrics while traffic flows: the kernel's counters per service
// and destination, read from the shared poller (scrapes never list the
// kernel themselves), and the server's RPC counts. With a long
// --metrics-interval-ms the metrics list the kernel that seldom, and still
// show a watcher's fresher listings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIpvs, Protocol } from '../../src/client/index.js';
import { createTopology, REAL, REAL_PORT, VIP_ADDRESS, VIP_PORT, type Topology } from '../kernel/topology.js';
import { startInProcess, useServer } from './helpers.js';

const ctx = useServer(['--metrics', '127.0.0.1:0']);
const VIP = { address: VIP_ADDRESS, protocol: Protocol.TCP, port: VIP_PORT };
const scrape = async () => (await fetch(`http://${ctx.server.metricsAddress}/metrics`)).text();
const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('/metrics', () => {
  let net: Topology;
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
  });
  afterAll(() => net?.close());

  it("exports the kernel's counters per service and destination as traffic flows", async () => {
    await ctx.client.createService({ namespace: ctx.ns.name, service: { id: VIP, schedName: 'rr' } });
    for (const r of REAL)
      await ctx.client.createDestination({
        namespace: ctx.ns.name,
        service: VIP,
        destination: { address: r.server, port: REAL_PORT },
      });
    net.request(6);
    const svc = `{namespace="${ctx.ns.name}",service="tcp ${VIP_ADDRESS}:${VIP_PORT}"}`;
    let text = '';
    for (let i = 0; i < 40 && value(text, `ipvs_service_connections_total${svc}`) !== 6; i++) {
      await new Promise((r) => setTimeout(r, 250));
      text = await scrape();
    }
    expect(value(text, `ipvs_service_connections_total${svc}`)).toBe(6);
    expect(value(text, `ipvs_service_bytes_in_total${svc}`)).toBeGreaterThan(0);
    for (const r of REAL) {
      const dst = `{namespace="${ctx.ns.name}",service="tcp ${VIP_ADDRESS}:${VIP_PORT}",destination="${r.server}:${REAL_PORT}"}`;
      expect(value(text, `ipvs_destination_connections_total${dst}`)).toBe(3);
      expect(value(text, `ipvs_destination_weight${dst}`)).toBe(1);
    }
    expect(text).toMatch(/ipvsd_rpc_requests_total\{method="CreateDestination",code="OK"\} 2/);
    expect(text).toContain('ipvsd_rpc_duration_seconds_bucket{le="0.005",method="CreateService"}');
  });

  it('serves scrapes from the shared poller: ten scrapes, no extra kernel listing', async () => {
    const before = ctx.server.hub.dumps;
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) await scrape();
    const ticks = Math.ceil((Date.now() - t0) / 2000) + 1;
    expect(ctx.server.hub.dumps - before).toBeLessThanOrEqual(ticks);
  });
});

describe('/metrics with --metrics-interval-ms 3600000', () => {
  it("lists the kernel once an hour on its own, and shows a watcher's fresher listings meanwhile", async () => {
    const s = await startInProcess([
      '--netns',
      ctx.ns.name,
      '--metrics',
      '127.0.0.1:0',
      '--metrics-interval-ms',
      '3600000',
    ]);
    const c = ctx.client;
    const own = async () => (await fetch(`http://${s.metricsAddress}/metrics`)).text();
    const svc = `{namespace="${ctx.ns.name}",service="tcp ${VIP_ADDRESS}:${VIP_PORT}"}`;
    try {
      // Its own pollers (the server's namespace and this one) listed once each, at start; scrapes do not list.
      const atStart = s.hub.dumps;
      expect(atStart).toBe(2);
      await c.createService({ namespace: ctx.ns.name, service: { id: VIP, schedName: 'rr' } });
      await new Promise((r) => setTimeout(r, 5000));
      expect(value(await own(), `ipvs_service_connections_total${svc}`)).toBeUndefined();
      expect(s.hub.dumps).toBe(atStart);
      // A watcher's 2 s poller lists the namespace: the metrics take its listing.
      const ac = new AbortController();
      const watching = (async () => {
        const w = connectIpvs(s.addresses[0]!);
        try {
          for await (const _ of w.watchStats({ namespace: ctx.ns.name }, { signal: ac.signal })) void _;
        } catch {
          // aborted
        } finally {
          w.close();
        }
      })();
      let seen: number | undefined;
      for (let i = 0; i < 40 && seen === undefined; i++) {
        await new Promise((r) => setTimeout(r, 250));
        seen = value(await own(), `ipvs_service_connections_total${svc}`);
      }
      ac.abort();
      await watching;
      expect(seen).toBe(0);
      expect(s.hub.dumps).toBeGreaterThan(atStart);
    } finally {
      await s.shutdown();
    }
  });
});
