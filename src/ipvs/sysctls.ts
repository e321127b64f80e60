// The IPVS sysctls of a Handle's namespace, read and set through its /proc/sys/net/ipv4/vs files, which the kernel
// binds to the namespace of the thread that opens them (src/procfs). Every setting is checked against the table
// before any is written; what the kernel still refuses comes back as its KernelError.
import { KernelError } from '../netlink/error.js';
import { listIn, readIn, writeIn } from '../procfs/netns-file.js';
import type { Handle } from './handle.js';
import { SYSCTL_DIR, SYSCTL_PREFIX, sysctlSpec, type SysctlSpec } from './sysctl-table.js';
import { knownSysctl, parseSysctlValue, sameSysctlValue } from './sysctl-value.js';
import { ValidationError } from './validate.js';

export interface SysctlValue {
  /** Without "net.ipv4.vs.". */
  name: string;
  /** As the kernel prints it, without the newline (a pair's two values apart by a tab). */
  value: string;
  /** Its kind and range; undefined for a file the table does not know (a kernel newer than 6.1). */
  spec?: SysctlSpec;
}

export interface SysctlSetting {
  /** With or without "net.ipv4.vs.". */
  name: string;
  value: string;
}

export interface SysctlChange {
  name: string;
  spec: SysctlSpec;
  /** The kernel's value before. */
  previous: string;
  /** Read back after writing (with validateOnly: the value that would be written). */
  value: string;
  /** Whether `previous` differed, so that it was written (or would be). */
  changed: boolean;
}

const pathOf = (name: string) => `${SYSCTL_DIR}/${name}`;
const printed = (text: string) => text.replace(/\n$/, '');

/**
 * The sysctls of `h`'s namespace, sorted by name: those of `names` (each checked: an unknown one is a
 * ValidationError of field "name" at its index), else every file the namespace has (lblc_expiration only while
 * ip_vs_lblc is loaded).
 */
export function readSysctls(h: Handle, names?: readonly string[]): SysctlValue[] {
  const wanted = names?.length
    ? [...new Set(names.map((n, i) => knownSysctl(n, i).name))].sort()
    : listIn(h.netns, SYSCTL_DIR);
  const values = readIn(h.netns, wanted.map(pathOf));
  return wanted.map((name, i) => ({ name, value: printed(values[i]!), spec: sysctlSpec(name) }));
}

export interface CheckedSetting {
  spec: SysctlSpec;
  /** As the kernel prints it. */
  value: string;
}

/**
 * Each setting's spec and value as the kernel prints it: an unknown name, a value out of range or a sysctl given
 * twice is a ValidationError of field "name" or "value" at the setting's index.
 */
export function checkSysctlSettings(settings: readonly SysctlSetting[]): CheckedSetting[] {
  const seen = new Map<string, number>();
  return settings.map((s, i) => {
    const spec = knownSysctl(s.name, i);
    const first = seen.get(spec.name);
    if (first !== undefined)
      throw new ValidationError(
        `set ${SYSCTL_PREFIX}${spec.name}`,
        'name',
        `${spec.name} is set twice (also at ${first})`,
        'sysctl',
        i,
      );
    seen.set(spec.name, i);
    return { spec, value: parseSysctlValue(spec, s.value, i) };
  });
}

/**
 * Sets sysctls of `h`'s namespace: every one checked first (ValidationError of field "name" or "value" at its
 * index, nothing written), the current values read (a file missing, as lblc_expiration without its module, refuses
 * all), then those that differ written in order and every one read back. With validateOnly nothing is written.
 */
export function setSysctls(
  h: Handle,
  settings: readonly SysctlSetting[],
  o: { validateOnly?: boolean } = {},
): SysctlChange[] {
  const parsed = checkSysctlSettings(settings);
  if (!parsed.length) return [];
  const paths = parsed.map((p) => pathOf(p.spec.name));
  const before = readIn(h.netns, paths).map(printed);
  const differ = parsed.map((p, i) => !sameSysctlValue(p.spec, before[i]!, p.value));
  // The settings written, by their index in `settings`.
  const written = parsed.flatMap((_, i) => (differ[i] ? [i] : []));
  if (!o.validateOnly && written.length) {
    try {
      writeIn(
        h.netns,
        written.map((i) => ({ path: paths[i]!, text: `${parsed[i]!.value}\n` })),
      );
    } catch (e) {
      // The kernel refused the write at e.index of those made; the caller knows it by its index in the request.
      if (!(e instanceof KernelError) || e.index === undefined) throw e;
      const at = written[e.index]!;
      throw new KernelError(
        `set ${SYSCTL_PREFIX}${parsed[at]!.spec.name} = ${JSON.stringify(parsed[at]!.value)}`,
        e.code,
        e.detail,
        at,
      );
    }
  }
  const after = o.validateOnly || !written.length ? parsed.map((p) => p.value) : readIn(h.netns, paths).map(printed);
  return parsed.map((p, i) => ({
    name: p.spec.name,
    spec: p.spec,
    previous: before[i]!,
    value: differ[i] ? after[i]! : before[i]!,
    changed: differ[i]!,
  }));
}
