// ipvs.v1.IpvsService: each RPC translated to Handle calls, nothing more.
import { create } from '@bufbuild/protobuf';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import {
  applyState, Drainer, KernelError, serviceWithDestinations, type ApplyRun, type BatchItemResult, type BatchOp, type Change, type ChangeAction, type DesiredService, type Handle,
} from '../ipvs/index.js';
import type * as pbModel from '../../gen/ts/ipvs/v1/model_pb.js';
import {
  configIn, configOut, daemonIn, daemonOut, destinationIn, fieldPath, infoOut, normalDestinationOut, normalServiceOut, serviceIdIn,
  serviceIn, snakeCase,
} from './convert.js';
import { applyReply, resultParts } from './apply-report.js';
import { serverStream, unary, type FieldPath, type HandlerOptions, type StreamFn, type UnaryFn } from './handler.js';
import type { Namespaces } from './namespaces.js';
import { listDestinationsPage, listServicesPage, serviceReply } from './pages.js';
import { HEADER_ROOM } from './parts.js';
import type { StatsHub } from './stats-hub.js';
import { RpcError, statusOfErrno } from './status.js';
import { watchEvents, watchStats } from './watch.js';

export interface IpvsServiceOptions extends HandlerOptions {
  namespaces: Namespaces;
  hub: StatsHub;
  /** Most operations one Batch may carry. */
  maxBatch: number;
  /** Largest response message (a part, a page), bytes. */
  maxResponseBytes: number;
}

const idPath: FieldPath<unknown> = (e) => fieldPath(e.subject, e.field, false);
const nestedPath: FieldPath<unknown> = (e) => fieldPath(e.subject, e.field, true);

/** "operations[3].create_service.id.port": the field of a refused batch item. */
const batchPath: FieldPath<api.BatchRequest> = (e, req) => {
  const item = e.index === undefined ? undefined : req.operations[e.index]?.operation;
  if (!item?.case) return fieldPath(e.subject, e.field, false);
  const kind = snakeCase(item.case);
  const nested = item.case === 'createService' || item.case === 'updateService';
  const inner = fieldPath(e.subject, e.field, nested);
  // A destination operation holds its service and destination one level down; a service operation is the service.
  return `operations[${e.index}].${kind}${nested || item.case === 'deleteService' ? inner.replace(/^service/, '') : `.${inner}`}`;
};
const BATCH_KINDS = ['createService', 'updateService', 'deleteService', 'createDestination', 'updateDestination', 'deleteDestination'] as const;

function batchOp(o: api.BatchOperation, i: number): BatchOp {
  const at = `operations[${i}]`;
  const v = o.operation;
  switch (v.case) {
    case 'createService': return { op: 'newService', service: serviceIn(v.value, `${at}.create_service`) };
    case 'updateService': return { op: 'updateService', service: serviceIn(v.value, `${at}.update_service`) };
    case 'deleteService': return { op: 'delService', service: serviceIdIn(v.value, `${at}.delete_service`) };
    case 'createDestination':
    case 'updateDestination':
    case 'deleteDestination': {
      const name = `${at}.${snakeCase(v.case)}`;
      const op = ({ createDestination: 'newDestination', updateDestination: 'updateDestination', deleteDestination: 'delDestination' } as const)[v.case];
      return { op, service: serviceIdIn(v.value.service, `${name}.service`), destination: destinationIn(v.value.destination, `${name}.destination`) };
    }
    default:
      throw new RpcError(status.INVALID_ARGUMENT, `${at}: one of ${BATCH_KINDS.join(', ')} is required`, at);
  }
}

const ACTIONS: Record<ChangeAction, api.ChangeAction> = {
  createService: api.ChangeAction.CREATE_SERVICE, updateService: api.ChangeAction.UPDATE_SERVICE, deleteService: api.ChangeAction.DELETE_SERVICE,
  createDestination: api.ChangeAction.CREATE_DESTINATION, updateDestination: api.ChangeAction.UPDATE_DESTINATION,
  deleteDestination: api.ChangeAction.DELETE_DESTINATION, drainDestination: api.ChangeAction.DRAIN_DESTINATION,
};

/**
 * The changes of an Apply as the API reports them. A big Apply's report
 * costs more than its kernel work, so each service's message is built once
 * and shared by all its changes, and fields are set without create()'s walk.
 */
function changesOut(changes: readonly Change[], results: readonly BatchItemResult[], failuresOnly = false): api.Change[] {
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

const MAX_DRAIN_MS = 24 * 3600 * 1000;

/** A Batch result's message, at most 200 characters: with MAX_BATCH results, a response stays under 4 MiB. */
const clip = (m: string) => (m.length > 200 ? `${m.slice(0, 199)}…` : m);

/** How often ApplyWithProgress tells how far it has got. */
const PROGRESS_MS = 100;

/** The desired state of an Apply; every Apply converts all of it, so no spread and no path string per destination. */
function desiredIn(list: pbModel.ServiceWithDestinations[]): DesiredService[] {
  return list.map((sw, i) => {
    const s: DesiredService = serviceIn(sw.service, `services[${i}].service`);
    // Elements of a repeated field are never unset: destinationIn's "required" cannot fail here.
    s.destinations = sw.destinations.map((d) => destinationIn(d));
    return s;
  });
}

/** "services[2].service.id.port", "scope.prefixes": the field of a refused Apply. */
const applyPath: FieldPath<unknown> = (e) => {
  if (e.field === 'prefixes') return 'scope.prefixes';
  const inner = e.field === 'service' ? 'service' : e.field === 'destination' ? 'destinations' : fieldPath(e.subject, e.field, true);
  return e.index === undefined ? inner : `services[${e.index}].${inner}`;
};

export function ipvsService(o: IpvsServiceOptions): UntypedServiceImplementation {
  const h = (ns: string) => o.namespaces.handle(ns);
  // What a part's entries may take; the rest of --max-response-bytes is the message's own fields.
  const budget = o.maxResponseBytes - HEADER_ROOM;
  // Every call ends by checking that its namespace outlived it.
  const u = <Req extends { namespace: string }, Res>(method: string, fn: UnaryFn<Req, Res>, path: FieldPath<Req> = idPath) =>
    unary(method, async (req: Req, ctx) => {
      try {
        return await fn(req, ctx);
      } finally {
        o.namespaces.confirm(req.namespace);
      }
    }, o, path);

  // One Drainer per handle: a namespace reopened gets a new one, the old stops with its closed handle.
  const drainers = new WeakMap<Handle, Drainer>();
  const drainerOf = (handle: Handle) => {
    let d = drainers.get(handle);
    if (!d) {
      drainers.set(handle, (d = new Drainer(handle, (what, why) => o.log.info({ namespace: handle.netns, why }, `drained: ${what}`))));
    }
    return d;
  };

  const runApply = async (req: api.ApplyRequest, run: ApplyRun = {}) => {
    const scope = req.scope ? { addresses: req.scope.addresses, prefixes: req.scope.prefixes, fwMarks: req.scope.fwMarks } : undefined;
    const handle = h(req.namespace);
    let drain = {};
    if (req.drainTimeout) {
      const ms = durationMs(req.drainTimeout);
      if (!req.drain || !req.prune) throw new RpcError(status.INVALID_ARGUMENT, 'drain_timeout needs drain and prune', 'drain_timeout');
      if (!(ms >= 0 && ms <= MAX_DRAIN_MS)) throw new RpcError(status.INVALID_ARGUMENT, 'drain_timeout must be 0 to 24 hours', 'drain_timeout');
      drain = { drainer: drainerOf(handle), drainTimeoutMs: ms };
    }
    const r = await applyState(handle, desiredIn(req.services), { scope, prune: req.prune, drain: req.drain, dryRun: req.dryRun, ...drain, ...run });
    const failed = r.results.filter((x) => !x.ok).length;
    return create(api.ApplyResponseSchema, {
      changes: changesOut(r.changes, r.results, req.failuresOnly && !req.dryRun),
      applied: r.results.length - failed,
      failed,
    });
  };

  const applyWithProgress: StreamFn<api.ApplyWithProgressRequest, api.ApplyWithProgressResponse> = async (req, send) => {
    const apply = req.apply ?? create(api.ApplyRequestSchema);
    let planned = 0;
    let done = 0;
    let finished = false;
    const result = runApply(apply, { onPlanned: (c) => { planned = c.length; }, onProgress: (d) => { done = d; } });
    // Should the client go away, the Apply still finishes; its outcome is then nobody's.
    const settled = result.then(() => undefined, () => undefined).finally(() => { finished = true; });
    try {
      for (let sent = -1; !finished;) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([settled, new Promise((r) => { timer = setTimeout(r, PROGRESS_MS); })]);
        clearTimeout(timer);
        if (finished || !planned || done === sent) continue;
        sent = done;
        await send(create(api.ApplyWithProgressResponseSchema, { event: { case: 'progress', value: { planned, done } } }));
      }
      for (const part of resultParts(await result, budget)) await send(part);
    } finally {
      o.namespaces.confirm(apply.namespace);
    }
  };

  return {
    listServices: u('ListServices', (req: api.ListServicesRequest) => listServicesPage(h(req.namespace), req, budget)),
    getService: u('GetService', async (req: api.GetServiceRequest) => {
      const handle = h(req.namespace);
      const id = serviceIdIn(req.service);
      const [s, destinations] = await Promise.all([handle.getService(id), req.includeDestinations ? handle.getDestinations(id) : []]);
      return serviceReply(serviceWithDestinations(s, destinations), budget);
    }),
    createService: u('CreateService', async (req: api.CreateServiceRequest) => {
      await h(req.namespace).newService(serviceIn(req.service));
      return create(api.CreateServiceResponseSchema);
    }, nestedPath),
    updateService: u('UpdateService', async (req: api.UpdateServiceRequest) => {
      await h(req.namespace).updateService(serviceIn(req.service));
      return create(api.UpdateServiceResponseSchema);
    }, nestedPath),
    deleteService: u('DeleteService', async (req: api.DeleteServiceRequest) => {
      await h(req.namespace).delService(serviceIdIn(req.service));
      return create(api.DeleteServiceResponseSchema);
    }),
    flush: u('Flush', async (req: api.FlushRequest) => {
      await h(req.namespace).flush();
      return create(api.FlushResponseSchema);
    }),
    listDestinations: u('ListDestinations', (req: api.ListDestinationsRequest) =>
      listDestinationsPage(h(req.namespace), req, serviceIdIn(req.service), budget)),
    createDestination: u('CreateDestination', async (req: api.CreateDestinationRequest) => {
      await h(req.namespace).newDestination(serviceIdIn(req.service), destinationIn(req.destination));
      return create(api.CreateDestinationResponseSchema);
    }),
    updateDestination: u('UpdateDestination', async (req: api.UpdateDestinationRequest) => {
      await h(req.namespace).updateDestination(serviceIdIn(req.service), destinationIn(req.destination));
      return create(api.UpdateDestinationResponseSchema);
    }),
    deleteDestination: u('DeleteDestination', async (req: api.DeleteDestinationRequest) => {
      await h(req.namespace).delDestination(serviceIdIn(req.service), destinationIn(req.destination));
      return create(api.DeleteDestinationResponseSchema);
    }),
    batch: u('Batch', async (req: api.BatchRequest) => {
      if (req.operations.length > o.maxBatch) {
        throw new RpcError(status.INVALID_ARGUMENT, `${req.operations.length} operations; at most ${o.maxBatch} per batch`, 'operations');
      }
      const handle = h(req.namespace);
      const results = await handle.batch(req.operations.map(batchOp));
      let applied = 0;
      return create(api.BatchResponseSchema, {
        results: results.map((r) => {
          if (r.ok) {
            applied++;
            return create(api.BatchResultSchema);
          }
          return create(api.BatchResultSchema, { code: statusOfErrno(r.error.errno), errno: r.error.errno, message: clip(r.error.message) });
        }),
        applied,
      });
    }, batchPath),
    apply: u('Apply', async (req: api.ApplyRequest) => applyReply(await runApply(req), budget), applyPath),
    applyWithProgress: serverStream('ApplyWithProgress', applyWithProgress, o, (e, r) => `apply.${applyPath(e, r)}`),
    upsertService: u('UpsertService', async (req: api.UpsertServiceRequest) => {
      if (!req.service) throw new RpcError(status.INVALID_ARGUMENT, 'service is required', 'service');
      const r = await applyState(h(req.namespace), desiredIn([req.service]));
      const failure = r.results.find((x) => !x.ok);
      if (failure && !failure.ok) throw failure.error;
      return create(api.UpsertServiceResponseSchema, { changes: changesOut(r.changes, r.results) });
    }, (e) => fieldPath(e.subject, e.field, true)),
    upsertDestination: u('UpsertDestination', async (req: api.UpsertDestinationRequest) => {
      const handle = h(req.namespace);
      const id = serviceIdIn(req.service);
      const dest = destinationIn(req.destination);
      try {
        await handle.newDestination(id, dest);
        return create(api.UpsertDestinationResponseSchema, { created: true });
      } catch (e) {
        if (!(e instanceof KernelError) || e.errno !== 'EEXIST') throw e;
      }
      await handle.updateDestination(id, dest);
      return create(api.UpsertDestinationResponseSchema, { created: false });
    }),
    getConfig: u('GetConfig', async (req: api.GetConfigRequest) =>
      create(api.GetConfigResponseSchema, { config: configOut(await h(req.namespace).getConfig()) })),
    setConfig: u('SetConfig', async (req: api.SetConfigRequest) => {
      await h(req.namespace).setConfig(configIn(req.config));
      return create(api.SetConfigResponseSchema);
    }),
    getInfo: u('GetInfo', async (req: api.GetInfoRequest) =>
      create(api.GetInfoResponseSchema, { info: infoOut(await h(req.namespace).getInfo()) })),
    zeroCounters: u('ZeroCounters', async (req: api.ZeroCountersRequest) => {
      await h(req.namespace).zero(req.service ? serviceIdIn(req.service) : undefined);
      return create(api.ZeroCountersResponseSchema);
    }),
    startDaemon: u('StartDaemon', async (req: api.StartDaemonRequest) => {
      await h(req.namespace).startDaemon(daemonIn(req.daemon));
      return create(api.StartDaemonResponseSchema);
    }),
    stopDaemon: u('StopDaemon', async (req: api.StopDaemonRequest) => {
      await h(req.namespace).stopDaemon(req.state);
      return create(api.StopDaemonResponseSchema);
    }),
    listDaemons: u('ListDaemons', async (req: api.ListDaemonsRequest) =>
      create(api.ListDaemonsResponseSchema, { daemons: (await h(req.namespace).getDaemons()).map(daemonOut) })),
    watchEvents: serverStream('WatchEvents', watchEvents(o.hub, budget), o),
    watchStats: serverStream('WatchStats', watchStats(o.hub, budget), o, (e) => `services[${e.index}]${fieldPath(e.subject, e.field, false).replace(/^service/, '')}`),
  };
}
