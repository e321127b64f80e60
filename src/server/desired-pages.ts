// ListDesiredStates a page at a time (AIP-158), in name order, each page
// under --max-response-bytes. The basic view is small per state; the full
// view writes each state's services, then its health checks, one by one, and
// a state whose entries do not all fit continues at the start of the next
// page (the same state again with the rest), as ListServices splits a
// service's destinations.
import { create, toBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { ServiceHealthSchema } from '../../gen/ts/ipvs/v1/health_pb.js';
import { ServiceWithDestinationsSchema } from '../../gen/ts/ipvs/v1/model_pb.js';
import type { HeldState } from '../desired/registry.js';
import { Encoded } from '../rpc/definition.js';
import { messageOf, stateOut } from './convert-desired.js';
import { partMessage } from './parts.js';
import { decodeToken, encodeToken, fingerprint, pageSize } from './paging.js';
import { RpcError } from './status.js';
import { listTag, WireWriter } from './wire.js';

const STATES_TAG = listTag(api.ListDesiredStatesResponseSchema, 'desiredStates');
const SERVICES_TAG = listTag(api.DesiredStateSchema, 'services');
const HEALTH_TAG = listTag(api.DesiredStateSchema, 'health');

/** A state's repeated entries in page order, each as its field's tag and bytes: services, then health checks. */
function entriesOf(h: HeldState): [number, Uint8Array][] {
  const m = messageOf(h.data);
  return [
    ...m.services.map((s): [number, Uint8Array] => [SERVICES_TAG, toBinary(ServiceWithDestinationsSchema, s)]),
    ...m.health.map((c): [number, Uint8Array] => [HEALTH_TAG, toBinary(ServiceHealthSchema, c)]),
  ];
}

interface Token {
  /** The name of the last state of the previous page. */
  after: string;
  /** When that state was split: the index of its first entry (entriesOf) on this page, and its generation. */
  service?: number;
  generation?: number;
}

const whole = (x: unknown) => x === undefined || (Number.isSafeInteger(x) && (x as number) >= 0);

const encodeDesiredToken = (t: Token, print: string) =>
  encodeToken({ a: t.after, s: t.service, g: t.generation }, print);

function decodeDesiredToken(token: string, print: string): Token | undefined {
  const t = decodeToken(
    token,
    print,
    (t) => typeof t.a === 'string' && whole(t.s) && whole(t.g) && (t.s === undefined) === (t.g === undefined),
  );
  return t && { after: t.a as string, service: t.s as number | undefined, generation: t.g as number | undefined };
}

export function listDesiredPage(
  all: readonly HeldState[],
  req: api.ListDesiredStatesRequest,
  budget: number,
): Encoded<api.ListDesiredStatesResponse> {
  const limit = pageSize(req.pageSize);
  const full = req.view === api.DesiredStateView.FULL;
  const print = fingerprint('ListDesiredStates', full);
  const token = decodeDesiredToken(req.pageToken, print);
  const w = new WireWriter();
  let next: Token | undefined;
  let count = 0;
  let i = token
    ? all.findIndex((h) => (token.service === undefined ? h.name > token.after : h.name >= token.after))
    : 0;
  if (i < 0) i = all.length;
  for (; i < all.length; i++) {
    const h = all[i]!;
    if (count >= limit) {
      next = { after: all[i - 1]!.name };
      break;
    }
    let from = 0;
    if (token?.service !== undefined && h.name === token.after) {
      if (h.generation !== token.generation)
        throw new RpcError(status.ABORTED, `${h.name} changed while it was being listed: list again from the start`);
      from = token.service;
    }
    const start = w.pos;
    const entry = w.open(STATES_TAG);
    const head = toBinary(api.DesiredStateSchema, stateOut(h, false));
    w.reserve(head.length);
    w.buf.set(head, w.pos);
    w.pos += head.length;
    const entries = full ? entriesOf(h) : [];
    let k = from;
    for (; k < entries.length; k++) {
      const at = w.pos;
      w.bytes(entries[k]![0], entries[k]![1]);
      if (w.pos <= budget) continue;
      w.pos = at;
      break;
    }
    const fitsNothing = k === from && from < entries.length;
    if (w.pos > budget || fitsNothing) {
      // Not even the state's own fields, or its first entry, fit behind what the page holds.
      w.pos = start;
      if (count === 0) {
        throw new RpcError(
          status.RESOURCE_EXHAUSTED,
          `a service or health check of ${h.name} does not fit in one message (--max-response-bytes)`,
          'page_token',
        );
      }
      next = { after: all[i - 1]!.name };
      break;
    }
    w.close(entry);
    count++;
    if (k < entries.length) {
      next = { after: h.name, service: k, generation: h.generation };
      break;
    }
  }
  const trailer = toBinary(
    api.ListDesiredStatesResponseSchema,
    create(api.ListDesiredStatesResponseSchema, { nextPageToken: next ? encodeDesiredToken(next, print) : '' }),
  );
  return new Encoded(partMessage(w.buf.subarray(0, w.pos), trailer));
}
