// ListConnections: the connection table of a namespace (read by the core
// from the kernel's procfs listing, as it streams), filtered, a page at a
// time. A page ends before the entry that would pass page_size or the
// response budget, and its token says where in the kernel's listing that
// entry was; the request's filters are fingerprinted into the token.
import { create, toBinary } from '@bufbuild/protobuf';
import * as cpb from '../../gen/ts/ipvs/v1/connection_pb.js';
import { forwardingMethods, readConnections } from '../ipvs/index.js';
import { Encoded } from '../rpc/definition.js';
import { connectionFields } from './connection-wire.js';
import { connectionFilterIn } from './convert-connections.js';
import { decodeToken, encodeToken, fingerprint, pageSize } from './paging.js';
import { partMessage } from './parts.js';
import type { Room, Rpcs } from './room.js';
import { listTag, WireWriter } from './wire.js';

const CONNECTIONS_TAG = listTag(cpb.ListConnectionsResponseSchema, 'connections');

export function connections({ o, h, u, budget }: Room): Rpcs<'listConnections'> {
  return {
    listConnections: u('ListConnections', async (req: cpb.ListConnectionsRequest) => {
      const limit = pageSize(req.pageSize);
      const filter = connectionFilterIn(req);
      const print = fingerprint('ListConnections', req.namespace, {
        ...filter,
        states: [...(filter.states ?? [])].sort(),
      });
      const token = decodeToken(req.pageToken, print, (t) => Number.isSafeInteger(t.o) && (t.o as number) >= 0);
      const netns = o.namespaces.resolve(req.namespace);
      const methodOf = forwardingMethods(await h(req.namespace).getServicesWithDestinations({ counters: false }));
      const w = new WireWriter();
      let count = 0;
      const next = await readConnections(netns, (token?.o as number) ?? 0, filter, (c) => {
        if (count >= limit) return false;
        const start = w.pos;
        const at = w.open(CONNECTIONS_TAG);
        connectionFields(w, c, methodOf(c.destinationAddressFamily, c.destinationAddress, c.destinationPort));
        w.close(at);
        if (count > 0 && w.pos > budget) {
          w.pos = start;
          return false;
        }
        count++;
        return true;
      });
      const nextPageToken = next === undefined ? '' : encodeToken({ o: next }, print);
      const header = toBinary(
        cpb.ListConnectionsResponseSchema,
        create(cpb.ListConnectionsResponseSchema, { nextPageToken }),
      );
      return new Encoded<cpb.ListConnectionsResponse>(partMessage(w.buf.subarray(0, w.pos), header));
    }),
  };
}
