// The desired-state RPCs: Put (store, then reconcile, before answering),
// Get, List (pages) and Delete, translating to the core in src/desired.
import { create, toBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { DesiredRegistry } from '../desired/registry.js';
import type { ApplyResult } from '../ipvs/index.js';
import { Encoded } from '../rpc/definition.js';
import { applyReply } from './apply-report.js';
import { applyOut } from './convert-apply.js';
import { desiredError, desiredPath, specData, specIn, stateOut } from './convert-desired.js';
import { sysctlUpdateOut } from './convert-sysctl.js';
import { listDesiredPage } from './desired-pages.js';
import { unary } from './handler.js';
import type { Room, Rpcs } from './room.js';
import { RpcError } from './status.js';
import { listTag, WireWriter } from './wire.js';

type DesiredRpcs = Rpcs<'putDesiredState' | 'getDesiredState' | 'listDesiredStates' | 'deleteDesiredState'>;

const RECONCILE_TAG = listTag(api.PutDesiredStateResponseSchema, 'reconcile');
const REMOVAL_TAG = listTag(api.DeleteDesiredStateResponseSchema, 'removal');

/** `head`'s bytes followed by an Apply report under `tag`, the report cut to what is left of `budget`. */
function withReport(head: Uint8Array, tag: number, r: ApplyResult | undefined, budget: number): Buffer {
  const w = new WireWriter();
  if (r) w.bytes(tag, applyReply(applyOut(r, false), budget - head.length).bytes);
  return Buffer.concat([head, w.buf.subarray(0, w.pos)]);
}

const generationOf = (n: bigint, field: string) => {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -1n)
    throw new RpcError(status.INVALID_ARGUMENT, `${field} ${n} is not -1, 0 or a generation`, field);
  return Number(n);
};

export function desired({ o, budget }: Room): DesiredRpcs {
  const registry = (): DesiredRegistry => {
    if (!o.desired) throw new RpcError(status.UNIMPLEMENTED, 'this server holds no desired states (no --state-dir)');
    return o.desired;
  };
  const held = (name: string) => {
    const h = registry().get(name);
    if (!h) throw new RpcError(status.NOT_FOUND, `${name || 'name'}: no such desired state`, 'name');
    return h;
  };

  return {
    putDesiredState: unary(
      'PutDesiredState',
      async (req: api.PutDesiredStateRequest) => {
        const m = req.desiredState;
        if (!m) throw new RpcError(status.INVALID_ARGUMENT, 'desired_state is required', 'desired_state');
        const expectedGeneration = generationOf(req.expectedGeneration, 'expected_generation');
        const spec = specIn(m);
        const out = await registry()
          .put({ name: m.name, spec, data: specData(m), expectedGeneration, validateOnly: req.validateOnly })
          .catch((e: unknown) => {
            // The namespace refused (not allowed, gone) is the desired state's.
            if (e instanceof RpcError && e.field === 'namespace')
              throw new RpcError(e.code, e.message, 'desired_state.namespace');
            throw desiredError(e, 'desired_state.');
          });
        const head = toBinary(
          api.PutDesiredStateResponseSchema,
          create(api.PutDesiredStateResponseSchema, {
            desiredState: stateOut(out.state, false),
            sysctls: out.sysctls?.map(sysctlUpdateOut),
          }),
        );
        return new Encoded<api.PutDesiredStateResponse>(withReport(head, RECONCILE_TAG, out.result, budget));
      },
      o,
      desiredPath,
    ),
    getDesiredState: unary(
      'GetDesiredState',
      async (req: api.GetDesiredStateRequest) => {
        const bytes = toBinary(
          api.GetDesiredStateResponseSchema,
          create(api.GetDesiredStateResponseSchema, {
            desiredState: stateOut(held(req.name), req.view !== api.DesiredStateView.BASIC),
          }),
        );
        if (bytes.length > budget) {
          throw new RpcError(
            status.RESOURCE_EXHAUSTED,
            `${req.name} does not fit in one message (--max-response-bytes); DESIRED_STATE_VIEW_BASIC leaves its services out, ListDesiredStates with DESIRED_STATE_VIEW_FULL pages them`,
            'name',
          );
        }
        return new Encoded<api.GetDesiredStateResponse>(Buffer.from(bytes));
      },
      o,
    ),
    listDesiredStates: unary(
      'ListDesiredStates',
      async (req: api.ListDesiredStatesRequest) => listDesiredPage(registry().list(), req, budget),
      o,
    ),
    deleteDesiredState: unary(
      'DeleteDesiredState',
      async (req: api.DeleteDesiredStateRequest) => {
        const expectedGeneration = generationOf(req.expectedGeneration, 'expected_generation');
        held(req.name);
        const r = await registry()
          .delete({ name: req.name, expectedGeneration, removeRules: req.removeRules })
          .catch((e: unknown) => {
            throw desiredError(e);
          });
        return new Encoded<api.DeleteDesiredStateResponse>(withReport(new Uint8Array(), REMOVAL_TAG, r, budget));
      },
      o,
    ),
  };
}
