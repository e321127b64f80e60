// A sysctl's value checked against its spec (sysctl-table.ts) before anything is written, so that a refusal names
// the sysctl and changes nothing; and written as the kernel prints it, so that values compare as text.
import { SYSCTL_PREFIX, sysctlSpec, type SysctlSpec } from './sysctl-table.js';
import { ValidationError } from './validate.js';

/** A decimal integer as the kernel prints one: no sign but "-", no leading zero (the kernel would read octal). */
const DECIMAL = /^(0|-?[1-9][0-9]*)$/;

/** The range of a spec as text: "0..3", "a power of two in 1..1073741824". */
export function rangeOf(s: SysctlSpec): string {
  const r = `${s.min}..${s.max}`;
  if (s.kind === 'power-of-two') return `a power of two in ${r}`;
  if (s.kind === 'pair') return `two integers in ${r}, the first below the second unless the second is 0`;
  return r;
}

const fail = (index: number | undefined, field: 'name' | 'value', name: string, reason: string): never => {
  throw new ValidationError(`set ${SYSCTL_PREFIX}${name}`, field, reason, 'sysctl', index);
};

/**
 * The spec of `name`; an unknown one is a ValidationError of field "name" (`index`: its place in the request).
 */
export function knownSysctl(name: string, index?: number): SysctlSpec {
  return sysctlSpec(name) ?? fail(index, 'name', name, `${JSON.stringify(name)} is not an IPVS sysctl of Linux 6.1`);
}

/**
 * `text` as the kernel prints it (decimal, a pair joined by a tab), after checking it against the spec's kind and
 * range: else a ValidationError of field "value" naming the sysctl. Whitespace around and between values is free.
 */
export function parseSysctlValue(s: SysctlSpec, text: string, index?: number): string {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const want = s.kind === 'pair' ? 2 : 1;
  const shown = JSON.stringify(text);
  if (words.length !== want)
    fail(index, 'value', s.name, `${shown} is not ${want === 2 ? 'two integers' : 'one integer'} (${rangeOf(s)})`);
  const values = words.map((w) => {
    if (!DECIMAL.test(w))
      return fail(index, 'value', s.name, `${shown}: ${JSON.stringify(w)} is not a decimal integer`);
    const v = BigInt(w);
    if (v < s.min || v > s.max) fail(index, 'value', s.name, `${shown} is not in ${rangeOf(s)}`);
    return v;
  });
  if (s.kind === 'power-of-two' && (values[0]! & (values[0]! - 1n)) !== 0n)
    fail(index, 'value', s.name, `${shown} is not ${rangeOf(s)}`);
  if (s.kind === 'pair' && values[1] !== 0n && values[0]! >= values[1]!)
    fail(index, 'value', s.name, `${shown}: the threshold must be below the period (or the period 0)`);
  return values.join('\t');
}

/**
 * Whether the kernel's `current` value already is `wanted` (both as parseSysctlValue gives them): a defense mode
 * of 1 or 2 is the same automatic mode, whichever the kernel shows now.
 */
export function sameSysctlValue(s: SysctlSpec, current: string, wanted: string): boolean {
  if (current === wanted) return true;
  const auto = (v: string) => v === '1' || v === '2';
  return s.kind === 'defense' && auto(current) && auto(wanted);
}
