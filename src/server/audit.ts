// The audit trail, in the manner of gRFC A59: one pino line ("audit") per
// write RPC and per denied call; reads too with --audit-reads (or a policy
// whose audit_logging_options ask for allowed calls). A line names who
// (principal, peer address), what (method, namespace), the decision and the
// rule behind it, the outcome, and for writes what changed: the objects by
// their identity and the counts, never a request body.
import type * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { DaemonState, type Destination, type Service, type ServiceId } from '../../gen/ts/ipvs/v1/model_pb.js';
import { serviceKey } from '../ipvs/index.js';
import { serviceIdIn, serviceIn } from './convert.js';

/** IpvsService's RPCs that change something (a dry run included: it is asked for as a write). */
export const WRITES = new Set([
  'CreateService',
  'UpdateService',
  'DeleteService',
  'Flush',
  'CreateDestination',
  'UpdateDestination',
  'DeleteDestination',
  'Batch',
  'Apply',
  'ApplyWithProgress',
  'UpsertService',
  'UpsertDestination',
  'SetConfig',
  'ZeroCounters',
  'StartDaemon',
  'StopDaemon',
  'PutDesiredState',
  'DeleteDesiredState',
]);

/** A service's name ("TCP 192.0.2.1:80"), or undefined when the request does not name one validly. */
function named(f: () => Parameters<typeof serviceKey>[0]): string | undefined {
  try {
    return serviceKey(f());
  } catch {
    return undefined;
  }
}

const destinationName = (d: Destination | undefined) =>
  d && (d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`);

type Req = Record<string, unknown>;

/** What a write asks to change, by identity and count, from its request. */
export function changeOf(method: string, r: Req): Record<string, unknown> {
  switch (method) {
    case 'CreateService':
    case 'UpdateService':
    case 'UpsertService':
      return { service: named(() => serviceIn(r.service as Service)) };
    case 'DeleteService':
    case 'ZeroCounters':
      return r.service ? { service: named(() => serviceIdIn(r.service as ServiceId)) } : {};
    case 'CreateDestination':
    case 'UpdateDestination':
    case 'DeleteDestination':
    case 'UpsertDestination':
      return {
        service: named(() => serviceIdIn(r.service as ServiceId)),
        destination: destinationName(r.destination as Destination | undefined),
      };
    case 'Batch': {
      const kinds: Record<string, number> = {};
      for (const op of (r as unknown as api.BatchRequest).operations) {
        const k = op.operation.case ?? 'none';
        kinds[k] = (kinds[k] ?? 0) + 1;
      }
      return { operations: (r as unknown as api.BatchRequest).operations.length, kinds };
    }
    case 'Apply':
    case 'ApplyWithProgress': {
      const a = (method === 'Apply' ? r : r.apply) as api.ApplyRequest | undefined;
      return { services: a?.services.length ?? 0, prune: !!a?.prune, dryRun: !!a?.dryRun };
    }
    case 'SetConfig':
      return { config: true };
    case 'StartDaemon':
      return { daemon: DaemonState[(r as unknown as api.StartDaemonRequest).daemon?.state ?? 0] };
    case 'StopDaemon':
      return { daemon: DaemonState[(r as unknown as api.StopDaemonRequest).state] };
    case 'PutDesiredState':
      return { desiredState: (r as unknown as api.PutDesiredStateRequest).desiredState?.name };
    case 'DeleteDesiredState':
      return { desiredState: r.name, removeRules: !!r.removeRules };
    default:
      return {};
  }
}
