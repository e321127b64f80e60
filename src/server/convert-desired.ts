// Desired states between the API's messages and the core's: a DesiredState
// message to a spec (its services parsed as Apply's, so that a refused field
// has the same path under desired_state), to the protobuf JSON the store
// keeps and back, and a held state with its status out.
import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { durationMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { DesiredSpec, HeldState, Trigger } from '../desired/registry.js';
import { DesiredStateError, inSync } from '../desired/registry.js';
import { CheckError } from '../health/check.js';
import type { ValidationError } from '../ipvs/index.js';
import { applyPath, changesOut, desiredIn, scopeIn } from './convert-apply.js';
import { checkStatus, healthIn } from './convert-health.js';
import { settingPath } from './convert-sysctl.js';
import { RpcError, toStatus } from './status.js';

/** The spec of a DesiredState message; a missing service is INVALID_ARGUMENT at "desired_state.services[i].service". */
export function specIn(m: api.DesiredState): DesiredSpec {
  let services: DesiredSpec['services'];
  try {
    services = desiredIn(m.services);
  } catch (e) {
    if (e instanceof RpcError && e.field)
      throw new RpcError(e.code, `desired_state.${e.message}`, `desired_state.${e.field}`);
    throw e;
  }
  return {
    namespace: m.namespace,
    services,
    scope: scopeIn(m.scope),
    prune: m.prune,
    drain: m.drain,
    drainTimeoutMs: m.drainTimeout ? durationMs(m.drainTimeout) : undefined,
    health: healthIn(m.health, 'desired_state.'),
    vips: m.vips && { interface: m.vips.interface },
    sysctls: m.sysctls.map(({ name, value }) => ({ name, value })),
  };
}

/** What the store keeps of a DesiredState: its spec fields as protobuf JSON (no name, generation or status). */
export function specData(m: api.DesiredState): JsonValue {
  const { namespace, services, scope, prune, drain, drainTimeout, health, vips, sysctls } = m;
  return toJson(
    api.DesiredStateSchema,
    create(api.DesiredStateSchema, { namespace, services, scope, prune, drain, drainTimeout, health, vips, sysctls }),
  );
}

/** The message of stored data, parsed once per data object: Get and List read it often. */
const messages = new WeakMap<object, api.DesiredState>();
export function messageOf(data: unknown): api.DesiredState {
  const cached = typeof data === 'object' && data !== null ? messages.get(data) : undefined;
  if (cached) return cached;
  const m = fromJson(api.DesiredStateSchema, data as JsonValue);
  if (m.name || m.generation || m.status) throw new Error('a stored spec holds name, generation or status');
  if (typeof data === 'object' && data !== null) messages.set(data, m);
  return m;
}

/** The spec of stored data (the store's validate, and the registry's decode). */
export const decodeSpec = (data: unknown): DesiredSpec => specIn(messageOf(data));

export const TRIGGERS: Record<Trigger, api.ReconcileTrigger> = {
  put: api.ReconcileTrigger.PUT,
  start: api.ReconcileTrigger.START,
  period: api.ReconcileTrigger.PERIOD,
  drift: api.ReconcileTrigger.DRIFT,
  health: api.ReconcileTrigger.HEALTH,
};

const sum = (r: Record<Trigger, number>) => r.put + r.start + r.period + r.drift + r.health;

function healthCounts(h: HeldState) {
  const n = h.health?.counts();
  return { destinationsUp: n?.up ?? 0, destinationsDown: n?.down ?? 0, destinationsUnknown: n?.unknown ?? 0 };
}

/** The status of a held state: its last reconcile, drift seen since, and its counts. */
export function statusOut(h: HeldState): api.DesiredStateStatus | undefined {
  const s = h.status;
  if (!s) return undefined;
  const failure = s.error === undefined ? undefined : toStatus(s.error);
  return create(api.DesiredStateStatusSchema, {
    reconcileTime: timestampFromDate(s.time),
    reconciledGeneration: BigInt(s.generation),
    inSync: inSync(h),
    trigger: TRIGGERS[s.trigger],
    driftTime: h.drift.since && timestampFromDate(h.drift.since),
    corrections: BigInt(sum(h.counts.corrections)),
    deferredReconciles: BigInt(h.drift.deferred),
    ...healthCounts(h),
    applied: s.applied,
    failed: s.failed,
    failures: changesOut(
      s.failures.map((f) => f.change),
      s.failures.map((f) => f.result),
    ),
    code: failure?.code ?? 0,
    message: failure?.details ?? '',
  });
}

/** A held state as the API shows it; `services` only when asked for. */
export function stateOut(h: HeldState, withServices: boolean): api.DesiredState {
  const m = messageOf(h.data);
  return create(api.DesiredStateSchema, {
    name: h.name,
    namespace: m.namespace,
    services: withServices ? m.services : [],
    health: withServices ? m.health : [],
    scope: m.scope,
    prune: m.prune,
    drain: m.drain,
    drainTimeout: m.drainTimeout,
    vips: m.vips,
    sysctls: m.sysctls,
    generation: BigInt(h.generation),
    status: statusOut(h),
  });
}

const REASONS: Record<DesiredStateError['reason'], status> = {
  'not-found': status.NOT_FOUND,
  aborted: status.ABORTED,
  overlap: status.FAILED_PRECONDITION,
  immutable: status.INVALID_ARGUMENT,
  invalid: status.INVALID_ARGUMENT,
};

/** The core's refusal as a status; `under` prefixes the fields of the desired state ("desired_state."). */
export function desiredError(e: unknown, under = ''): unknown {
  if (e instanceof CheckError) return checkStatus(e, under);
  if (!(e instanceof DesiredStateError)) return e;
  const field = e.field && (e.field === 'name' && !under ? 'name' : `${under}${e.field}`);
  return new RpcError(REASONS[e.reason], e.message, e.reason === 'aborted' ? 'expected_generation' : field);
}

/** The request path of a refused spec field: Apply's, under desired_state. */
export const desiredPath = (e: ValidationError) =>
  e.subject === 'sysctl' ? settingPath('desired_state.sysctls', e) : `desired_state.${applyPath(e, undefined)}`;
