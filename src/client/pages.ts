// Listings over every page: ListServices, ListDestinations, ListDesiredStates, ListDestinationHealth,
// ListAddresses and ListConnections answer a page at a time (each under the server's --max-response-bytes, as no gRPC
// message may pass 4 MiB); these follow next_page_token to the last page.
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Address, ListAddressesRequestSchema, ListAddressesResponse } from '../../gen/ts/ipvs/v1/address_pb.js';
import type {
  Connection,
  ListConnectionsRequestSchema,
  ListConnectionsResponse,
} from '../../gen/ts/ipvs/v1/connection_pb.js';
import type { DestinationHealth } from '../../gen/ts/ipvs/v1/health_pb.js';
import type {
  DesiredState,
  ListDesiredStatesRequestSchema,
  ListDesiredStatesResponse,
  ListDestinationHealthRequestSchema,
  ListDestinationHealthResponse,
  ListDestinationsRequestSchema,
  ListDestinationsResponse,
  ListServicesRequestSchema,
  ListServicesResponse,
} from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { Destination, ServiceWithDestinations } from '../../gen/ts/ipvs/v1/model_pb.js';
import type { CallOptions } from './index.js';
import { serviceOfListing, ServiceJoin } from './parts.js';

/** Omit over each member of a union (a message, or its init shape). */
type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A ListServices request for every page: the page tokens are the listing's own business. */
export type ListAllServicesRequest = Without<MessageInitShape<typeof ListServicesRequestSchema>, 'pageToken'>;
export type ListAllDestinationsRequest = Without<MessageInitShape<typeof ListDestinationsRequestSchema>, 'pageToken'>;
export type ListAllDestinationHealthRequest = Without<
  MessageInitShape<typeof ListDestinationHealthRequestSchema>,
  'pageToken'
>;
export type ListAllConnectionsRequest = Without<MessageInitShape<typeof ListConnectionsRequestSchema>, 'pageToken'>;
export type ListAllDesiredStatesRequest = Without<MessageInitShape<typeof ListDesiredStatesRequestSchema>, 'pageToken'>;
export type ListAllAddressesRequest = Without<MessageInitShape<typeof ListAddressesRequestSchema>, 'pageToken'>;

type Page = { nextPageToken: string };
type Lister<Req, Res> = (req: Req & { pageToken: string }, opts: CallOptions) => Promise<Res>;

/**
 * Every page of a listing. A deadline in milliseconds counts from the start
 * of the listing, not of each page. An abort rejects the next page as a
 * unary call does: a listing that ends quietly is always whole.
 */
async function* pages<Req, Res extends Page>(list: Lister<Req, Res>, req: Req, opts: CallOptions): AsyncGenerator<Res> {
  const o = {
    ...opts,
    deadline: typeof opts.deadline === 'number' ? new Date(Date.now() + opts.deadline) : opts.deadline,
  };
  let pageToken = '';
  do {
    const page = await list({ ...req, pageToken }, o);
    yield page;
    pageToken = page.nextPageToken;
  } while (pageToken);
}

/** Each service once, with all its destinations, even when a page boundary split them. */
export async function* listAllServices(
  list: Lister<ListAllServicesRequest, ListServicesResponse>,
  req: ListAllServicesRequest,
  opts: CallOptions,
): AsyncGenerator<ServiceWithDestinations> {
  const join = new ServiceJoin(serviceOfListing);
  for await (const page of pages(list, req, opts)) {
    join.add(page.services);
    yield* join.take(true); // the last may continue on the next page
  }
  yield* join.take();
}

/** Each destination of one service. */
export async function* listAllDestinations(
  list: Lister<ListAllDestinationsRequest, ListDestinationsResponse>,
  req: ListAllDestinationsRequest,
  opts: CallOptions,
): AsyncGenerator<Destination> {
  for await (const page of pages(list, req, opts)) yield* page.destinations;
}

/**
 * Each desired state once: with DESIRED_STATE_VIEW_FULL, one continued on the next page gets the rest of its
 * services and health checks.
 */
export async function* listAllDesiredStates(
  list: Lister<ListAllDesiredStatesRequest, ListDesiredStatesResponse>,
  req: ListAllDesiredStatesRequest,
  opts: CallOptions,
): AsyncGenerator<DesiredState> {
  let last: DesiredState | undefined;
  for await (const page of pages(list, req, opts)) {
    for (const s of page.desiredStates) {
      if (last?.name === s.name) {
        last.services.push(...s.services);
        last.health.push(...s.health);
        continue;
      }
      if (last) yield last;
      last = s;
    }
  }
  if (last) yield last;
}

/** Each checked destination of a desired state, over every page. */
export async function* listAllDestinationHealth(
  list: Lister<ListAllDestinationHealthRequest, ListDestinationHealthResponse>,
  req: ListAllDestinationHealthRequest,
  opts: CallOptions,
): AsyncGenerator<DestinationHealth> {
  for await (const page of pages(list, req, opts)) yield* page.destinations;
}

/** Each address of a namespace (or of one interface), over every page. */
export async function* listAllAddresses(
  list: Lister<ListAllAddressesRequest, ListAddressesResponse>,
  req: ListAllAddressesRequest,
  opts: CallOptions,
): AsyncGenerator<Address> {
  for await (const page of pages(list, req, opts)) yield* page.addresses;
}

/** Each entry of the connection table that matches the request's filters, over every page. */
export async function* listAllConnections(
  list: Lister<ListAllConnectionsRequest, ListConnectionsResponse>,
  req: ListAllConnectionsRequest,
  opts: CallOptions,
): AsyncGenerator<Connection> {
  for await (const page of pages(list, req, opts)) yield* page.connections;
}
