// Joining the parts of one message. No gRPC message may pass 4 MiB (stock
// clients refuse more), so the server sends a WatchStats tick, a WatchEvents
// resync or set of events, and an ApplyWithProgress result that would pass
// its --max-response-bytes in parts, each but the last marked `more`. A
// service whose destinations did not all fit continues at the start of the
// next part (or page): the same ServiceId again, with the rest of them.
import { equals } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import type {
  ApplyWithProgressResponse,
  ServiceStats,
  WatchEventsResponse,
  WatchStatsResponse,
} from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { ServiceIdSchema, type ServiceId, type ServiceWithDestinations } from '../../gen/ts/ipvs/v1/model_pb.js';
import { IpvsError } from './error.js';

const sameId = (a: ServiceId | undefined, b: ServiceId | undefined) => !!a && !!b && equals(ServiceIdSchema, a, b);

/**
 * Services arriving in parts, joined into one list: a part whose first
 * service is the last one so far brings the rest of its destinations. The
 * parts themselves are left as they are.
 */
export class ServiceJoin<T extends { destinations: unknown[] }> {
  private list: T[] = [];
  /** The last service, once it is our own copy (it continued), so that later parts append to it in place. */
  private grown: T | undefined;

  constructor(private readonly id: (s: T) => ServiceId | undefined) {}

  add(part: readonly T[]): void {
    part.forEach((s, i) => {
      const last = this.list.at(-1);
      if (i > 0 || !last || !sameId(this.id(last), this.id(s))) {
        this.list.push(s);
        return;
      }
      if (last !== this.grown)
        this.list[this.list.length - 1] = this.grown = { ...last, destinations: [...last.destinations] };
      for (const d of s.destinations) this.grown.destinations.push(d); // a loop: spreading 100k arguments overflows the stack
    });
  }

  /** Hands over the services joined so far; with `keepLast`, all but the last, which the next part may continue. */
  take(keepLast = false): T[] {
    const out = this.list;
    this.list = keepLast && out.length ? [out.pop()!] : [];
    return out;
  }
}

const serviceOfStats = (s: ServiceStats) => s.service;
export const serviceOfListing = (s: ServiceWithDestinations) => s.service?.id;

function joinServices<T extends { destinations: unknown[] }>(
  lists: readonly (readonly T[])[],
  id: (s: T) => ServiceId | undefined,
): T[] {
  const join = new ServiceJoin(id);
  for (const l of lists) join.add(l);
  return join.take();
}

/** One tick from its parts: the services joined; time and interval are the same in every part. */
function joinStats(parts: readonly WatchStatsResponse[]): WatchStatsResponse {
  return {
    ...parts.at(-1)!,
    services: joinServices(
      parts.map((p) => p.services),
      serviceOfStats,
    ),
  };
}

/** One WatchEvents message from its parts: a resync's snapshot joined, events concatenated. */
function joinEvents(parts: readonly WatchEventsResponse[]): WatchEventsResponse {
  return {
    ...parts.at(-1)!,
    snapshot: joinServices(
      parts.map((p) => p.snapshot),
      serviceOfListing,
    ),
    events: parts.flatMap((p) => p.events),
  };
}

/** One ApplyWithProgress result from its parts: changes concatenated; applied and failed are totals in every part. */
function joinResults(parts: readonly ApplyWithProgressResponse[]): ApplyWithProgressResponse {
  const results = parts.flatMap((p) => (p.event.case === 'result' ? [p.event.value] : []));
  return {
    ...parts.at(-1)!,
    event: { case: 'result', value: { ...results.at(-1)!, changes: results.flatMap((r) => r.changes) } },
  };
}

/**
 * Whole messages from a stream of parts: parts for which `more` holds are
 * held until the part that ends them, then joined; other messages pass
 * through as they are. A stream that ends part-way through a message is
 * DATA_LOSS, rather than a message that looks whole; one that `signal`
 * aborted ends quietly, its held parts dropped.
 */
async function* wholeMessages<M>(
  parts: AsyncIterable<M>,
  more: (m: M) => boolean,
  join: (parts: M[]) => M,
  signal?: AbortSignal,
): AsyncGenerator<M> {
  let held: M[] = [];
  for await (const m of parts) {
    if (more(m)) {
      held.push(m);
    } else if (!held.length) {
      yield m;
    } else {
      const all = [...held, m];
      held = [];
      yield join(all);
    }
  }
  if (held.length && !signal?.aborted) {
    throw new IpvsError({ code: status.DATA_LOSS, details: 'the stream ended part-way through a message' });
  }
}

/** The streaming methods whose messages come in parts, and how to make them whole. */
export const wholeStreams = {
  watchStats: (s: AsyncIterable<WatchStatsResponse>, signal?: AbortSignal) =>
    wholeMessages(s, (m) => m.more, joinStats, signal),
  watchEvents: (s: AsyncIterable<WatchEventsResponse>, signal?: AbortSignal) =>
    wholeMessages(s, (m) => m.more, joinEvents, signal),
  applyWithProgress: (s: AsyncIterable<ApplyWithProgressResponse>, signal?: AbortSignal) =>
    wholeMessages(s, (m) => m.event.case === 'result' && m.event.value.more, joinResults, signal),
};
