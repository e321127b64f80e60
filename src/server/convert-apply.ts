// Apply's messages and the core's: the desired state and scope in, the
// changes and their outcomes out, and the request field of a refused Apply.
import { create } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type * as pbModel from '../../gen/ts/ipvs/v1/model_pb.js';
import type { ApplyResult, BatchItemResult, Change, ChangeAction, DesiredService, Scope } from '../ipvs/index.js';
import { destinationIn, fieldPath, normalDestinationOut, normalServiceOut, serviceIn } from './convert.js';
import type { FieldPath } from './handler.js';
import { statusOfErrno } from './status.js';

/** "services[2].service.id.port", "scope.prefixes": the field of a refused Apply. */
export const applyPath: FieldPath<unknown> = (e) => {
  if (e.field === 'prefixes') return 'scope.prefixes';
  const inner =
    e.field === 'service'
      ? 'service'
      : e.field === 'destination'
        ? 'destinations'
        : fieldPath(e.subject, e.field, true);
  return e.index === undefined ? inner : `services[${e.index}].${inner}`;
};

/** The desired state of an Apply; every Apply converts all of it, so no spread and no path string per destination. */
export function desiredIn(list: pbModel.ServiceWithDestinations[]): DesiredService[] {
  return list.map((sw, i) => {
    const s: DesiredService = serviceIn(sw.service, `services[${i}].service`);
    // Elements of a repeated field are never unset: destinationIn's "required" cannot fail here.
    s.destinations = sw.destinations.map((d) => destinationIn(d));
    return s;
  });
}

export const scopeIn = (s: api.ApplyScope | undefined): Scope | undefined =>
  s ? { addresses: s.addresses, prefixes: s.prefixes, fwMarks: s.fwMarks } : undefined;

const ACTIONS: Record<ChangeAction, api.ChangeAction> = {
  createService: api.ChangeAction.CREATE_SERVICE,
  updateService: api.ChangeAction.UPDATE_SERVICE,
  deleteService: api.ChangeAction.DELETE_SERVICE,
  createDestination: api.ChangeAction.CREATE_DESTINATION,
  updateDestination: api.ChangeAction.UPDATE_DESTINATION,
  deleteDestination: api.ChangeAction.DELETE_DESTINATION,
  drainDestination: api.ChangeAction.DRAIN_DESTINATION,
};

/**
 * The changes of an Apply as the API reports them. A big Apply's report
 * costs more than its kernel work, so each service's message is built once
 * and shared by all its changes, and fields are set without create()'s walk.
 */
export function changesOut(
  changes: readonly Change[],
  results: readonly BatchItemResult[],
  failuresOnly = false,
): api.Change[] {
  const services = new Map<Change['service'], pbModel.Service>();
  const out: api.Change[] = [];
  changes.forEach((c, i) => {
    const r = results[i];
    const failed = r && !r.ok ? r.error : undefined;
    if (failuresOnly && !failed) return;
    let service = services.get(c.service);
    if (!service) services.set(c.service, (service = normalServiceOut(c.service)));
    const m = create(api.ChangeSchema);
    m.action = ACTIONS[c.action];
    m.service = service;
    if (c.destination) m.destination = normalDestinationOut(c.destination);
    m.description = c.description;
    if (failed) {
      m.code = statusOfErrno(failed.errno);
      m.errno = failed.errno;
      m.message = failed.message;
    }
    out.push(m);
  });
  return out;
}

/**
 * An Apply's answer: its changes (only the refused ones, with `failuresOnly`) and how many were applied and refused.
 */
export function applyOut(r: ApplyResult, failuresOnly: boolean): api.ApplyResponse {
  const failed = r.results.filter((x) => !x.ok).length;
  return create(api.ApplyResponseSchema, {
    changes: changesOut(r.changes, r.results, failuresOnly),
    applied: r.results.length - failed,
    failed,
  });
}
