// `ipvsctl watch`: a live table of counters and rates per service and
// destination, with a sparkline of each one's recent bytes-in rate. On a
// terminal it redraws in place and quits on q or Ctrl-C; otherwise it
// prints one table per tick. With a desired state's name (`health`), each
// destination row also shows its health (./health-column.ts).
import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { IpvsClient, WatchStatsResponse } from '../client/index.js';
import { formatHostPort } from '../inet/address.js';
import { HEALTH_WIDTH, HealthColumn } from './health-column.js';
import type { CliIo } from './io.js';
import { rateCells, serviceName, sparkline } from './table.js';

const HISTORY = 20;

export interface WatchOptions {
  namespace: string;
  intervalMs: number;
  fast: boolean;
  /** Stop after this many snapshots (0: until q / Ctrl-C). */
  count: number;
  /** A desired state ("web" or "desiredStates/web") whose destination health is listed at each tick. */
  health?: string;
}

export function renderWatch(snap: WatchStatsResponse, history: Map<string, number[]>, health?: HealthColumn): string {
  const now = snap.time ? timestampDate(snap.time) : new Date();
  const lines = [
    `ipvsctl watch  every ${Number(snap.interval?.seconds ?? 0n) + (snap.interval?.nanos ?? 0) / 1e9}s  ${new Date(Number(snap.time?.seconds ?? 0n) * 1000).toISOString()}  (q quits)${health ? `  ${health.title()}` : ''}`,
    '',
    `${'Service / -> Destination'.padEnd(34)} ${['Conns', 'CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((h) => h.padStart(7)).join(' ')}  ${health ? `${'Health'.padEnd(HEALTH_WIDTH)}  ` : ''}InBPS trend`,
  ];
  const seen = new Set<string>();
  const row = (key: string, label: string, stats: Parameters<typeof rateCells>[0], cell?: string) => {
    seen.add(key);
    const h = history.get(key) ?? [];
    h.push(Number(stats?.bpsIn ?? 0n));
    if (h.length > HISTORY) h.shift();
    history.set(key, h);
    const healthCell = health ? `${(cell ?? '').padEnd(HEALTH_WIDTH)}  ` : '';
    lines.push(`${label.padEnd(34)} ${rateCells(stats)}  ${healthCell}${sparkline(h)}`);
  };
  for (const s of snap.services) {
    const name = serviceName(s.service!);
    row(name, name, s.stats);
    for (const d of s.destinations)
      row(
        `${name} ${d.address}:${d.port}`,
        `  -> ${formatHostPort(d)}`,
        d.stats,
        health?.cell(s.service!, d.address, d.port, now),
      );
  }
  for (const k of history.keys()) if (!seen.has(k)) history.delete(k);
  return `${lines.join('\n')}\n`;
}

export async function watch(client: IpvsClient, o: WatchOptions, io: CliIo): Promise<void> {
  const { stdin, stdout } = io;
  const tty = stdout.isTTY && stdin.isTTY;
  const ac = new AbortController();
  const stop = () => ac.abort();
  const key = (k: Buffer) => {
    if (k[0] === 0x71 /* q */ || k[0] === 0x03 /* Ctrl-C */) stop();
  };
  if (tty) {
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on('data', key);
    stdout.write('\x1b[?25l'); // hide the cursor while redrawing
  }
  process.once('SIGINT', stop);
  const history = new Map<string, number[]>();
  const health = o.health ? new HealthColumn(client, o.health) : undefined;
  let n = 0;
  let first = true;
  try {
    const interval = { seconds: BigInt(Math.floor(o.intervalMs / 1000)), nanos: (o.intervalMs % 1000) * 1e6 };
    for await (const snap of client.watchStats(
      { namespace: o.namespace, interval, allowFast: o.fast },
      { signal: ac.signal },
    )) {
      // At most a tick's time (10 s at least) for the listing; the first one checks the name.
      await health?.refresh(ac.signal, Math.max(10_000, o.intervalMs), first);
      first = false;
      if (ac.signal.aborted) break;
      const view = renderWatch(snap, history, health);
      stdout.write(tty ? `\x1b[H\x1b[2J${view}` : `${view}\n`);
      if (o.count && ++n >= o.count) break;
    }
  } finally {
    // Every listener taken off: the run may be one of many in a long-lived process (a test's).
    process.off('SIGINT', stop);
    if (tty) {
      stdout.write('\x1b[?25h');
      stdin.off('data', key);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
  }
}
