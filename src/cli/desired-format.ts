// Desired states for people: `desired get` as YAML in the same shape a put
// file has (plus generation and status), `desired list` as one line per
// state, and the one-line sync verdict that put and list share.
import { toJson } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { stringify } from 'yaml';
import {
  ServiceWithDestinationsSchema,
  status,
  type ApplyScope,
  type DesiredState,
  type DesiredStateStatus,
  type SysctlUpdate,
} from '../client/index.js';
import { changeLine } from './plan-format.js';

/** One YAML value on one line (quoted when YAML needs it). */
const flow = (v: unknown) => stringify(v, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd();

const codeName = (code: number) => status[code] ?? String(code);

const WHOLE = 'whole namespace';

/** "192.0.2.9,192.0.2.0/24,fwmark 5", the first `most` entries then how many more; empty: the whole namespace. */
export function scopeText(s?: ApplyScope, most = Infinity): string {
  const parts = [...(s?.addresses ?? []), ...(s?.prefixes ?? []), ...(s?.fwMarks ?? []).map((m) => `fwmark ${m}`)];
  if (!parts.length) return WHOLE;
  const shown = parts.slice(0, most).join(',');
  return parts.length > most ? `${shown} and ${parts.length - most} more` : shown;
}

/** The scope as a put file writes it: only its non-empty lists. */
const scopeOf = (s?: ApplyScope) =>
  Object.fromEntries(
    Object.entries({ addresses: s?.addresses, prefixes: s?.prefixes, fwMarks: s?.fwMarks }).filter(
      ([, v]) => v?.length,
    ),
  );

/** The sysctls a reconcile changed (or would), one line each: "sysctl net.ipv4.vs.conntrack: 0 -> 1". */
export const sysctlChanges = (updates: readonly SysctlUpdate[]): string =>
  updates
    .filter((u) => u.changed)
    .map((u) => `sysctl net.ipv4.vs.${u.name}: ${u.previousValue} -> ${u.value}\n`)
    .join('');

/** "in sync"; else why not, from the last reconcile. */
export function syncText(d: DesiredState): string {
  const s = d.status;
  if (s?.code) return `not in sync: the reconcile failed: ${codeName(s.code)}: ${s.message}`;
  if (!s?.reconcileTime) return 'not reconciled yet';
  if (s.inSync) return 'in sync';
  if (s.failed) return `not in sync: ${s.failed} changes failed`;
  return `not in sync: generation ${s.reconciledGeneration} reconciled, ${d.generation} stored`;
}

const timeText = (s?: DesiredStateStatus) => (s?.reconcileTime ? timestampDate(s.reconcileTime).toISOString() : '-');

/** The states as a table: one line each, under a header. */
export function formatList(states: DesiredState[]): string {
  if (!states.length) return 'no desired states\n';
  const rows = [
    ['NAME', 'NAMESPACE', 'GENERATION', 'SCOPE', 'IN SYNC', 'RECONCILED', 'RESULT'],
    ...states.map((d) => {
      const s = d.status;
      const result = `${s?.applied ?? 0} applied, ${s?.failed ?? 0} failed`;
      return [
        d.name,
        d.namespace || '-',
        String(d.generation),
        scopeText(d.scope, 3), // one line each, however big the scope
        s?.inSync ? 'yes' : 'no',
        timeText(s),
        s?.code ? `${result}; ${codeName(s.code)}: ${s.message}` : result,
      ];
    }),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ')}\n`).join('');
}

/** One state with its status and services, as YAML; its services as a put file has them. */
export function formatState(d: DesiredState): string {
  const s = d.status;
  const lines = [
    `name: ${d.name}`,
    `namespace: ${flow(d.namespace)}${d.namespace ? '' : "  # the server's own"}`,
    `generation: ${d.generation}`,
    `scope: ${flow(scopeOf(d.scope))}${scopeText(d.scope) === WHOLE ? '  # the whole namespace' : ''}`,
    `prune: ${d.prune}`,
    `drain: ${d.drain}`,
  ];
  if (d.drainTimeout) lines.push(`drainTimeout: ${Number(d.drainTimeout.seconds) + d.drainTimeout.nanos / 1e9}s`);
  // As a put file takes them: a mapping of name: value.
  if (d.sysctls.length) lines.push(`sysctls: ${flow(Object.fromEntries(d.sysctls.map((x) => [x.name, x.value])))}`);
  lines.push(
    'status:',
    `  inSync: ${s?.inSync ?? false}  # ${syncText(d)}`,
    `  reconciledGeneration: ${s?.reconciledGeneration ?? 0}`,
    `  reconcileTime: ${s?.reconcileTime ? timeText(s) : 'null  # none since the server started'}`,
    `  applied: ${s?.applied ?? 0}`,
    `  failed: ${s?.failed ?? 0}`,
  );
  if (s?.code) lines.push(`  code: ${codeName(s.code)}`, `  message: ${flow(s.message)}`);
  if (s?.failures.length) {
    lines.push('  failures:');
    for (const x of s.failures) lines.push(`    - ${flow(`${changeLine(x)}${x.message ? ` (${x.message})` : ''}`)}`);
  }
  lines.push(d.services.length ? 'services:' : 'services: []');
  for (const sw of d.services) {
    const { service, destinations } = toJson(ServiceWithDestinationsSchema, sw) as {
      service?: unknown;
      destinations?: unknown[];
    };
    lines.push(`  - service: ${flow(service ?? {})}`);
    lines.push(destinations?.length ? '    destinations:' : '    destinations: []');
    for (const x of destinations ?? []) lines.push(`      - ${flow(x)}`);
  }
  return `${lines.join('\n')}\n`;
}
