// WatchStats and WatchEvents: each tick of the shared pollers (stats-hub.ts)
// as messages, cut into parts no bigger than --max-response-bytes or 256 KiB
// (room.ts). Parts of one tick go out together; while a slow client takes
// them, newer ticks replace the one pending (follow), so memory stays one
// tick per watcher.
// `watches` is the room of both RPCs.
import { create, toBinary } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { DesiredRegistry } from '../desired/registry.js';
import {
  describeService,
  diffState,
  serviceKey,
  ValidationError,
  type ServiceWithDestinations,
  type StateEvent,
} from '../ipvs/index.js';
import { Encoded } from '../rpc/definition.js';
import { destinationOut, fieldPath, serviceIdIn, serviceIdOut, serviceOut } from './convert.js';
import { serverStream, type StreamFn } from './handler.js';
import { cutServices, fieldItems, packItems, partMessage } from './parts.js';
import type { Room, Rpcs } from './room.js';
import { NoticeQueue } from './notices.js';
import { follow, intervalOf, type StatsHub, type StatsSnapshot } from './stats-hub.js';
import { listTag, SERVICE_STATS_SHAPE, WITH_DESTINATIONS_SHAPE } from './wire.js';

const STATS_TAG = listTag(api.WatchStatsResponseSchema, 'services');
const SNAPSHOT_TAG = listTag(api.WatchEventsResponseSchema, 'snapshot');
const EVENTS_TAG = listTag(api.WatchEventsResponseSchema, 'events');

/** A tick's WatchStats messages: of the services in `wanted` (by describeService), or of all. */
function statsParts(
  snap: StatsSnapshot,
  intervalMs: number,
  budget: number,
  wanted?: Set<string>,
): Encoded<api.WatchStatsResponse>[] {
  const services = wanted ? snap.services.filter((s) => wanted.has(describeService(s))) : snap.services;
  const parts = cutServices(services, { budget, listTag: STATS_TAG, shape: SERVICE_STATS_SHAPE });
  const time = timestampFromDate(snap.time);
  const interval = durationFromMs(intervalMs);
  return parts.map(
    (p, i) =>
      new Encoded(
        partMessage(
          p.body,
          toBinary(
            api.WatchStatsResponseSchema,
            create(api.WatchStatsResponseSchema, { time, interval, more: i < parts.length - 1 }),
          ),
        ),
      ),
  );
}

const EVENT_KINDS = {
  added: api.EventKind.ADDED,
  updated: api.EventKind.UPDATED,
  removed: api.EventKind.REMOVED,
} as const;

function eventOut(e: StateEvent): api.Event {
  return create(api.EventSchema, {
    kind: EVENT_KINDS[e.kind],
    service: serviceIdOut(e.service),
    newService: e.destination || e.kind === 'removed' ? undefined : serviceOut(e.service),
    oldService: e.destination
      ? undefined
      : e.kind === 'removed'
        ? serviceOut(e.service)
        : e.oldService && serviceOut(e.oldService),
    newDestination: e.destination && e.kind !== 'removed' ? destinationOut(e.destination) : undefined,
    oldDestination:
      e.destination && e.kind === 'removed'
        ? destinationOut(e.destination)
        : e.oldDestination && destinationOut(e.oldDestination),
  });
}

type EventsHeader = { time: Timestamp; resync?: boolean; skippedTicks?: number };
const eventsHeader = (h: EventsHeader, more: boolean) =>
  toBinary(api.WatchEventsResponseSchema, create(api.WatchEventsResponseSchema, { ...h, more }));

/** A resync: the whole state, in parts. */
function snapshotParts(
  services: readonly ServiceWithDestinations[],
  h: EventsHeader,
  budget: number,
): Encoded<api.WatchEventsResponse>[] {
  const parts = cutServices(services, { budget, listTag: SNAPSHOT_TAG, shape: WITH_DESTINATIONS_SHAPE });
  return parts.map((p, i) => new Encoded(partMessage(p.body, eventsHeader(h, i < parts.length - 1))));
}

function eventParts(
  events: readonly StateEvent[],
  h: EventsHeader,
  budget: number,
): Encoded<api.WatchEventsResponse>[] {
  const parts = packItems(
    fieldItems(
      EVENTS_TAG,
      events.map((e) => toBinary(api.EventSchema, eventOut(e))),
    ),
    budget,
  );
  return parts.map((p, i) => new Encoded(partMessage(p, eventsHeader(h, i < parts.length - 1))));
}

export function watchStats(hub: StatsHub, budget: number): StreamFn<api.WatchStatsRequest, api.WatchStatsResponse> {
  // Watchers of a whole namespace share one set of messages per tick (see Encoded: sent as they are).
  const shared = new WeakMap<StatsSnapshot, Encoded<api.WatchStatsResponse>[]>();
  return async (req, send, ctx) => {
    const wanted = req.services.length
      ? new Set(
          req.services.map((s, i) => {
            try {
              return serviceKey(serviceIdIn(s, `services[${i}]`), 'watchStats');
            } catch (e) {
              throw e instanceof ValidationError ? e.within('watchStats', i) : e;
            }
          }),
        )
      : undefined;
    const intervalMs = intervalOf(req.interval, req.allowFast);
    for await (const { snap } of follow(hub, req.namespace, intervalMs, ctx.signal)) {
      let parts = wanted ? undefined : shared.get(snap);
      if (!parts) {
        parts = statsParts(snap, intervalMs, budget, wanted);
        if (!wanted) shared.set(snap, parts);
      }
      for (const p of parts) await send(p);
    }
    throw ctx.signal.reason;
  };
}

export function watchEvents(
  hub: StatsHub,
  budget: number,
  desired?: DesiredRegistry,
): StreamFn<api.WatchEventsRequest, api.WatchEventsResponse> {
  return async (req, send, ctx) => {
    const intervalMs = intervalOf(req.interval, req.allowFast);
    let previous: ServiceWithDestinations[] | undefined;
    const ns = hub.namespaces.resolve(req.namespace);
    const notices = new NoticeQueue(desired, (other) => sameNamespace(hub, other, ns));
    try {
      for await (const tick of follow(hub, req.namespace, intervalMs, ctx.signal)) {
        // Corrections and health transitions told before this listing come first: its events show what followed.
        for (const n of notices.take(tick.snap.time)) await send(n);
        previous = await sendEvents(tick, previous, send, budget);
      }
    } finally {
      notices.close();
    }
    throw ctx.signal.reason;
  };
}

/** Whether a correction's namespace (as its desired state names it) is `path`. */
function sameNamespace(hub: StatsHub, ns: string, path: string): boolean {
  try {
    return hub.namespaces.resolve(ns) === path;
  } catch {
    return false;
  }
}

/** One tick of WatchEvents: a resync or the events since `previous`; returns the listing it sent. */
async function sendEvents(
  { snap, skipped }: { snap: StatsSnapshot; skipped: number },
  previous: ServiceWithDestinations[] | undefined,
  send: (m: Encoded<api.WatchEventsResponse>) => Promise<void>,
  budget: number,
): Promise<ServiceWithDestinations[]> {
  const time = timestampFromDate(snap.time);
  let parts: Encoded<api.WatchEventsResponse>[] = [];
  if (!previous || skipped) {
    // First message, or the stream fell behind: the whole state, events count from it.
    parts = snapshotParts(snap.services, { time, resync: true, skippedTicks: skipped }, budget);
  } else {
    const events = diffState(previous, snap.services);
    if (events.length) parts = eventParts(events, { time }, budget);
  }
  for (const p of parts) await send(p);
  return snap.services;
}

export function watches({ o, streamBudget: budget }: Room): Rpcs<'watchStats' | 'watchEvents'> {
  return {
    watchEvents: serverStream('WatchEvents', o.watchers.limit('WatchEvents', watchEvents(o.hub, budget, o.desired)), o),
    watchStats: serverStream(
      'WatchStats',
      o.watchers.limit('WatchStats', watchStats(o.hub, budget)),
      o,
      (e) => `services[${e.index}]${fieldPath(e.subject, e.field, false).replace(/^service/, '')}`,
    ),
  };
}
