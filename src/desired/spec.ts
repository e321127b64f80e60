// A desired state's spec as the core holds it, and the Apply options it
// means: the same scope, prune and drain as an ApplyRequest's.
import type { ServiceHealthSpec } from '../health/targets.js';
import type { VipSpec } from './vips.js';
import {
  MAX_DRAIN_MS,
  timedDrain,
  ValidationError,
  type ApplyOptions,
  type DesiredService,
  type Handle,
  type Scope,
  type SysctlSetting,
} from '../ipvs/index.js';

export interface DesiredSpec {
  /** As a request names it: "" for the server's own, a name under /run/netns, or a path. */
  namespace: string;
  services: DesiredService[];
  scope?: Scope;
  prune: boolean;
  drain: boolean;
  /** With drain and prune: drained destinations are deleted when idle or after this long. */
  drainTimeoutMs?: number;
  /** Health checks of its services' destinations. */
  health: ServiceHealthSpec[];
  /** Its services' addresses kept as local addresses on an interface (vips.ts); unset: addresses are left alone. */
  vips?: VipSpec;
  /** IPVS sysctls it needs in its namespace (names with or without "net.ipv4.vs."). */
  sysctls: SysctlSetting[];
}

/** Where the core logs (a pino Logger is one). */
export interface Log {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

/** A drain time limit needs drain and prune and is 0 to 24 hours: else ValidationError of field "drain_timeout". */
export function checkDrain(spec: DesiredSpec): void {
  const t = spec.drainTimeoutMs;
  if (t === undefined) return;
  const why =
    !spec.drain || !spec.prune ? 'needs drain and prune' : t >= 0 && t <= MAX_DRAIN_MS ? '' : 'must be 0 to 24 hours';
  if (why) throw new ValidationError('desiredState', 'drain_timeout', why, 'batch');
}

/** The Apply options of a spec; with a handle, drained destinations go to its Drainer when the spec says so. */
export function applyOptions(spec: DesiredSpec, handle?: Handle, log?: Log): ApplyOptions {
  const o: ApplyOptions = { scope: spec.scope, prune: spec.prune, drain: spec.drain };
  if (!handle || spec.drainTimeoutMs === undefined) return o;
  const onDeleted = (what: string, why: string) => log?.info({ namespace: handle.netns, why }, `drained: ${what}`);
  return {
    ...o,
    ...timedDrain(handle, { drain: spec.drain, prune: spec.prune, timeoutMs: spec.drainTimeoutMs }, onDeleted),
  };
}
