// Prometheus metrics on an optional HTTP listener: IPVS counters per
// service and destination, from the same shared pollers as WatchStats (a
// scrape reads the latest snapshot, never the kernel; the metrics' own poller
// runs at --metrics-interval-ms), and the server's own RPC counts and latencies.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { collectedMetric } from './collected-metric.js';
import type { Logger } from 'pino';
import { describeService, formatHostPort } from '../ipvs/index.js';
import type { DesiredRegistry } from '../desired/registry.js';
import { snakeCase } from './convert.js';
import { desiredMetrics } from './desired-metrics.js';
import { healthMetrics } from './health-metrics.js';
import { splitHostPort } from './config.js';
import type { StatsHub, StatsSnapshot } from './stats-hub.js';
import { Interval } from './stats-hub.js';

export interface Metrics {
  /** Records one finished RPC. */
  observe(method: string, code: string, seconds: number): void;
  /** The bound address, host:port. */
  address: string;
  close(): Promise<void>;
}

type Snapshots = Map<string, StatsSnapshot>;

export async function startMetrics(
  listen: string,
  namespaces: string[],
  hub: StatsHub,
  log: Logger,
  desired?: DesiredRegistry,
  intervalMs: number = Interval.default,
): Promise<Metrics> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ipvsd_' });
  if (desired) desiredMetrics(registry, desired);
  const stopHealth = desired ? healthMetrics(registry, desired) : () => {};
  const snaps: Snapshots = new Map();
  // Our own poller at `intervalMs`, and every listing any poller of the same namespace makes (a watcher's, at its
  // interval): the hub tells observers each listing as it is made, so the last one told is the newest.
  const unsubscribe = namespaces.map((ns) =>
    hub.subscribe(ns, intervalMs, {
      next: (s) => snaps.set(ns, s),
      fail: (e) => {
        snaps.delete(ns);
        log.warn({ namespace: ns, err: e }, 'metrics: stats polling ended for this namespace');
      },
    }),
  );
  const ours = new Set(namespaces);
  const stopObserving = hub.observe((ns, s) => {
    if (ours.has(ns)) snaps.set(ns, s);
  });

  const svcLabels = ['namespace', 'service'];
  const dstLabels = ['namespace', 'service', 'destination'];
  const each = (snaps: Snapshots, f: (ns: string, svc: string, s: StatsSnapshot['services'][number]) => void) => {
    for (const [ns, snap] of snaps) for (const s of snap.services) f(ns, describeService(s), s);
  };
  type Dest = StatsSnapshot['services'][number]['destinations'][number];
  const eachDestination = (snaps: Snapshots, f: (labels: Record<string, string>, d: Dest) => void) =>
    each(snaps, (ns, svc, s) => {
      for (const d of s.destinations) f({ namespace: ns, service: svc, destination: formatHostPort(d) }, d);
    });
  for (const [field, what] of [
    ['connections', 'connections'],
    ['packetsIn', 'packets in'],
    ['packetsOut', 'packets out'],
    ['bytesIn', 'bytes in'],
    ['bytesOut', 'bytes out'],
  ] as const) {
    const suffix = snakeCase(field);
    collectedMetric(
      registry,
      'counter',
      `ipvs_service_${suffix}_total`,
      `IPVS: ${what} of a virtual service (the kernel's 64-bit counter)`,
      svcLabels,
      (set) => each(snaps, (ns, svc, s) => set({ namespace: ns, service: svc }, s.stats[field])),
    );
    collectedMetric(
      registry,
      'counter',
      `ipvs_destination_${suffix}_total`,
      `IPVS: ${what} of a destination`,
      dstLabels,
      (set) => eachDestination(snaps, (labels, d) => set(labels, d.stats[field])),
    );
  }
  for (const [field, name, help] of [
    ['activeConnections', 'ipvs_destination_active_connections', 'IPVS: active connections of a destination'],
    ['inactiveConnections', 'ipvs_destination_inactive_connections', 'IPVS: inactive connections of a destination'],
    ['weight', 'ipvs_destination_weight', 'IPVS: weight of a destination'],
  ] as const) {
    collectedMetric(registry, 'gauge', name, help, dstLabels, (set) =>
      eachDestination(snaps, (labels, d) => set(labels, d[field])),
    );
  }

  const rpcs = new Counter({
    name: 'ipvsd_rpc_requests_total',
    help: 'RPCs finished, by method and status',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ipvsd_rpc_duration_seconds',
    help: 'RPC duration, by method',
    labelNames: ['method'],
    registers: [registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });
  new Gauge({
    name: 'ipvsd_stats_watchers',
    help: 'WatchStats streams and metrics subscriptions open',
    registers: [registry],
    collect() {
      this.set(hub.watchers);
    },
  });
  new Counter({
    name: 'ipvsd_stats_dumps_total',
    help: 'Kernel listings made by the shared stats pollers',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(hub.dumps);
    },
  });

  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('see /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  const { host, port } = splitHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as { port: number };
  const address = `${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  log.info({ address }, 'metrics at /metrics');
  return {
    address,
    observe: (method, code, seconds) => {
      rpcs.inc({ method, code });
      latency.observe({ method }, seconds);
    },
    close: async () => {
      for (const u of unsubscribe) u();
      stopObserving();
      stopHealth();
      await new Promise((r) => server.close(r));
    },
  };
}
