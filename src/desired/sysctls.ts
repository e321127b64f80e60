// The IPVS sysctls a desired state needs in its namespace: checked with its spec, refused when another desired
// state of the namespace wants one of them otherwise, and set after its services at every reconcile (only those that
// differ are written, so a steady state writes nothing).
import { checkSysctlSettings, sameSysctlValue, setSysctls, type Handle, type SysctlChange } from '../ipvs/index.js';
import { DesiredStateError } from './checks.js';
import type { HeldState } from './held.js';
import type { DesiredSpec, Log } from './spec.js';

/** FAILED_PRECONDITION ("overlap") when `other` sets one of `spec`'s sysctls to another value. */
export function checkSysctlClash(spec: DesiredSpec, other: { name: string; spec: DesiredSpec }): void {
  if (!spec.sysctls.length || !other.spec.sysctls.length) return;
  const theirs = new Map(checkSysctlSettings(other.spec.sysctls).map((c) => [c.spec.name, c.value]));
  checkSysctlSettings(spec.sysctls).forEach((mine, i) => {
    const v = theirs.get(mine.spec.name);
    if (v !== undefined && !sameSysctlValue(mine.spec, v, mine.value))
      throw new DesiredStateError(
        'overlap',
        `sysctl ${mine.spec.name} is ${JSON.stringify(v)} in ${other.name}, not ${JSON.stringify(mine.value)}, in its namespace`,
        `sysctls[${i}].value`,
      );
  });
}

/** Sets the spec's sysctls where they differ (with validateOnly: reads them, telling what would change). */
export const reconcileSysctls = (h: Handle, spec: DesiredSpec, validateOnly = false): SysctlChange[] =>
  setSysctls(h, spec.sysctls, { validateOnly });

/**
 * A reconcile's sysctls, after its services (whose status `s` holds): one the kernel refuses leaves `s` out of sync,
 * that error in its status (and the log), and none are reported changed.
 */
export function reconcileHeldSysctls(s: HeldState, h: Handle, log: Log): SysctlChange[] {
  try {
    return reconcileSysctls(h, s.spec);
  } catch (e) {
    s.status = { ...s.status!, inSync: false, error: e };
    log.warn({ name: s.name, namespace: s.spec.namespace, err: String(e) }, 'sysctls not set');
    return [];
  }
}
