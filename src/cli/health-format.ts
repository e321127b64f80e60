// `ipvsctl health`'s table: one line per checked destination, its state,
// since when, the weight health gives it, and its last probe.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { HealthState, type DestinationHealth } from '../client/index.js';
import { formatHostPort } from '../inet/address.js';
import { serviceName } from './table.js';

/** A health state as the tables print it. */
export const STATE: Record<number, string> = {
  [HealthState.UNKNOWN]: 'unknown',
  [HealthState.UP]: 'up',
  [HealthState.DOWN]: 'down',
};

/** "4s", "3m", "2h", "5d": how long ago, roughly. */
export function ago(from: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export function formatHealth(rows: DestinationHealth[], now = new Date()): string {
  const lines = [['SERVICE', 'DESTINATION', 'STATE', 'FOR', 'WEIGHT', 'RUN', 'LAST PROBE']];
  for (const d of rows) {
    const family = d.address.includes(':') ? 10 : 2;
    const last = d.last
      ? `${d.last.ok ? 'ok' : 'fail'} ${d.last.latency ? durationMs(d.last.latency).toFixed(1) : '?'} ms ${d.last.reason}`
      : '-';
    const run = d.consecutiveFailures ? `${d.consecutiveFailures} fail` : `${d.consecutiveSuccesses} ok`;
    lines.push([
      d.service ? serviceName(d.service) : '?',
      formatHostPort({ addressFamily: family, address: d.address, port: d.port }),
      STATE[d.state] ?? String(d.state),
      d.since ? ago(timestampDate(d.since), now) : '-',
      String(d.weight),
      run,
      last,
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return `${lines.map((l) => l.map((c, i) => (i < l.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ')).join('\n')}\n`;
}
