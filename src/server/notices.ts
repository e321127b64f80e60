// What desired states tell on WatchEvents: each reconcile that put the
// kernel back (a correction) and each health transition, as a message of
// its own for the watchers of its namespace. A stream keeps the last few
// that it has not sent yet; older ones it counts as lost rather than
// queueing without bound. Each message is encoded once, when told, and
// shared by every stream: a correction of 110,000 changes is cut and
// encoded once, not once per watcher, and a transition shows the
// destination as it was when it moved.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { Correction, DesiredRegistry, HealthTransition } from '../desired/registry.js';
import { Encoded } from '../rpc/definition.js';
import { applyReply } from './apply-report.js';
import { applyOut } from './convert-apply.js';
import { TRIGGERS } from './convert-desired.js';
import { sysctlUpdateOut } from './convert-sysctl.js';
import { destinationHealthOut, healthStateOut } from './convert-health.js';

/** Most notices a stream holds unsent. */
export const KEPT_NOTICES = 64;
/** Where a correction's changes are cut (refused first, the rest counted in `omitted`). */
export const CORRECTION_CHANGES_BYTES = 64 * 1024;

function correctionMessage(c: Correction): Encoded<api.WatchEventsResponse> {
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
      sysctls: c.sysctls.map(sysctlUpdateOut),
    },
  });
  return new Encoded(Buffer.from(toBinary(api.WatchEventsResponseSchema, m)));
}

function transitionMessage(t: HealthTransition): Encoded<api.WatchEventsResponse> {
  const m = create(api.WatchEventsResponseSchema, {
    time: timestampFromDate(t.time),
    healthTransition: {
      desiredState: t.name,
      destination: destinationHealthOut(t.checked),
      previous: healthStateOut(t.previous),
    },
  });
  return new Encoded(Buffer.from(toBinary(api.WatchEventsResponseSchema, m)));
}

/** The message of each thing told, encoded by the first stream that keeps it. */
const encoded = new WeakMap<object, Encoded<api.WatchEventsResponse>>();
function messageOf<T extends object>(told: T, build: (t: T) => Encoded<api.WatchEventsResponse>) {
  let m = encoded.get(told);
  if (!m) encoded.set(told, (m = build(told)));
  return m;
}

/** A shared message with the count of notices a stream lost before it (rare: decoded and encoded again). */
function withSkipped(m: Encoded<api.WatchEventsResponse>, skipped: number): Encoded<api.WatchEventsResponse> {
  if (!skipped) return m;
  const x = fromBinary(api.WatchEventsResponseSchema, m.bytes);
  x.skippedCorrections = skipped;
  return new Encoded(Buffer.from(toBinary(api.WatchEventsResponseSchema, x)));
}

interface Notice {
  /** When it happened. */
  time: Date;
  message: Encoded<api.WatchEventsResponse>;
}

/** The notices of namespace `ns` (compared by `same`) as they come, for one stream to take between ticks. */
export class NoticeQueue {
  private pending: Notice[] = [];
  private lost = 0;
  private readonly stops: (() => void)[] = [];

  constructor(desired: DesiredRegistry | undefined, same: (ns: string) => boolean) {
    if (!desired) return;
    const keep = (n: Notice) => {
      this.pending.push(n);
      if (this.pending.length > KEPT_NOTICES) {
        this.pending.shift();
        this.lost++;
      }
    };
    this.stops.push(
      desired.corrections.on(
        (c) => same(c.namespace) && keep({ time: c.time, message: messageOf(c, correctionMessage) }),
      ),
      desired.transitions.on(
        (t) => same(t.namespace) && keep({ time: t.time, message: messageOf(t, transitionMessage) }),
      ),
    );
  }

  /**
   * The messages of the notices told by `listed` (when a listing ended: it shows what followed them), the first
   * counting those lost before it. Later ones wait for the next listing.
   */
  take(listed: Date): Encoded<api.WatchEventsResponse>[] {
    const ready = this.pending.filter((n) => n.time <= listed);
    if (!ready.length) return [];
    this.pending = this.pending.filter((n) => n.time > listed);
    const out = ready.map((n, i) => withSkipped(n.message, i === 0 ? this.lost : 0));
    this.lost = 0;
    return out;
  }

  close(): void {
    for (const stop of this.stops) stop();
  }
}
