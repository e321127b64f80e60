// ipvs.v1.IpvsService: each RPC translated to Handle calls, nothing more.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, durationMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import {
  applyState, describeService, diffState, Drainer, KernelError, serviceKey, type Handle, ValidationError, type ApplyRun, type BatchItemResult, type BatchOp, type Change, type ChangeAction,
  type DesiredService, type ServiceWithDestinations, type StateEvent,
} from '../ipvs/index.js';
import type * as pbModel from '../../gen/ts/ipvs/v1/model_pb.js';
import {
  configIn, configOut, daemonIn, daemonOut, destinationIn, destinationOut, fieldPath, infoOut, normalDestinationOut,
  normalServiceOut, serviceIdIn, serviceIdOut, serviceIn, serviceOut, serviceWithDestinationsOut, snakeCase, statsOut,
} from './convert.js';
import { serverStream, unary, type FieldPath, type HandlerOptions, type StreamFn, type UnaryFn } from './handler.js';
import type { Namespaces } from './namespaces.js';
import { follow, intervalOf, type StatsHub, type StatsSnapshot } from './stats-hub.js';
import { RpcError, statusOfErrno } from './status.js';

export interface IpvsServiceOptions extends HandlerOptions {
  namespaces: Namespaces;
  hub: StatsHub;
  /** Most operations one Batch may carry. */
  maxBatch: number;
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

/** One WatchStats message: a tick's counters, of the services in `wanted` (by describeService) or of all. */
function statsMessage(snap: StatsSnapshot, intervalMs: number, wanted?: Set<string>): api.WatchStatsResponse {
  return create(api.WatchStatsResponseSchema, {
    time: timestampFromDate(snap.time),
    interval: durationFromMs(intervalMs),
    services: snap.services
      .filter((s) => !wanted || wanted.has(describeService(s)))
      .map((s) => create(api.ServiceStatsSchema, {
        service: serviceIdOut(s),
        stats: statsOut(s.stats),
        destinations: s.destinations.map((d) => create(api.DestinationStatsSchema, {
          addressFamily: d.addressFamily, address: d.address, port: d.port, weight: d.weight,
          activeConnections: d.activeConnections, inactiveConnections: d.inactiveConnections, stats: statsOut(d.stats),
        })),
      })),
  });
}

const MAX_DRAIN_MS = 24 * 3600 * 1000;

/** How often ApplyWithProgress tells how far it has got. */
const PROGRESS_MS = 100;

const EVENT_KINDS = { added: api.EventKind.ADDED, updated: api.EventKind.UPDATED, removed: api.EventKind.REMOVED } as const;

function eventOut(e: StateEvent): api.Event {
  return create(api.EventSchema, {
    kind: EVENT_KINDS[e.kind],
    service: serviceIdOut(e.service),
    newService: e.destination || e.kind === 'removed' ? undefined : serviceOut(e.service),
    oldService: e.destination ? undefined : e.kind === 'removed' ? serviceOut(e.service) : e.oldService && serviceOut(e.oldService),
    newDestination: e.destination && e.kind !== 'removed' ? destinationOut(e.destination) : undefined,
    oldDestination: e.destination && e.kind === 'removed' ? destinationOut(e.destination) : e.oldDestination && destinationOut(e.oldDestination),
  });
}

function desiredIn(list: pbModel.ServiceWithDestinations[]): DesiredService[] {
  return list.map((sw, i) => ({
    ...serviceIn(sw.service, `services[${i}].service`),
    destinations: sw.destinations.map((d, j) => destinationIn(d, `services[${i}].destinations[${j}]`)),
  }));
}

/** "services[2].service.id.port", "scope.prefixes": the field of a refused Apply. */
const applyPath: FieldPath<unknown> = (e) => {
  if (e.field === 'prefixes') return 'scope.prefixes';
  const inner = e.field === 'service' ? 'service' : e.field === 'destination' ? 'destinations' : fieldPath(e.subject, e.field, true);
  return e.index === undefined ? inner : `services[${e.index}].${inner}`;
};

export function ipvsService(o: IpvsServiceOptions): UntypedServiceImplementation {
  const h = (ns: string) => o.namespaces.handle(ns);
  // Every call ends by checking that its namespace outlived it.
  const u = <Req extends { namespace: string }, Res>(method: string, fn: UnaryFn<Req, Res>, path: FieldPath<Req> = idPath) =>
    unary(method, async (req: Req, ctx) => {
      try {
        return await fn(req, ctx);
      } finally {
        o.namespaces.confirm(req.namespace);
      }
    }, o, path);

  const listServices: UnaryFn<api.ListServicesRequest, api.ListServicesResponse> = async (req) => {
    const handle = h(req.namespace);
    const list: ServiceWithDestinations[] = req.includeDestinations
      ? await handle.getServicesWithDestinations()
      : (await handle.getServices()).map((s) => ({ ...s, destinations: [] }));
    return create(api.ListServicesResponseSchema, { services: list.map((s) => serviceWithDestinationsOut(s, s.destinations)) });
  };

  // Watchers of a whole namespace share one message per tick (and so one serialization: see definition.ts).
  const shared = new WeakMap<StatsSnapshot, api.WatchStatsResponse>();
  const everything = (snap: StatsSnapshot, intervalMs: number) => {
    let m = shared.get(snap);
    if (!m) shared.set(snap, (m = statsMessage(snap, intervalMs)));
    return m;
  };

  const watchStats: StreamFn<api.WatchStatsRequest, api.WatchStatsResponse> = async (req, send, ctx) => {
    const wanted = req.services.length ? new Set(req.services.map((s, i) => {
      try {
        return serviceKey(serviceIdIn(s, `services[${i}]`), 'watchStats');
      } catch (e) {
        throw e instanceof ValidationError ? e.within('watchStats', i) : e;
      }
    })) : undefined;
    const intervalMs = intervalOf(req.interval, req.allowFast);
    for await (const { snap } of follow(o.hub, req.namespace, intervalMs, ctx.signal)) {
      // While this send waits for a slow client, newer ticks replace the pending one: memory stays one snapshot.
      await send(wanted ? statsMessage(snap, intervalMs, wanted) : everything(snap, intervalMs));
    }
    throw ctx.signal.reason;
  };

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
      await send(create(api.ApplyWithProgressResponseSchema, { event: { case: 'result', value: await result } }));
    } finally {
      o.namespaces.confirm(apply.namespace);
    }
  };

  const watchEvents: StreamFn<api.WatchEventsRequest, api.WatchEventsResponse> = async (req, send, ctx) => {
    const intervalMs = intervalOf(req.interval, req.allowFast);
    let previous: ServiceWithDestinations[] | undefined;
    for await (const { snap, skipped } of follow(o.hub, req.namespace, intervalMs, ctx.signal)) {
      const time = timestampFromDate(snap.time);
      if (!previous || skipped) {
        // First message, or the stream fell behind: the whole state, events count from it.
        await send(create(api.WatchEventsResponseSchema, {
          time, resync: true, skippedTicks: skipped,
          snapshot: snap.services.map((s) => serviceWithDestinationsOut(s, s.destinations)),
        }));
      } else {
        const events = diffState(previous, snap.services);
        if (events.length) await send(create(api.WatchEventsResponseSchema, { time, events: events.map(eventOut) }));
      }
      previous = snap.services;
    }
    throw ctx.signal.reason;
  };

  return {
    listServices: u('ListServices', listServices),
    getService: u('GetService', async (req: api.GetServiceRequest) => {
      const handle = h(req.namespace);
      const id = serviceIdIn(req.service);
      const [s, dests] = await Promise.all([handle.getService(id), req.includeDestinations ? handle.getDestinations(id) : []]);
      return create(api.GetServiceResponseSchema, { service: serviceWithDestinationsOut(s, dests) });
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
    listDestinations: u('ListDestinations', async (req: api.ListDestinationsRequest) => {
      const dests = await h(req.namespace).getDestinations(serviceIdIn(req.service));
      return create(api.ListDestinationsResponseSchema, { destinations: dests.map(destinationOut) });
    }),
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
          return create(api.BatchResultSchema, { code: statusOfErrno(r.error.errno), errno: r.error.errno, message: r.error.message });
        }),
        applied,
      });
    }, batchPath),
    apply: u('Apply', (req: api.ApplyRequest) => runApply(req), applyPath),
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
    watchEvents: serverStream('WatchEvents', watchEvents, o),
    watchStats: serverStream('WatchStats', watchStats, o, (e) => `services[${e.index}]${fieldPath(e.subject, e.field, false).replace(/^service/, '')}`),
  };
}
