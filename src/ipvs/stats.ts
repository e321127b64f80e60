import type { AttributeDecoder } from '../netlink/attribute.js';
import { StatsAttr } from './constants.js';
import type { Stats } from './model.js';

export const zeroStats = (): Stats => ({
  connections: 0n, packetsIn: 0n, packetsOut: 0n, bytesIn: 0n, bytesOut: 0n,
  cps: 0n, ppsIn: 0n, ppsOut: 0n, bpsIn: 0n, bpsOut: 0n,
});

const FIELDS = new Map<number, keyof Stats>([
  [StatsAttr.Conns, 'connections'], [StatsAttr.InPkts, 'packetsIn'], [StatsAttr.OutPkts, 'packetsOut'],
  [StatsAttr.InBytes, 'bytesIn'], [StatsAttr.OutBytes, 'bytesOut'], [StatsAttr.Cps, 'cps'],
  [StatsAttr.InPps, 'ppsIn'], [StatsAttr.OutPps, 'ppsOut'], [StatsAttr.InBps, 'bpsIn'], [StatsAttr.OutBps, 'bpsOut'],
]);

/** Reads a STATS (32-bit counters) or STATS64 nest; each counter is read at the width the kernel sent. */
export function decodeStats(d: AttributeDecoder): Stats {
  const s = zeroStats();
  while (d.next()) {
    const field = FIELDS.get(d.type());
    if (field) s[field] = d.uint();
  }
  d.finish();
  return s;
}

/** Counters of an object listed without them; shared, so it is frozen. */
export const NO_STATS: Stats = Object.freeze(zeroStats());

/**
 * The counters of an object whose reply held a STATS nest and (kernels
 * since 4.x, after it) a STATS64 nest: only the wider one is decoded, and
 * none when the caller does not want counters.
 */
export function pickStats(stats32: AttributeDecoder | undefined, stats64: AttributeDecoder | undefined, wanted: boolean): Stats {
  const d = stats64 ?? stats32;
  return d && wanted ? decodeStats(d) : NO_STATS;
}
