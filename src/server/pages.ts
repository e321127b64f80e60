// ListServices and ListDestinations a page at a time (AIP-158): each page
// as big as page_size and the server's --max-response-bytes allow, in page
// order (src/server/paging.ts). A page lists the namespace's services (one
// dump, no destinations, into the same objects as the page before) and dumps
// destinations only for the services it holds, writing each as it comes, so
// following every page costs about one listing and keeps no listing's
// objects.
import { create, toBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import {
  Mirror,
  serviceWithDestinations,
  type Destination,
  type Handle,
  type Service,
  type ServiceId,
  type ServiceWithDestinations,
  type StateEvent,
} from '../ipvs/index.js';
import { Encoded } from '../rpc/definition.js';
import {
  decodePageToken,
  destinationOrderKey,
  encodePageToken,
  fingerprint,
  inPageOrder,
  pageSize,
  serviceOrderKey,
  type PageToken,
} from './paging.js';
import { cutServices, partMessage, ServiceCutter } from './parts.js';
import { RpcError } from './status.js';
import { destinationFields, listTag, WireWriter, WITH_DESTINATIONS_SHAPE } from './wire.js';

const SERVICES_TAG = listTag(api.ListServicesResponseSchema, 'services');
const DESTINATIONS_TAG = listTag(api.ListDestinationsResponseSchema, 'destinations');
/** Services whose destinations are dumped per round while a page fills. */
const FETCH = 256;
/** The most bytes one destination takes on the wire (an IPv6 address, every counter at 2^53): 188. */
const MAX_DESTINATION_BYTES = 200;
/** The most a service's own fields take (with counters), with room to spare. */
const MAX_SERVICE_BYTES = 1024;

/** Destinations in page order, where a service may be too big for one page (or resumes one) and so goes by key. */
function ordered(
  s: ServiceWithDestinations,
  budget: number,
  resumes: boolean,
): { s: ServiceWithDestinations; keys?: string[] } {
  // Smaller than that, it always fits in a page of its own, so it is never split.
  if (!resumes && MAX_SERVICE_BYTES + s.destinations.length * MAX_DESTINATION_BYTES <= budget) return { s };
  const sorted = inPageOrder(s.destinations, destinationOrderKey);
  return {
    s: serviceWithDestinations(
      s,
      sorted.map((x) => x.item),
    ),
    keys: sorted.map((x) => x.key),
  };
}

/** Index of the first key after `after` (or at it, with `inclusive`), in sorted `keys`. */
function firstAfter(keys: readonly string[], after: string, inclusive = false): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < after || (!inclusive && keys[mid] === after)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const page = <T>(
  body: Buffer,
  nextPageToken: string,
  schema: typeof api.ListServicesResponseSchema | typeof api.ListDestinationsResponseSchema,
) => new Encoded<T>(partMessage(body, toBinary(schema, create(schema, { nextPageToken }))));

/**
 * A namespace's services as its pages last listed them (a mirror of services alone: the same objects from page to
 * page) and their page order, sorted again only when a service comes or goes.
 */
interface PageOrder {
  mirror: Mirror;
  order?: { sorted: { item: Service; key: string }[]; keys: string[] };
}
const pageOrders = new WeakMap<Handle, PageOrder>();

/** Every service of the namespace, listed now, in page order. */
async function servicesInPageOrder(handle: Handle): Promise<Required<PageOrder>['order']> {
  let o = pageOrders.get(handle);
  if (!o) pageOrders.set(handle, (o = { mirror: new Mirror() }));
  let events: StateEvent[];
  try {
    events = await handle.refreshServices(o.mirror);
  } catch (e) {
    // A refresh cut short leaves the mirror half rewritten: the next page starts a new one.
    pageOrders.delete(handle);
    throw e;
  }
  if (!o.order || events.some((e) => e.kind !== 'updated')) {
    const sorted = inPageOrder<Service>(o.mirror.services, serviceOrderKey);
    o.order = { sorted, keys: sorted.map((x) => x.key) };
  }
  return o.order;
}

export async function listServicesPage(
  handle: Handle,
  req: api.ListServicesRequest,
  budget: number,
): Promise<Encoded<api.ListServicesResponse>> {
  const limit = pageSize(req.pageSize);
  const print = fingerprint('ListServices', req.namespace, req.includeDestinations);
  const token = decodePageToken(req.pageToken, print);
  const { sorted: services, keys } = await servicesInPageOrder(handle);
  // A token split inside a service resumes at that service; else after the last one listed.
  const first = token ? firstAfter(keys, token.after, token.afterDestination !== undefined) : 0;
  const cutter = new ServiceCutter({
    budget,
    listTag: SERVICES_TAG,
    shape: WITH_DESTINATIONS_SHAPE,
    maxParts: 1,
    maxEntries: limit,
  });
  const pushed: Pushed[] = [];
  let more = true;
  // Each service is written as soon as its destinations are listed: they are the listing's own reused objects.
  const push = (key: string, s: ServiceWithDestinations) => {
    const resumes = token?.afterDestination !== undefined && key === token.after;
    const o = ordered(s, budget, resumes);
    pushed.push({ key, keys: o.keys });
    more = cutter.push(o.s, resumes ? firstAfter(o.keys!, token!.afterDestination!) : 0);
  };
  for (let i = first; i < services.length && more; ) {
    // One more than page_size leaves: pushing it is what ends the page.
    const chunk = services.slice(i, i + Math.min(FETCH, limit - pushed.length + 1)).map((x) => x.item);
    const from = i;
    if (req.includeDestinations)
      await handle.eachDestinations(chunk, (k, dests) => {
        if (more) push(keys[from + k]!, serviceWithDestinations(chunk[k]!, dests as Destination[]));
      });
    else for (let k = 0; k < chunk.length && more; k++) push(keys[from + k]!, serviceWithDestinations(chunk[k]!, []));
    i += chunk.length;
  }
  const [part] = cutter.finish();
  return page(part!.body, nextToken(pushed, part!.next, print), api.ListServicesResponseSchema);
}

/** What a page keeps of each service it wrote: its key, and its destinations' keys when it may be split. */
interface Pushed {
  key: string;
  keys?: string[];
}

/** The token of the page after one that ended before `next`; '' when it was the last. */
function nextToken(pushed: readonly Pushed[], next: { service: number; destination: number }, print: string): string {
  if (next.service >= pushed.length) return '';
  const t: PageToken =
    next.destination > 0
      ? { after: pushed[next.service]!.key, afterDestination: pushed[next.service]!.keys![next.destination - 1]! }
      : { after: pushed[next.service - 1]!.key };
  return encodePageToken(t, print);
}

export async function listDestinationsPage(
  handle: Handle,
  req: api.ListDestinationsRequest,
  service: ServiceId,
  budget: number,
): Promise<Encoded<api.ListDestinationsResponse>> {
  const limit = pageSize(req.pageSize);
  const print = fingerprint('ListDestinations', req.namespace, service);
  const token = decodePageToken(req.pageToken, print);
  const dests = inPageOrder<Destination>(await handle.getDestinations(service), destinationOrderKey);
  const w = new WireWriter();
  let i = token
    ? firstAfter(
        dests.map((x) => x.key),
        token.after,
      )
    : 0;
  for (let n = 0; i < dests.length && n < limit; i++, n++) {
    const start = w.pos;
    const at = w.open(DESTINATIONS_TAG);
    destinationFields(w, dests[i]!.item);
    w.close(at);
    if (w.pos > budget && n > 0) {
      w.pos = start;
      break;
    }
  }
  const next = i < dests.length ? encodePageToken({ after: dests[i - 1]!.key }, print) : '';
  return page(w.buf.subarray(0, w.pos), next, api.ListDestinationsResponseSchema);
}

const SERVICE_TAG = listTag(api.GetServiceResponseSchema, 'service');

/**
 * GetService's answer; a service with more destinations than one message holds is refused, pointing to
 * ListDestinations.
 */
export function serviceReply(s: ServiceWithDestinations, budget: number): Encoded<api.GetServiceResponse> {
  const parts = cutServices([s], { budget, listTag: SERVICE_TAG, shape: WITH_DESTINATIONS_SHAPE, maxParts: 2 });
  if (parts.length > 1) {
    throw new RpcError(
      status.RESOURCE_EXHAUSTED,
      `${s.destinations.length} destinations do not fit in one message (--max-response-bytes); list them with ListDestinations, which pages`,
      'include_destinations',
    );
  }
  return new Encoded(parts[0]!.body);
}
