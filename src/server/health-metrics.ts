// Health checks in the metrics: each checked destination up or down (read
// at scrape time), and probe latencies and transitions (counted as they
// happen, from the desired states' feeds).
import { Counter, Histogram, type Registry } from 'prom-client';
import type { DesiredRegistry } from '../desired/registry.js';
import { metric } from './desired-metrics.js';

/** Health checks: up or down per checked destination, probe latencies, transitions. Returns the function that stops it. */
export function healthMetrics(registry: Registry, desired: DesiredRegistry): () => void {
  metric(
    registry,
    'gauge',
    'ipvsd_health_destination_up',
    'Health: 1 when a checked destination is up, 0 when down (not listed while undecided after a start)',
    ['desired_state', 'service', 'destination'],
    desired,
    (h, set) => {
      for (const c of h.health?.list() ?? [])
        if (c.target.state !== 'unknown')
          set(
            { desired_state: h.name, service: c.service, destination: c.destination },
            c.target.state === 'up' ? 1 : 0,
          );
    },
  );
  const latency = new Histogram({
    name: 'ipvsd_health_probe_duration_seconds',
    help: 'Health: how long probes took, by outcome',
    labelNames: ['desired_state', 'outcome'],
    registers: [registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const transitions = new Counter({
    name: 'ipvsd_health_transitions_total',
    help: 'Health: checked destinations that went up or down, by the state they went to',
    labelNames: ['desired_state', 'to'],
    registers: [registry],
  });
  const stops = [
    desired.probes.on((p) =>
      latency.observe({ desired_state: p.name, outcome: p.ok ? 'ok' : 'fail' }, p.latencyMs / 1000),
    ),
    desired.transitions.on((t) => transitions.inc({ desired_state: t.name, to: t.checked.target.state })),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
