// ListConnections' request filters to the core's, checked here: they are
// the request's own fields, not a model the core judges. (Entries go out
// through connection-wire.ts.)
import { status } from '@grpc/grpc-js';
import * as cpb from '../../gen/ts/ipvs/v1/connection_pb.js';
import { canonicalAddress, familyOf, type ConnectionFilter } from '../ipvs/index.js';
import { RpcError } from './status.js';

/** Most state names one request may filter by. */
export const MAX_STATES = 32;
const STATE = /^[A-Za-z0-9_!?]{1,16}$/;

const invalid = (field: string, why: string) => new RpcError(status.INVALID_ARGUMENT, `${field}: ${why}`, field);

function addressIn(address: string, field: string): string | undefined {
  if (!address) return undefined;
  const family = familyOf(address);
  if (!family) throw invalid(field, `${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  return canonicalAddress(family, address);
}

function portIn(port: number | undefined, field: string): number | undefined {
  if (port !== undefined && port > 0xffff) throw invalid(field, `${port} is not 0..65535`);
  return port;
}

export function connectionFilterIn(req: cpb.ListConnectionsRequest): ConnectionFilter {
  if (req.states.length > MAX_STATES) throw invalid('states', `${req.states.length} names, at most ${MAX_STATES}`);
  req.states.forEach((s, i) => {
    if (!STATE.test(s)) throw invalid(`states[${i}]`, `${JSON.stringify(s)} is not a state name`);
  });
  if (!(req.templates in { 0: 1, 1: 1, 2: 1 })) throw invalid('templates', `${req.templates} is not a TemplateFilter`);
  return {
    protocol: req.protocol || undefined,
    virtualAddress: addressIn(req.virtualAddress, 'virtual_address'),
    virtualPort: portIn(req.virtualPort, 'virtual_port'),
    destinationAddress: addressIn(req.destinationAddress, 'destination_address'),
    destinationPort: portIn(req.destinationPort, 'destination_port'),
    states: req.states.length ? new Set(req.states.map((s) => s.toUpperCase())) : undefined,
    templates:
      req.templates === cpb.TemplateFilter.EXCLUDE
        ? 'exclude'
        : req.templates === cpb.TemplateFilter.ONLY
          ? 'only'
          : undefined,
  };
}
