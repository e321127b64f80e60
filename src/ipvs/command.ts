// IPVS commands on the wire: the request each one sends, and how a reply
// is opened. Handle queues these; the fixtures test replays them.
import { GENL_HEADER_LENGTH, type RequestWriter } from '../genetlink/message.js';
import { AttributeDecoder } from '../netlink/attribute-decoder.js';
import { KernelError } from '../netlink/error.js';
import type { Outbox } from '../netlink/outbox.js';
import { CmdAttr } from './constants.js';
import { encodeDestination, encodeDestinationId } from './destination.js';
import { encodeService, encodeServiceId } from './service.js';
import type { NormalDestination, NormalService, NormalServiceId } from './validate.js';

/**
 * A command on a service, written into `box`: its identity, or (`full`, for
 * create and update) every attribute of it. Its number in the box.
 */
export function serviceRequest(w: RequestWriter, box: Outbox, cmd: number, s: NormalServiceId, full = false): number {
  const e = w.begin(box, cmd);
  const at = e.open(CmdAttr.Service);
  if (full) encodeService(e, s as NormalService);
  else encodeServiceId(e, s);
  e.close(CmdAttr.Service, at);
  return box.end();
}

/** A command on a destination: its service's identity, and its own identity or (`full`) all of it. */
export function destinationRequest(
  w: RequestWriter,
  box: Outbox,
  cmd: number,
  svc: NormalServiceId,
  dest: NormalDestination,
  full: boolean,
): number {
  const e = w.begin(box, cmd);
  const s = e.open(CmdAttr.Service);
  encodeServiceId(e, svc);
  e.close(CmdAttr.Service, s);
  const d = e.open(CmdAttr.Dest);
  if (full) encodeDestination(e, dest);
  else encodeDestinationId(e, dest);
  e.close(CmdAttr.Dest, d);
  return box.end();
}

/** The attributes of a generic netlink reply. */
export function replyAttributes(op: string, reply: Buffer | undefined): AttributeDecoder {
  if (!reply) throw KernelError.of(op, 'EBADMSG', 'the kernel sent no reply');
  return new AttributeDecoder(reply, GENL_HEADER_LENGTH);
}

/**
 * The one decoder of decodeReply, reset for each reply: decoding never re-enters it, and a listing decodes thousands.
 */
const replies = new AttributeDecoder(Buffer.alloc(0));

/**
 * Finds the nested attribute `type` (a service, a destination, …) in a
 * reply (bytes `start` to `end` of `reply`) and decodes it.
 */
export function decodeReply<T>(
  op: string,
  reply: Buffer | undefined,
  type: number,
  decode: (d: AttributeDecoder) => T,
  start = 0,
  end = reply?.length,
): T {
  if (!reply) throw KernelError.of(op, 'EBADMSG', 'the kernel sent no reply');
  const d = replies.reset(reply, start + GENL_HEADER_LENGTH, end);
  let out: T | undefined;
  while (d.next()) if (d.type() === type) out = decode(d.enter());
  d.finish();
  if (out === undefined) throw KernelError.of(op, 'EBADMSG', `reply without attribute ${type}`);
  return out;
}
