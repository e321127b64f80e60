import { AttributeDecoder } from '../netlink/attribute-decoder.js';
import { StatsAttr } from './constants.js';
import type { Stats } from './model.js';

export const zeroStats = (): Stats => ({
  connections: 0,
  packetsIn: 0,
  packetsOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  cps: 0,
  ppsIn: 0,
  ppsOut: 0,
  bpsIn: 0,
  bpsOut: 0,
});

function clearStats(s: Stats): Stats {
  s.connections = s.packetsIn = s.packetsOut = s.bytesIn = s.bytesOut = 0;
  s.cps = s.ppsIn = s.ppsOut = s.bpsIn = s.bpsOut = 0;
  return s;
}

/** `to` takes every counter of `from`. */
export function copyStats(to: Stats, from: Stats): void {
  to.connections = from.connections;
  to.packetsIn = from.packetsIn;
  to.packetsOut = from.packetsOut;
  to.bytesIn = from.bytesIn;
  to.bytesOut = from.bytesOut;
  to.cps = from.cps;
  to.ppsIn = from.ppsIn;
  to.ppsOut = from.ppsOut;
  to.bpsIn = from.bpsIn;
  to.bpsOut = from.bpsOut;
}

/** Counters of an object listed without them; shared, so it is frozen. */
export const NO_STATS: Stats = Object.freeze(zeroStats());

/**
 * Reads a STATS (32-bit counters) or STATS64 nest; each counter is read at
 * the width the kernel sent, as a number: exact below 2^53, the nearest
 * double above (a 64-bit counter past 2^53, 9 PB, loses its last digits).
 * Into `into`, every counter rewritten, when given.
 */
export function decodeStats(d: AttributeDecoder, into?: Stats): Stats {
  const s = into ? clearStats(into) : zeroStats();
  while (d.next()) {
    switch (d.type()) {
      case StatsAttr.Conns:
        s.connections = d.uint();
        break;
      case StatsAttr.InPkts:
        s.packetsIn = d.uint();
        break;
      case StatsAttr.OutPkts:
        s.packetsOut = d.uint();
        break;
      case StatsAttr.InBytes:
        s.bytesIn = d.uint();
        break;
      case StatsAttr.OutBytes:
        s.bytesOut = d.uint();
        break;
      case StatsAttr.Cps:
        s.cps = d.uint();
        break;
      case StatsAttr.InPps:
        s.ppsIn = d.uint();
        break;
      case StatsAttr.OutPps:
        s.ppsOut = d.uint();
        break;
      case StatsAttr.InBps:
        s.bpsIn = d.uint();
        break;
      case StatsAttr.OutBps:
        s.bpsOut = d.uint();
        break;
    }
  }
  d.finish();
  return s;
}

/**
 * The counters of one object, whose reply holds a STATS nest (32-bit) and,
 * on kernels since 4.x, a STATS64 nest after it. Only the wider one is
 * decoded, the narrow one only where no wide one came, and none when not
 * wanted: `wide` is the STATS64 nest decoded, `narrowAt` the narrow nest's
 * place (-1: none) in `d`'s buffer; `into`, the object to decode the narrow
 * one into.
 */
export function pickStats(
  wanted: boolean,
  wide: Stats | undefined,
  d: AttributeDecoder,
  narrowAt: number,
  narrowLen: number,
  into?: Stats,
): Stats {
  if (!wanted) return NO_STATS;
  if (wide) return wide;
  return narrowAt < 0 ? NO_STATS : decodeStats(new AttributeDecoder(d.buffer, narrowAt, narrowAt + narrowLen), into);
}

/** The stats object a decoder may write into: `target`'s own, unless it is the shared frozen one. */
export const writableStats = (target: { stats: Stats } | undefined): Stats | undefined =>
  target && target.stats !== NO_STATS ? target.stats : undefined;
