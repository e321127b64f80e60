// The address RPCs: ListAddresses (a namespace's local addresses, a page at
// a time, cut under --max-response-bytes), CreateAddress and DeleteAddress,
// translating to src/addresses. The namespace is resolved as every RPC's,
// and a socket opened inside it for the call.
import { create, toBinary } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/address_pb.js';
import { addAddress, deleteAddress, listAddresses } from '../addresses/addresses.js';
import { Encoded } from '../rpc/definition.js';
import { addressOrderKey, addressOut } from './convert-address.js';
import { decodePageToken, encodePageToken, fingerprint, pageSize } from './paging.js';
import type { Room, Rpcs } from './room.js';

/** Bytes an entry of the list takes beyond its own: its tag and length. */
const ENTRY_ROOM = 4;

export function addresses({ o, u, budget }: Room): Rpcs<'listAddresses' | 'createAddress' | 'deleteAddress'> {
  const path = (ns: string) => o.namespaces.resolve(ns);
  return {
    listAddresses: u('ListAddresses', async (req: api.ListAddressesRequest) => {
      const most = pageSize(req.pageSize);
      const print = fingerprint(req.namespace, req.interface, req.pageSize);
      const token = decodePageToken(req.pageToken, print);
      const all = listAddresses(path(req.namespace), req.interface || undefined)
        .map((a) => ({ a, k: addressOrderKey(a) }))
        .filter((e) => !token || e.k > token.after)
        .sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
      const page: api.Address[] = [];
      let bytes = 0;
      let last = '';
      for (const { a, k } of all) {
        const m = addressOut(a);
        const size = toBinary(api.AddressSchema, m).length + ENTRY_ROOM;
        if (page.length === most || (page.length && bytes + size > budget)) break;
        page.push(m);
        bytes += size;
        last = k;
      }
      const more = page.length < all.length;
      const res = create(api.ListAddressesResponseSchema, {
        addresses: page,
        nextPageToken: more ? encodePageToken({ after: last }, print) : '',
      });
      return new Encoded<api.ListAddressesResponse>(Buffer.from(toBinary(api.ListAddressesResponseSchema, res)));
    }),
    createAddress: u('CreateAddress', async (req: api.CreateAddressRequest) => {
      const a = addAddress(
        path(req.namespace),
        { interface: req.interface, address: req.address, prefixLength: req.prefixLength },
        { createInterface: req.createInterface, validateOnly: req.validateOnly },
      );
      return create(api.CreateAddressResponseSchema, { address: addressOut(a) });
    }),
    deleteAddress: u('DeleteAddress', async (req: api.DeleteAddressRequest) => {
      const deleted = deleteAddress(
        path(req.namespace),
        { interface: req.interface, address: req.address, prefixLength: req.prefixLength },
        { allowMissing: req.allowMissing },
      );
      return create(api.DeleteAddressResponseSchema, { deleted });
    }),
  };
}
