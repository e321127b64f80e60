// An Apply's report as messages under --max-response-bytes. Unary Apply
// answers with one message: when every change does not fit, the refused
// ones come first, then applied ones while they fit, and `omitted` counts
// the rest. ApplyWithProgress sends every change, its result in parts.
import { create, toBinary } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { Encoded } from '../rpc/definition.js';
import { fieldItems, packItems, partMessage } from './parts.js';
import { listTag, WireWriter } from './wire.js';

const CHANGES_TAG = listTag(api.ApplyResponseSchema, 'changes');
const RESULT_TAG = listTag(api.ApplyWithProgressResponseSchema, 'result');

/** Each change of `r` as a whole `changes` field, encoded once. */
const changeItems = (r: api.ApplyResponse) =>
  fieldItems(
    CHANGES_TAG,
    r.changes.map((c) => toBinary(api.ChangeSchema, c)),
  );

const header = (r: api.ApplyResponse, extra: { omitted?: number; more?: boolean }) =>
  toBinary(
    api.ApplyResponseSchema,
    create(api.ApplyResponseSchema, { applied: r.applied, failed: r.failed, ...extra }),
  );

/** Apply's one message. */
export function applyReply(r: api.ApplyResponse, budget: number): Encoded<api.ApplyResponse> {
  // Each change is encoded once: in order when all fit, else refused ones first.
  const items = changeItems(r);
  if (items.reduce((n, b) => n + b.length, 0) <= budget) return new Encoded(partMessage(items, header(r, {})));
  const order = [...r.changes.keys()].sort(
    (a, b) => Number(!r.changes[a]!.code) - Number(!r.changes[b]!.code) || a - b,
  );
  const kept: Buffer[] = [];
  let size = 0;
  for (const i of order) {
    if (size + items[i]!.length > budget) break;
    kept.push(items[i]!);
    size += items[i]!.length;
  }
  return new Encoded(partMessage(kept, header(r, { omitted: items.length - kept.length })));
}

/** ApplyWithProgress's result messages: every change, in parts. */
export function resultParts(r: api.ApplyResponse, budget: number): Encoded<api.ApplyWithProgressResponse>[] {
  const parts = packItems(changeItems(r), budget);
  return parts.map((p, i) => {
    const w = new WireWriter();
    w.bytes(RESULT_TAG, partMessage(p, header(r, { more: i < parts.length - 1 })));
    return new Encoded(w.buf.subarray(0, w.pos));
  });
}
