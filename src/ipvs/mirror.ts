// A listing kept up to date in place, for pollers that list the same
// namespace every few seconds. Each refresh rewrites the objects of the last
// one and allocates only what changed. Fresh objects for every listing are
// what costs at 10,000 services: V8 sees them live long and tenures them
// (allocation-site pretenuring), so the old space fills and is collected
// every listing, and in user-mode Linux its pages fault in anew each time.
// The events of a refresh say what changed, as a diff of two listings
// would, counters aside.
import { formatHostPort } from '../inet/address.js';
import { destinationDifferences, serviceDifferences, type StateEvent } from './diff.js';
import type { Destination, Service, ServiceWithDestinations, Stats } from './model.js';
import { copyStats, NO_STATS } from './stats.js';
import { describeService } from './validate.js';

const sameService = (a: Service, b: Service) =>
  a.address === b.address &&
  a.port === b.port &&
  a.protocol === b.protocol &&
  a.fwMark === b.fwMark &&
  a.addressFamily === b.addressFamily;
const sameDestination = (a: Destination, b: Destination) =>
  a.address === b.address && a.port === b.port && a.addressFamily === b.addressFamily;

/** A copy of `o` that shares nothing with it (a decoder's scratch object, or what an event keeps of the old side). */
const copyOf = <T extends { stats: Stats }>(o: T): T => ({
  ...o,
  stats: o.stats === NO_STATS ? NO_STATS : { ...o.stats },
});

/** `to` takes `from`'s stats, keeping its own stats object. */
function takeStats(to: { stats: Stats }, from: { stats: Stats }): void {
  if (from.stats === NO_STATS) to.stats = NO_STATS;
  else if (to.stats === NO_STATS) to.stats = { ...from.stats };
  else copyStats(to.stats, from.stats);
}

// Field by field, not by a loop over names: a refresh rewrites 100,000 objects, and keyed access is several times
// slower in V8.
function takeService(to: Service, from: Service): void {
  to.schedName = from.schedName;
  to.flags = from.flags;
  to.timeout = from.timeout;
  to.netmask = from.netmask;
  to.peName = from.peName;
  takeStats(to, from);
}

function takeDestination(to: Destination, from: Destination): void {
  to.weight = from.weight;
  to.connectionFlags = from.connectionFlags;
  to.upperThreshold = from.upperThreshold;
  to.lowerThreshold = from.lowerThreshold;
  to.activeConnections = from.activeConnections;
  to.inactiveConnections = from.inactiveConnections;
  to.persistentConnections = from.persistentConnections;
  to.tunnelType = from.tunnelType;
  to.tunnelPort = from.tunnelPort;
  to.tunnelFlags = from.tunnelFlags;
  takeStats(to, from);
}

/**
 * Matches a new listing of some list against the objects of the last one:
 * by position first (the kernel lists in its hash table's order, which holds
 * from one listing to the next), by key when that fails. While every item
 * matches its place, the old array itself is kept.
 */
class Matcher<T extends F, F> {
  private old: T[] = [];
  private live: T[] = [];
  private n = 0;
  private byKey: Map<string, T> | undefined;

  constructor(
    private readonly same: (a: F, b: F) => boolean,
    private readonly key: (a: F) => string,
  ) {}

  begin(old: T[]): void {
    this.old = this.live = old;
    this.n = 0;
    this.byKey = undefined;
  }

  /** The old object that `fresh` (the next item listed) is, if any. */
  find(fresh: F): T | undefined {
    const at = this.old[this.n];
    if (at !== undefined && this.same(at, fresh)) return at;
    this.byKey ??= new Map(this.old.map((o) => [this.key(o), o]));
    if (this.live === this.old) this.live = this.old.slice(0, this.n);
    return this.byKey.get(this.key(fresh));
  }

  /** Places the next item of the new listing. */
  place(o: T): void {
    this.live[this.n++] = o;
  }

  /** The new listing, and the old objects it no longer holds. */
  end(removed: (o: T) => void): T[] {
    if (this.live === this.old && this.n !== this.old.length) this.live = this.old.slice(0, this.n);
    if (this.live !== this.old) {
      const kept = new Set(this.live);
      for (const o of this.old) if (!kept.has(o)) removed(o);
    }
    const live = this.live;
    this.old = this.live = [];
    this.byKey = undefined;
    return live;
  }
}

/**
 * The services of a namespace as last listed, the same objects from one
 * refresh to the next. A refresh is `service` for each service listed
 * (between `beginServices` and `endServices`), then, for each of them in
 * order, `destination` for each of its destinations (between
 * `beginDestinations` and `endDestinations`), then `finish`, which gives its
 * events. The objects handed in are copied from, never kept: a decoder may
 * reuse one. Read `services` between refreshes only: during one, some
 * objects hold the new listing and some the old. A mirror of services alone
 * ends its refreshes with `finishServices` instead; its services have no
 * destinations.
 */
export class Mirror {
  services: ServiceWithDestinations[] = [];
  private events: StateEvent[] = [];
  private removedServices: ServiceWithDestinations[] = [];
  /** Each service's own event of this refresh, told just before its destinations' events. */
  private serviceEvents: (StateEvent | undefined)[] = [];
  private readonly serviceMatch = new Matcher<ServiceWithDestinations, Service>(sameService, describeService);
  private readonly destinationMatch = new Matcher<Destination, Destination>(sameDestination, formatHostPort);
  private listed = 0;
  private current: ServiceWithDestinations | undefined;

  beginServices(): void {
    this.serviceMatch.begin(this.services);
    this.serviceEvents = [];
    this.events = [];
    this.removedServices = [];
  }

  service(fresh: Service): void {
    let o = this.serviceMatch.find(fresh);
    let event: StateEvent | undefined;
    if (!o) {
      o = { ...copyOf(fresh), destinations: [] };
      event = { kind: 'added', service: o };
    } else {
      if (serviceDifferences(fresh, o).length) event = { kind: 'updated', service: o, oldService: copyOf<Service>(o) };
      takeService(o, fresh);
    }
    this.serviceEvents.push(event);
    this.serviceMatch.place(o);
  }

  /** The services listed, whose destinations to list next, in this order. */
  endServices(): readonly ServiceWithDestinations[] {
    this.services = this.serviceMatch.end((o) => this.removedServices.push(o));
    this.listed = 0;
    return this.services;
  }

  beginDestinations(): void {
    const i = this.listed++;
    const s = this.services[i];
    if (!s) throw new Error(`destinations of service ${i}, of ${this.services.length}`);
    this.current = s;
    const e = this.serviceEvents[i];
    if (e) this.events.push(e);
    this.destinationMatch.begin(s.destinations);
  }

  destination(fresh: Destination): void {
    const s = this.current!;
    let o = this.destinationMatch.find(fresh);
    if (!o) {
      o = copyOf(fresh);
      this.events.push({ kind: 'added', service: s, destination: o });
    } else {
      if (destinationDifferences(fresh, o).length)
        this.events.push({ kind: 'updated', service: s, destination: o, oldDestination: copyOf(o) });
      takeDestination(o, fresh);
    }
    this.destinationMatch.place(o);
  }

  endDestinations(): void {
    const s = this.current!;
    s.destinations = this.destinationMatch.end((o) =>
      this.events.push({ kind: 'removed', service: s, destination: o }),
    );
    this.current = undefined;
  }

  /** Ends the refresh: what changed since the last one (the first one adds everything). */
  finish(): StateEvent[] {
    if (this.listed !== this.services.length)
      throw new Error(`a refresh ended after ${this.listed} of ${this.services.length} services' destinations`);
    return this.end();
  }

  /** Ends a refresh of services alone (after `endServices`): the services' own events. */
  finishServices(): StateEvent[] {
    for (const e of this.serviceEvents) if (e) this.events.push(e);
    return this.end();
  }

  private end(): StateEvent[] {
    for (const o of this.removedServices) this.events.push({ kind: 'removed', service: o });
    const events = this.events;
    this.events = [];
    this.removedServices = [];
    this.serviceEvents = [];
    return events;
  }
}
