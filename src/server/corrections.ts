// Corrections on WatchEvents: each reconcile of a desired state that put the
// kernel back, as a message of its own for the watchers of its namespace.
// A stream keeps the last few that it has not sent yet; older ones it counts
// as lost rather than queueing without bound.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { Correction, DesiredRegistry } from '../desired/registry.js';
import { Encoded } from '../rpc/definition.js';
import { applyReply } from './apply-report.js';
import { applyOut } from './convert-apply.js';
import { TRIGGERS } from './convert-desired.js';

/** Most corrections a stream holds unsent. */
export const KEPT_CORRECTIONS = 64;
/** Where a correction's changes are cut (refused first, the rest counted in `omitted`). */
export const CORRECTION_CHANGES_BYTES = 64 * 1024;

export function correctionMessage(c: Correction, skipped: number): Encoded<api.WatchEventsResponse> {
  const reconcile = fromBinary(
    api.ApplyResponseSchema,
    applyReply(applyOut(c.result, false), CORRECTION_CHANGES_BYTES).bytes,
  );
  const m = create(api.WatchEventsResponseSchema, {
    time: timestampFromDate(c.time),
    correction: {
      desiredState: c.name,
      generation: BigInt(c.generation),
      trigger: TRIGGERS[c.trigger],
      reconcile,
    },
    skippedCorrections: skipped,
  });
  return new Encoded(Buffer.from(toBinary(api.WatchEventsResponseSchema, m)));
}

/** The corrections of namespace `ns` (compared by `same`) as they come, for one stream to take between ticks. */
export class CorrectionQueue {
  private pending: Correction[] = [];
  private lost = 0;
  private readonly stop: () => void;

  constructor(desired: DesiredRegistry | undefined, same: (ns: string) => boolean) {
    this.stop =
      desired?.corrections.on((c) => {
        if (!same(c.namespace)) return;
        this.pending.push(c);
        if (this.pending.length > KEPT_CORRECTIONS) {
          this.pending.shift();
          this.lost++;
        }
      }) ?? (() => {});
  }

  /**
   * The messages of the corrections that ended by `listed` (when a listing ended: it shows what they put back), the
   * first counting those lost before it. Later ones wait for the next listing.
   */
  take(listed: Date): Encoded<api.WatchEventsResponse>[] {
    const ready = this.pending.filter((c) => c.time <= listed);
    if (!ready.length) return [];
    this.pending = this.pending.filter((c) => c.time > listed);
    const out = ready.map((c, i) => correctionMessage(c, i === 0 ? this.lost : 0));
    this.lost = 0;
    return out;
  }

  close(): void {
    this.stop();
  }
}
