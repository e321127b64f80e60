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

/** The bodies of a resync's parts: the whole state. */
const snapshotBodies = (services: readonly ServiceWithDestinations[], budget: number): Buffer[] =>
  cutServices(services, { budget, listTag: SNAPSHOT_TAG, shape: WITH_DESTINATIONS_SHAPE }).map((p) => p.body);

/** The bodies of a tick's events' parts (none when nothing changed). */
const eventBodies = (events: readonly StateEvent[], budget: number): Buffer[][] =>
  events.length
    ? packItems(
        fieldItems(
          EVENTS_TAG,
          events.map((e) => toBinary(api.EventSchema, eventOut(e))),
        ),
        budget,
      )
    : [];

/** What a tick's value is, made once however many watchers take it (the snapshot is read only when told). */
function once<K extends object, V>(made: WeakMap<K, V>, key: K, make: () => V): V {
  let v = made.get(key);
  if (v === undefined) made.set(key, (v = make()));
  return v;
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
    const take = (snap: StatsSnapshot) =>
      wanted
        ? statsParts(snap, intervalMs, budget, wanted)
        : once(shared, snap, () => statsParts(snap, intervalMs, budget));
    for await (const { value: parts } of follow(hub, req.namespace, intervalMs, ctx.signal, take))
      for (const p of parts) await send(p);
    throw ctx.signal.reason;
  };
}

/** A tick as one WatchEvents watcher takes it: a resync, or the events since the tick it took before. */
interface EventsTick {
  time: Date;
  resync: boolean;
  bodies: readonly (Buffer | Buffer[])[];
}

export function watchEvents(
  hub: StatsHub,
  budget: number,
  desired?: DesiredRegistry,
): StreamFn<api.WatchEventsRequest, api.WatchEventsResponse> {
  // Every watcher of a poller takes the same resync or events of a tick.
  const resyncs = new WeakMap<StatsSnapshot, Buffer[]>();
  const changes = new WeakMap<StatsSnapshot, Buffer[][]>();
  return async (req, send, ctx) => {
    const intervalMs = intervalOf(req.interval, req.allowFast);
    const ns = hub.namespaces.resolve(req.namespace);
    const notices = new NoticeQueue(desired, (other) => sameNamespace(hub, other, ns));
    let first = true;
    // The first tick, or one that replaces a tick never sent (the stream fell behind): the whole state, events
    // count from it. Otherwise the events since the tick before, which this watcher took.
    const take = (snap: StatsSnapshot, replacing: boolean): EventsTick => {
      const resync = first || replacing;
      first = false;
      return {
        time: snap.time,
        resync,
        bodies: resync
          ? once(resyncs, snap, () => snapshotBodies(snap.services, budget))
          : once(changes, snap, () => eventBodies(snap.events, budget)),
      };
    };
    try {
      for await (const { value: tick, skipped } of follow(hub, req.namespace, intervalMs, ctx.signal, take)) {
        // Corrections and health transitions told before this listing come first: its events show what followed.
        for (const n of notices.take(tick.time)) await send(n);
        const header: EventsHeader = tick.resync
          ? { time: timestampFromDate(tick.time), resync: true, skippedTicks: skipped }
          : { time: timestampFromDate(tick.time) };
        for (let i = 0; i < tick.bodies.length; i++)
          await send(new Encoded(partMessage(tick.bodies[i]!, eventsHeader(header, i < tick.bodies.length - 1))));
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
