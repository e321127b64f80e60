// Writes on their way to the kernel: a batch's items validated, each write
// encoded into the call queue's outbox, and the outcomes taken back, one
// call's or a whole batch's. Failures are named ("newDestination
// 203.0.113.1:8080 of tcp 192.0.2.1:80") only when they happen.
import type { RequestWriter } from '../genetlink/message.js';
import type { Outcome } from '../netlink/conn.js';
import type { KernelError } from '../netlink/error.js';
import type { Outbox } from '../netlink/outbox.js';
import { Writes } from '../netlink/queue.js';
import { formatHostPort } from './address.js';
import { destinationRequest, serviceRequest } from './command.js';
import { Cmd } from './constants.js';
import type { DestinationInput, ServiceId, ServiceInput } from './model.js';
import {
  blankDestination, blankService, describeService, normalDestination, normalService, normalServiceId,
  ValidationError, type NormalDestination, type NormalService, type NormalServiceId,
} from './validate.js';

/** One write in `Handle.batch`. */
export type BatchOp =
  | { op: 'newService' | 'updateService'; service: ServiceInput }
  | { op: 'delService'; service: ServiceId }
  | { op: 'newDestination' | 'updateDestination' | 'delDestination'; service: ServiceId; destination: DestinationInput };

/** A BatchOp whose service and destination are validated and complete. */
export type NormalBatchOp =
  | { op: 'newService' | 'updateService'; service: NormalService }
  | { op: 'delService'; service: NormalServiceId }
  | { op: 'newDestination' | 'updateDestination' | 'delDestination'; service: NormalServiceId; destination: NormalDestination };

/** What became of one write of a batch: applied, or refused by the kernel with this error. */
export type BatchItemResult = { ok: true } | { ok: false; error: KernelError };

export const DEST_CMDS = { newDestination: Cmd.NewDest, updateDestination: Cmd.SetDest, delDestination: Cmd.DelDest } as const;

/** Validates one BatchOp; `services` caches the identity of service objects named by many items. */
export function normalBatchOp(o: BatchOp, services: Map<ServiceId, NormalServiceId>): NormalBatchOp {
  switch (o.op) {
    case 'newService':
    case 'updateService':
      return { op: o.op, service: normalService(o.service, o.op) };
    case 'delService':
      return { op: o.op, service: normalServiceId(o.service, o.op) };
    case 'newDestination':
    case 'updateDestination':
    case 'delDestination': {
      let svc = services.get(o.service);
      if (!svc) services.set(o.service, (svc = normalServiceId(o.service, o.op)));
      return { op: o.op, service: svc, destination: normalDestination(svc, o.destination, o.op) };
    }
    default:
      return notAnOp(o);
  }
}

/** Objects one batch fills for every item it writes (see writeBatchItem). */
export interface Scratch {
  service: NormalService;
  destination: NormalDestination;
}

export const newScratch = (): Scratch => ({ service: blankService(), destination: blankDestination() });

/**
 * Validates one BatchOp and encodes it into `box` (its number there),
 * keeping nothing of it but the bytes: the models are filled into
 * `scratch`, and `services` caches the identity of service objects named
 * by many items. Throws a ValidationError for a refused item.
 */
export function writeBatchItem(w: RequestWriter, box: Outbox, o: BatchOp, services: Map<ServiceId, NormalServiceId>, scratch: Scratch): number {
  switch (o.op) {
    case 'newService':
    case 'updateService':
      return serviceRequest(w, box, o.op === 'newService' ? Cmd.NewService : Cmd.SetService, normalService(o.service, o.op, scratch.service), true);
    case 'delService':
      return serviceRequest(w, box, Cmd.DelService, normalServiceId(o.service, o.op, scratch.service));
    case 'newDestination':
    case 'updateDestination':
    case 'delDestination': {
      let svc = services.get(o.service);
      if (!svc) services.set(o.service, (svc = normalServiceId(o.service, o.op)));
      const dest = normalDestination(svc, o.destination, o.op, scratch.destination);
      return destinationRequest(w, box, DEST_CMDS[o.op], svc, dest, o.op !== 'delDestination');
    }
    default:
      return notAnOp(o);
  }
}

function notAnOp(o: never): never {
  throw new ValidationError('batch', 'op', `${JSON.stringify((o as { op: unknown }).op)} is not a batch operation`, 'batch');
}

/** Encodes one validated write into `box`: its number there. */
export function writeBatchOp(w: RequestWriter, box: Outbox, o: NormalBatchOp): number {
  switch (o.op) {
    case 'newService': return serviceRequest(w, box, Cmd.NewService, o.service, true);
    case 'updateService': return serviceRequest(w, box, Cmd.SetService, o.service, true);
    case 'delService': return serviceRequest(w, box, Cmd.DelService, o.service);
    default: return destinationRequest(w, box, DEST_CMDS[o.op], o.service, o.destination, o.op !== 'delDestination');
  }
}

/** "newDestination 203.0.113.1:8080 of tcp 192.0.2.1:80": names an operation in errors. */
export function describeBatchOp(op: string, svc: NormalServiceId, dest?: NormalDestination): string {
  return dest ? `${op} ${formatHostPort(dest)} of ${describeService(svc)}` : `${op} ${describeService(svc)}`;
}

/** The outcome of one call: its replies, or its failure named after the call. */
export class CallWrites extends Writes {
  constructor(
    at: number,
    private readonly op: string,
    private readonly resolve: (replies: Buffer[]) => void,
    private readonly reject: (e: KernelError) => void,
    private readonly svc?: NormalServiceId,
    private readonly dest?: NormalDestination,
  ) {
    super(at, at + 1);
  }

  settle(_: number, o: Outcome): void {
    if (o.ok) this.resolve(o.replies);
    else this.reject(o.error.within(this.svc ? describeBatchOp(this.op, this.svc, this.dest) : this.op));
  }
}

const APPLIED: BatchItemResult = { ok: true };

/** A batch's outcomes, item by item; `describe(k)` names item k when it fails. */
export class BatchWrites extends Writes {
  private readonly results: BatchItemResult[];
  private left: number;

  constructor(
    first: number,
    last: number,
    private readonly describe: (k: number) => string,
    private readonly resolve: (r: BatchItemResult[]) => void,
    private readonly onSettled?: (done: number) => void,
  ) {
    super(first, last);
    this.results = new Array(last - first);
    this.left = last - first;
    if (!this.left) resolve(this.results);
  }

  settle(k: number, o: Outcome): void {
    this.results[k] = o.ok ? APPLIED : { ok: false, error: o.error.within(this.describe(k), k) };
    this.onSettled?.(this.results.length - this.left + 1);
    if (--this.left === 0) this.resolve(this.results);
  }
}
