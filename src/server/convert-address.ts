// Addresses between the API's messages and the addresses room of the core.
import { create } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/address_pb.js';
import type { Address } from '../addresses/addresses.js';
import { addressBytes } from '../inet/address.js';

export function addressOut(a: Address): api.Address {
  return create(api.AddressSchema, {
    interface: a.interface,
    interfaceIndex: a.index,
    addressFamily: a.family,
    address: a.address,
    prefixLength: a.prefixLength,
    scope: a.scope,
    flags: a.flags,
    label: a.label,
    peer: a.peer,
    broadcast: a.broadcast,
  });
}

const hex = (v: number, digits: number) => v.toString(16).padStart(digits, '0');

/** An address's place in ListAddresses' order: interface index, family, address bytes, prefix length. */
export const addressOrderKey = (a: Address) =>
  `${hex(a.index, 8)}${hex(a.family, 2)}${addressBytes(a.family, a.address).toString('hex')}${hex(a.prefixLength, 2)}`;
