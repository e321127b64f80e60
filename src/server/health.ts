// The health RPC: ListDestinationHealth, a desired state's checked
// destinations a page at a time, in a stable order (service, then
// destination, as ListServices orders them), resuming after the last one
// of the previous page even if it is no longer checked.
import { create, toBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { Checked } from '../health/monitor.js';
import { Encoded } from '../rpc/definition.js';
import { destinationHealthOut } from './convert-health.js';
import { unary } from './handler.js';
import { decodePageToken, destinationOrderKey, encodePageToken, fingerprint, serviceOrderKey } from './paging.js';
import type { Room, Rpcs } from './room.js';
import { RpcError } from './status.js';

export const DEFAULT_PAGE = 1000;
export const MAX_PAGE = 10_000;

const keysOf = (c: Checked) => [serviceOrderKey(c.serviceId), destinationOrderKey(c.real)] as const;
const before = (a: readonly [string, string], b: readonly [string, string]) =>
  a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

export function health({ o }: Room): Rpcs<'listDestinationHealth'> {
  return {
    listDestinationHealth: unary(
      'ListDestinationHealth',
      async (req: api.ListDestinationHealthRequest) => {
        if (req.pageSize < 0 || req.pageSize > MAX_PAGE)
          throw new RpcError(status.INVALID_ARGUMENT, `page_size: ${req.pageSize} is not 0..${MAX_PAGE}`, 'page_size');
        const held = o.desired?.get(req.parent);
        if (!held) throw new RpcError(status.NOT_FOUND, `${req.parent || 'parent'}: no such desired state`, 'parent');
        const print = fingerprint(req.parent, req.pageSize);
        const token = decodePageToken(req.pageToken, print);
        const after = token && ([token.after, token.afterDestination ?? ''] as const);
        const all = (held.health?.list() ?? [])
          .map((c) => ({ c, k: keysOf(c) }))
          .filter((e) => !after || before(after, e.k))
          .sort((a, b) => (before(a.k, b.k) ? -1 : before(b.k, a.k) ? 1 : 0));
        const page = all.slice(0, req.pageSize || DEFAULT_PAGE);
        const last = page.length < all.length ? page.at(-1) : undefined;
        const m = create(api.ListDestinationHealthResponseSchema, {
          destinations: page.map((e) => destinationHealthOut(e.c)),
          nextPageToken: last ? encodePageToken({ after: last.k[0], afterDestination: last.k[1] }, print) : '',
        });
        return new Encoded<api.ListDestinationHealthResponse>(
          Buffer.from(toBinary(api.ListDestinationHealthResponseSchema, m)),
        );
      },
      o,
    ),
  };
}
