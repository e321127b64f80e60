// The IPVS sysctls a desired state needs in its namespace: checked with its spec, refused when another desired
// state of the namespace wants one of them otherwise, and set after its services at every reconcile (only those that
// differ are written, so a steady state writes nothing).
import { checkSysctlSettings, sameSysctlValue, setSysctls, type Handle, type SysctlChange } from '../ipvs/index.js';
import { DesiredStateError } from './checks.js';
import type { DesiredSpec } from './spec.js';

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
