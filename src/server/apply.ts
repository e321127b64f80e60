// The declarative RPCs: Apply, ApplyWithProgress (the same Apply, telling
// how far it has got), UpsertService and UpsertDestination.
import { create } from '@bufbuild/protobuf';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import {
  applyState,
  timedDrain,
  upsertDestination,
  ValidationError,
  type ApplyRun,
  type Handle,
} from '../ipvs/index.js';
import { applyReply, resultParts } from './apply-report.js';
import { applyOut, applyPath, changesOut, desiredIn, scopeIn } from './convert-apply.js';
import { destinationIn, nestedPath, serviceIdIn } from './convert.js';
import { serverStream, type StreamFn } from './handler.js';
import type { Room, Rpcs } from './room.js';
import { RpcError } from './status.js';

/** How often ApplyWithProgress tells how far it has got. */
const PROGRESS_MS = 100;

type ApplyRpcs = Rpcs<'apply' | 'applyWithProgress' | 'upsertService' | 'upsertDestination'>;

/** The drain options of an Apply with drain_timeout; the core's refusal as the request's own field. */
function drainOf(req: api.ApplyRequest, handle: Handle, o: Room['o']) {
  if (!req.drainTimeout) return {};
  try {
    return timedDrain(
      handle,
      { drain: req.drain, prune: req.prune, timeoutMs: durationMs(req.drainTimeout) },
      (what, why) => o.log.info({ namespace: handle.netns, why }, `drained: ${what}`),
    );
  } catch (e) {
    if (e instanceof ValidationError && e.field === 'drainTimeoutMs')
      throw new RpcError(status.INVALID_ARGUMENT, `drain_timeout ${e.reason}`, 'drain_timeout');
    throw e;
  }
}

export function apply({ o, h, budget, u }: Room): ApplyRpcs {
  const runApply = async (req: api.ApplyRequest, run: ApplyRun = {}) => {
    const scope = scopeIn(req.scope);
    const handle = h(req.namespace);
    const drain = drainOf(req, handle, o);
    const r = await applyState(handle, desiredIn(req.services), {
      scope,
      prune: req.prune,
      drain: req.drain,
      dryRun: req.dryRun,
      ...drain,
      ...run,
    });
    return applyOut(r, req.failuresOnly && !req.dryRun);
  };

  const applyWithProgress: StreamFn<api.ApplyWithProgressRequest, api.ApplyWithProgressResponse> = async (
    req,
    send,
    ctx,
  ) => {
    const apply = req.apply ?? create(api.ApplyRequestSchema);
    let planned = 0;
    let done = 0;
    let finished = false;
    const result = runApply(apply, {
      onPlanned: (c) => {
        planned = c.length;
      },
      onProgress: (d) => {
        done = d;
      },
    });
    // Should the client go away, the Apply still finishes; its outcome is then nobody's.
    const settled = result
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        finished = true;
      });
    try {
      for (let sent = -1; !finished; ) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          settled,
          new Promise((r) => {
            timer = setTimeout(r, PROGRESS_MS);
          }),
        ]);
        clearTimeout(timer);
        if (finished || !planned || done === sent) continue;
        sent = done;
        await send(
          create(api.ApplyWithProgressResponseSchema, { event: { case: 'progress', value: { planned, done } } }),
        );
      }
      const r = await result;
      ctx.note({ applied: r.applied, failed: r.failed });
      for (const part of resultParts(r, budget)) await send(part);
    } finally {
      o.namespaces.confirm(apply.namespace);
    }
  };

  return {
    apply: u(
      'Apply',
      async (req: api.ApplyRequest, ctx) => {
        const r = await runApply(req);
        ctx.note({ applied: r.applied, failed: r.failed });
        return applyReply(r, budget);
      },
      applyPath,
    ),
    applyWithProgress: serverStream('ApplyWithProgress', applyWithProgress, o, (e, r) => `apply.${applyPath(e, r)}`),
    upsertService: u(
      'UpsertService',
      async (req: api.UpsertServiceRequest) => {
        if (!req.service) throw new RpcError(status.INVALID_ARGUMENT, 'service is required', 'service');
        const r = await applyState(h(req.namespace), desiredIn([req.service]));
        const failure = r.results.find((x) => !x.ok);
        if (failure && !failure.ok) throw failure.error;
        return create(api.UpsertServiceResponseSchema, { changes: changesOut(r.changes, r.results) });
      },
      nestedPath,
    ),
    upsertDestination: u('UpsertDestination', async (req: api.UpsertDestinationRequest) => {
      const created = await upsertDestination(
        h(req.namespace),
        serviceIdIn(req.service),
        destinationIn(req.destination),
      );
      return create(api.UpsertDestinationResponseSchema, { created });
    }),
  };
}
