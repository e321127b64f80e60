// A desired state's health checks, as its registry runs them: a monitor
// per desired state with checks, following each Put's spec, and the services
// that its reconciles then apply (health laid over the declared ones).
import { HealthMonitor, type Prober } from '../health/monitor.js';
import type { DesiredService, ServiceWithDestinations } from '../ipvs/index.js';
import type { HealthTransition, ProbeDone } from './corrections.js';
import type { DesiredSpec } from './spec.js';

export interface HealthDeps {
  /** The prober of a namespace (as a desired state names it). */
  prober(namespace: string): Prober;
  /** Health asks for another reconcile of desired state `name`. */
  changed(name: string): void;
  transition(t: HealthTransition): void;
  probed(p: ProbeDone): void;
}

interface WithHealth {
  name: string;
  spec: DesiredSpec;
  health?: HealthMonitor;
}

/**
 * Starts, updates or stops `s`'s monitor to follow its spec: destinations new to it start unknown (`fresh`
 * 'unknown', after a restart) or as their checks say.
 */
export function followHealth(s: WithHealth, fresh: 'unknown' | 'declared', deps: HealthDeps): void {
  if (!s.spec.health.length) {
    s.health?.stop();
    s.health = undefined;
    return;
  }
  const { name, spec } = s;
  s.health ??= new HealthMonitor(deps.prober(spec.namespace), {
    change: () => deps.changed(name),
    transition: (t) => deps.transition({ ...t, name, namespace: spec.namespace, time: new Date() }),
    probed: (_, r) => deps.probed({ name, ok: r.ok, latencyMs: r.latencyMs }),
  });
  s.health.update(spec.services, spec.health, fresh);
}

/** What a reconcile of `s` applies: its services, with health's weights over them once the kernel is listed. */
export function desiredOf(
  s: WithHealth,
): readonly DesiredService[] | ((current: readonly ServiceWithDestinations[]) => DesiredService[]) {
  const { health } = s;
  return health ? (current) => health.effective(s.spec.services, current) : s.spec.services;
}
