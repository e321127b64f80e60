// What every room of IpvsService (services, apply, desired, watch, system) is given:
// the options, each namespace's Handle, the response budget, and `u`.
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { IpvsService } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { DesiredRegistry } from '../desired/registry.js';
import type { Handle } from '../ipvs/index.js';
import type { Reply, ServiceImplementation } from '../rpc/definition.js';
import { idPath } from './convert.js';
import { unary, type FieldPath, type HandlerOptions, type UnaryFn } from './handler.js';
import type { Namespaces } from './namespaces.js';
import { HEADER_ROOM } from './parts.js';
import type { StatsHub } from './stats-hub.js';
import type { WatcherSlots } from './watchers.js';

/**
 * The most bytes of one WatchStats or WatchEvents part. grpc-js frames a copy of each message per stream and keeps it
 * until the client's flow-control window takes it, so a slow watcher costs one part: at 10,000 × 10 with 100 watchers
 * that a guest's one CPU cannot feed, 1 MiB parts took the server to 429 MB of RSS, 256 KiB ones to 336 MB.
 */
export const STREAM_PART_BYTES = 256 * 1024;

export interface IpvsServiceOptions extends HandlerOptions {
  namespaces: Namespaces;
  hub: StatsHub;
  /** Most operations one Batch may carry. */
  maxBatch: number;
  /** Largest response message (a part, a page), bytes. */
  maxResponseBytes: number;
  /** The desired states (--state-dir); without them the desired-state RPCs are UNIMPLEMENTED. */
  desired?: DesiredRegistry;
  /** WatchStats and WatchEvents streams open, and their most (--max-watchers). */
  watchers: WatcherSlots;
}

/** IpvsService's grpc-js handlers, typed from its descriptor. */
export type IpvsImplementation = ServiceImplementation<typeof IpvsService>;
/** The handlers of some of its RPCs: what a room implements. */
export type Rpcs<K extends keyof IpvsImplementation> = Pick<IpvsImplementation, K>;

export interface Room {
  o: IpvsServiceOptions;
  /** The Handle of a namespace, if it is allowed. */
  h(ns: string): Handle;
  /** What a part's entries may take; the rest of --max-response-bytes is the message's own fields. */
  budget: number;
  /** The same for the parts of a watch's tick: smaller, as each slow watcher holds one part framed for it. */
  streamBudget: number;
  /**
   * A unary handler (handler.ts) that ends by checking that its namespace outlived the call; `path` defaults to idPath.
   */
  u<Req extends { namespace: string }, Res>(
    method: string,
    fn: UnaryFn<Req, Res>,
    path?: FieldPath<Req>,
  ): handleUnaryCall<Req, Reply<Res>>;
}

export function room(o: IpvsServiceOptions): Room {
  return {
    o,
    h: (ns) => o.namespaces.handle(ns),
    budget: o.maxResponseBytes - HEADER_ROOM,
    streamBudget: Math.min(o.maxResponseBytes, STREAM_PART_BYTES) - HEADER_ROOM,
    u: (method, fn, path = idPath) =>
      unary(
        method,
        async (req, ctx) => {
          try {
            return await fn(req, ctx);
          } finally {
            o.namespaces.confirm(req.namespace);
          }
        },
        o,
        path,
      ),
  };
}
