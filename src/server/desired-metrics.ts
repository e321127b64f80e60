// The desired states in the metrics: whether each is in sync, its
// generation, and its reconciles and corrections since the server started,
// read from the registry at scrape time (a few series per desired state).
import type { Registry } from 'prom-client';
import { collectedMetric, type SetValue } from './collected-metric.js';
import { inSync, type DesiredRegistry, type HeldState, type Trigger } from '../desired/registry.js';

const TRIGGERS: Trigger[] = ['put', 'start', 'period', 'drift', 'health'];

/** A metric with values from each desired state. */
export const metric = (
  registry: Registry,
  kind: 'counter' | 'gauge',
  name: string,
  help: string,
  labelNames: string[],
  desired: DesiredRegistry,
  values: (h: HeldState, set: SetValue) => void,
) =>
  collectedMetric(registry, kind, name, help, labelNames, (set) => {
    for (const h of desired.list()) values(h, set);
  });

export function desiredMetrics(registry: Registry, desired: DesiredRegistry): void {
  const one = ['desired_state'];
  const byTrigger = ['desired_state', 'trigger'];
  const perTrigger = (counts: (h: HeldState) => Record<Trigger, number>) => (h: HeldState, set: SetValue) => {
    for (const trigger of TRIGGERS) set({ desired_state: h.name, trigger }, counts(h)[trigger]);
  };
  metric(
    registry,
    'gauge',
    'ipvsd_desired_state_in_sync',
    'Desired state: 1 when the kernel is as it says (last reconcile applied all, no drift seen since)',
    one,
    desired,
    (h, set) => set({ desired_state: h.name }, inSync(h) ? 1 : 0),
  );
  metric(registry, 'gauge', 'ipvsd_desired_state_generation', 'Desired state: its generation', one, desired, (h, set) =>
    set({ desired_state: h.name }, h.generation),
  );
  metric(
    registry,
    'counter',
    'ipvsd_desired_state_reconciles_total',
    'Desired state: reconciles since the server started, by what started them',
    byTrigger,
    desired,
    perTrigger((h) => h.counts.reconciles),
  );
  metric(
    registry,
    'counter',
    'ipvsd_desired_state_corrections_total',
    'Desired state: reconciles that changed the kernel without a Put (drift put back)',
    byTrigger,
    desired,
    perTrigger((h) => h.counts.corrections),
  );
  metric(
    registry,
    'counter',
    'ipvsd_desired_state_corrected_changes_total',
    'Desired state: changes its corrections applied',
    one,
    desired,
    (h, set) => set({ desired_state: h.name }, h.counts.corrected),
  );
  metric(
    registry,
    'counter',
    'ipvsd_desired_state_deferred_reconciles_total',
    'Desired state: drift-asked reconciles that waited for --reconcile-min-interval-ms (grows while another writer fights it)',
    one,
    desired,
    (h, set) => set({ desired_state: h.name }, h.drift.deferred),
  );
}
