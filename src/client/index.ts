// The typed TypeScript client of ipvsd: one method per RPC, named as in
// the generated descriptor (listServices, createService, ...). Unary calls
// return Promises of the generated message types; streaming calls return
// AsyncIterables that end quietly when their AbortSignal fires. Every
// failure is an IpvsError with the gRPC code and, when the kernel refused,
// its errno.
//
// No gRPC message may pass 4 MiB, so the server sends big answers in parts
// and pages; this client hands them over whole. watchStats yields whole
// ticks, watchEvents whole resyncs and sets of events, applyWithProgress one
// whole result (the parts joined, see parts.ts), always with more = false.
// listAllServices, listAllDestinations, listAllDesiredStates, listAllDestinationHealth, listAllAddresses and
// listAllConnections follow the pages (pages.ts);
// listServices and listDestinations return one page. For the raw parts, call
// the underlying grpc-js client, `c.grpc`.
//
// Long streams and restarts: every channel has the default service config
// (the idempotent reads retry on UNAVAILABLE with backoff; no write ever
// does) and keepalive pings, see defaultChannelOptions; watchStats and
// watchEvents subscribe again when their stream breaks (resubscribe.ts).
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import {
  credentials as grpcCredentials,
  makeGenericClientConstructor,
  Metadata,
  status,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Address } from '../../gen/ts/ipvs/v1/address_pb.js';
import type { Connection } from '../../gen/ts/ipvs/v1/connection_pb.js';
import type { DestinationHealth } from '../../gen/ts/ipvs/v1/health_pb.js';
import { IpvsService, type DesiredState } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { Destination, ServiceWithDestinations } from '../../gen/ts/ipvs/v1/model_pb.js';
import { defaultServiceConfigJson } from '../../gen/ts/ipvs/v1/service_config.js';
import { grpcDefinition } from '../rpc/wire.js';
import { IpvsError } from './error.js';
import {
  listAllAddresses,
  listAllConnections,
  listAllDesiredStates,
  listAllDestinationHealth,
  listAllDestinations,
  listAllServices,
  type ListAllAddressesRequest,
  type ListAllConnectionsRequest,
  type ListAllDesiredStatesRequest,
  type ListAllDestinationHealthRequest,
  type ListAllDestinationsRequest,
  type ListAllServicesRequest,
} from './pages.js';
import { wholeStreams } from './parts.js';
import { resubscribing } from './resubscribe.js';

export * from '../../gen/ts/ipvs/v1/address_pb.js';
export * from '../../gen/ts/ipvs/v1/connection_pb.js';
export * from '../../gen/ts/ipvs/v1/health_pb.js';
export * from '../../gen/ts/ipvs/v1/ipvs_pb.js';
export * from '../../gen/ts/ipvs/v1/model_pb.js';
export * from '../../gen/ts/ipvs/v1/sysctl_pb.js';
export { defaultServiceConfig, defaultServiceConfigJson } from '../../gen/ts/ipvs/v1/service_config.js';
export { status } from '@grpc/grpc-js';
export { IpvsError } from './error.js';
export type {
  ListAllAddressesRequest,
  ListAllConnectionsRequest,
  ListAllDesiredStatesRequest,
  ListAllDestinationHealthRequest,
  ListAllDestinationsRequest,
  ListAllServicesRequest,
} from './pages.js';
export { resubscribeBackoff, type Backoff } from './resubscribe.js';

export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds from now, or a Date (for a watch, from its first subscription). */
  deadline?: number | Date;
  /**
   * watchStats and watchEvents only: subscribe again when the stream breaks
   * with UNAVAILABLE after having delivered (resubscribeBackoff). Default:
   * the client's ConnectOptions.resubscribe, true unless set.
   */
  resubscribe?: boolean;
}

type Methods = typeof IpvsService.method;
type In<K extends keyof Methods> = Methods[K]['input'] & DescMessage;
type Out<K extends keyof Methods> = Methods[K]['output'] & DescMessage;
type KeysOf<Kind> = { [K in keyof Methods]: Methods[K]['methodKind'] extends Kind ? K : never }[keyof Methods];

export type IpvsClient = {
  [K in KeysOf<'unary'>]: (req?: MessageInitShape<In<K>>, opts?: CallOptions) => Promise<MessageShape<Out<K>>>;
} & {
  /**
   * Whole messages until `opts.signal` aborts (then the iteration just ends)
   * or the server ends the stream; watchStats and watchEvents outlive a
   * server restart (`opts.resubscribe`).
   */
  [K in KeysOf<'server_streaming'>]: (
    req?: MessageInitShape<In<K>>,
    opts?: CallOptions,
  ) => AsyncIterable<MessageShape<Out<K>>>;
} & {
  /**
   * Every service over all pages of ListServices, one item per service even
   * when a page boundary split its destinations. An abort or a failed page
   * throws, so a listing that ends is always whole.
   */
  listAllServices(req?: ListAllServicesRequest, opts?: CallOptions): AsyncIterable<ServiceWithDestinations>;
  /** Every destination of a service over all pages of ListDestinations; fails as listAllServices does. */
  listAllDestinations(req?: ListAllDestinationsRequest, opts?: CallOptions): AsyncIterable<Destination>;
  /**
   * Every desired state over all pages of ListDesiredStates, one item each even when a page boundary split its
   * services (view FULL); fails as listAllServices does.
   */
  listAllDesiredStates(req?: ListAllDesiredStatesRequest, opts?: CallOptions): AsyncIterable<DesiredState>;
  /** The health of every checked destination of a desired state, over all pages of ListDestinationHealth. */
  listAllDestinationHealth(req: ListAllDestinationHealthRequest, opts?: CallOptions): AsyncIterable<DestinationHealth>;
  /** Every address of a namespace (or of one interface) over all pages of ListAddresses. */
  listAllAddresses(req?: ListAllAddressesRequest, opts?: CallOptions): AsyncIterable<Address>;
  /**
   * Every entry of the connection table that matches the request's filters, over all pages of ListConnections, in
   * the kernel's order; fails as listAllServices does. Entries that come or expire while it lists may shift across a
   * page boundary (seen twice, or not at all): the table is live.
   */
  listAllConnections(req?: ListAllConnectionsRequest, opts?: CallOptions): AsyncIterable<Connection>;
  /** The underlying grpc-js client (for waitForReady, channel state, and a stream's raw parts). */
  readonly grpc: Client;
  close(): void;
};

export interface ConnectOptions {
  /** Default: plain text (loopback and unix sockets). */
  credentials?: ChannelCredentials;
  /** grpc-js channel options, over defaultChannelOptions (a key set here wins; `'grpc.service_config': '{}'` turns retries off). */
  channelOptions?: ChannelOptions;
  /** Whether watchStats and watchEvents subscribe again after a broken stream (default true); a call's option wins. */
  resubscribe?: boolean;
}

/**
 * Every channel's defaults. The service config retries only the idempotent
 * reads (ListServices, GetService, ListDestinations, ListDaemons, GetConfig,
 * GetInfo, GetDesiredState, ListDesiredStates) on UNAVAILABLE: 5 attempts,
 * backoff from 0.2 s doubling to at most 5 s; no write is ever retried.
 * Keepalive: a ping after 60 s without activity on a connection with calls
 * open (an idle WatchStats through a NAT or load balancer), the connection
 * closed if no answer comes in 20 s, and no pings without calls (the server
 * permits one every 30 s at most, and only with calls open).
 */
export const defaultChannelOptions: Readonly<ChannelOptions> = {
  'grpc.service_config': defaultServiceConfigJson,
  'grpc.enable_retries': 1,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 0,
};

/** The methods that only read a stream, and so may subscribe again. */
const WATCHES: ReadonlySet<string> = new Set(['watchStats', 'watchEvents']);

const GrpcClient = makeGenericClientConstructor(grpcDefinition(IpvsService), IpvsService.name);

function grpcOptions(o?: CallOptions): GrpcCallOptions {
  if (o?.deadline === undefined) return {};
  return { deadline: typeof o.deadline === 'number' ? Date.now() + o.deadline : o.deadline };
}

type Stream = (req?: MessageInitShape<DescMessage>, o?: CallOptions) => AsyncIterable<unknown>;
const whole = wholeStreams as Record<
  string,
  ((s: AsyncIterable<unknown>, signal?: AbortSignal) => AsyncIterable<unknown>) | undefined
>;

/** Connects to ipvsd at `address`: "127.0.0.1:50051", "unix:/run/ipvsd.sock". */
export function connectIpvs(address: string, opts: ConnectOptions = {}): IpvsClient {
  const raw = new GrpcClient(address, opts.credentials ?? grpcCredentials.createInsecure(), {
    ...defaultChannelOptions,
    ...opts.channelOptions,
  }) as unknown as Record<string, (...args: unknown[]) => unknown> & Client;
  const out: Record<string, unknown> = { grpc: raw, close: () => raw.close() };
  for (const m of IpvsService.methods) {
    const call = raw[m.localName]!.bind(raw);
    if (m.methodKind === 'unary') {
      out[m.localName] = (req: MessageInitShape<DescMessage> = {}, o?: CallOptions) =>
        new Promise((resolve, reject) => {
          if (o?.signal?.aborted) {
            reject(new IpvsError({ code: status.CANCELLED, details: 'aborted before the call' }));
            return;
          }
          const c = call(
            create(m.input, req),
            new Metadata(),
            grpcOptions(o),
            (err: ServiceError | null, res: unknown) => {
              o?.signal?.removeEventListener('abort', cancel);
              if (err) reject(new IpvsError(err));
              else resolve(res);
            },
          ) as { cancel(): void };
          const cancel = () => c.cancel();
          o?.signal?.addEventListener('abort', cancel, { once: true });
        });
    } else if (m.methodKind === 'server_streaming') {
      const parts: Stream = (req = {}, o) => ({
        async *[Symbol.asyncIterator]() {
          const stream = call(create(m.input, req), new Metadata(), grpcOptions(o)) as ClientReadableStream<unknown>;
          const cancel = () => stream.cancel();
          o?.signal?.addEventListener('abort', cancel, { once: true });
          try {
            for await (const msg of stream) yield msg;
          } catch (e) {
            const err = e as ServiceError;
            // Our own abort ends the iteration quietly; anything else is the server's status.
            if (err.code === status.CANCELLED && o?.signal?.aborted) return;
            throw new IpvsError(err);
          } finally {
            o?.signal?.removeEventListener('abort', cancel);
            stream.cancel();
          }
        },
      });
      const join = whole[m.localName];
      const once: Stream = !join ? parts : (req, o) => join(parts(req, o), o?.signal);
      const again = (o?: CallOptions) => WATCHES.has(m.localName) && (o?.resubscribe ?? opts.resubscribe ?? true);
      // Iterables, so that each iteration calls afresh.
      out[m.localName] = ((req, o) => ({
        [Symbol.asyncIterator]: () =>
          (again(o) ? resubscribing((oo) => once(req, oo), o ?? {}) : once(req, o))[Symbol.asyncIterator](),
      })) satisfies Stream;
    }
  }
  const c = out as IpvsClient;
  // Iterables, not generators, so that each iteration lists afresh, as each iteration of a stream calls afresh.
  c.listAllServices = (req = {}, o = {}) => ({ [Symbol.asyncIterator]: () => listAllServices(c.listServices, req, o) });
  c.listAllDestinations = (req = {}, o = {}) => ({
    [Symbol.asyncIterator]: () => listAllDestinations(c.listDestinations, req, o),
  });
  c.listAllDesiredStates = (req = {}, o = {}) => ({
    [Symbol.asyncIterator]: () => listAllDesiredStates(c.listDesiredStates, req, o),
  });
  c.listAllDestinationHealth = (req, o = {}) => ({
    [Symbol.asyncIterator]: () => listAllDestinationHealth(c.listDestinationHealth, req, o),
  });
  c.listAllAddresses = (req = {}, o = {}) => ({
    [Symbol.asyncIterator]: () => listAllAddresses(c.listAddresses, req, o),
  });
  c.listAllConnections = (req = {}, o = {}) => ({
    [Symbol.asyncIterator]: () => listAllConnections(c.listConnections, req, o),
  });
  return c;
}
