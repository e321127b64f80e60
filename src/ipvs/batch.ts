// Writes on their way to the kernel: a batch's items validated, each write
// encoded into the call queue's outbox, and the outcomes taken back, one
// call's or a whole batch's. Failures are named ("newDestination
// 203.0.113.1:8080 of tcp 192.0.2.1:80") only when they happen.
import { GENL_HEADER_LENGTH, genlCommand, type RequestWriter } from '../genetlink/message.js';
import { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { Outcome } from '../netlink/conn.js';
import type { KernelError } from '../netlink/error.js';
import type { Outbox } from '../netlink/outbox.js';
import { Writes } from '../netlink/queue.js';
import { formatHostPort } from '../inet/address.js';
import { destinationRequest, serviceRequest } from './command.js';
import { CmdAttr, Cmd } from './constants.js';
import { decodeDestination } from './destination.js';
import type { Destination, DestinationInput, Service, ServiceId, ServiceInput } from './model.js';
import { decodeService } from './service.js';
import {
  blankDestination,
  blankService,
  describeService,
  normalDestination,
  normalService,
  normalServiceId,
  ValidationError,
  type NormalDestination,
  type NormalService,
  type NormalServiceId,
} from './validate.js';

/** One write in `Handle.batch`. */
export type BatchOp =
  | { op: 'newService' | 'updateService'; service: ServiceInput }
  | { op: 'delService'; service: ServiceId }
  | {
      op: 'newDestination' | 'updateDestination' | 'delDestination';
      service: ServiceId;
      destination: DestinationInput;
    };

/** A BatchOp whose service and destination are validated and complete. */
export type NormalBatchOp =
  | { op: 'newService' | 'updateService'; service: NormalService }
  | { op: 'delService'; service: NormalServiceId }
  | {
      op: 'newDestination' | 'updateDestination' | 'delDestination';
      service: NormalServiceId;
      destination: NormalDestination;
    };

/** What became of one write of a batch: applied, or refused by the kernel with this error. */
export type BatchItemResult = { ok: true } | { ok: false; error: KernelError };

const DEST_CMDS = { newDestination: Cmd.NewDest, updateDestination: Cmd.SetDest, delDestination: Cmd.DelDest } as const;

/** The name of one write, in Handle's words. */
export type WriteOp = BatchOp['op'];

/**
 * Validates writes and encodes them into an Outbox, keeping nothing of
 * them but the bytes: the models are filled into objects reused for every
 * write, and the identity of the last service named is remembered (the
 * writes of one service's destinations name it again and again). Single
 * calls and batch items go through here alike.
 */
export class ItemWriter {
  private readonly service = blankService();
  private readonly destination = blankDestination();
  private last: { input: ServiceId; normal: NormalServiceId } | undefined;

  constructor(
    private readonly w: RequestWriter,
    private readonly box: Outbox,
  ) {}

  /** Validates and encodes one write: its number in the box. Throws a ValidationError for a refused one. */
  write(op: WriteOp, service: ServiceInput, destination: DestinationInput | undefined): number {
    const { w, box } = this;
    switch (op) {
      case 'newService':
      case 'updateService':
        return serviceRequest(
          w,
          box,
          op === 'newService' ? Cmd.NewService : Cmd.SetService,
          normalService(service, op, this.service),
          true,
        );
      case 'delService':
        return serviceRequest(w, box, Cmd.DelService, normalServiceId(service, op, this.service));
      case 'newDestination':
      case 'updateDestination':
      case 'delDestination': {
        const svc = this.serviceId(service, op);
        const dest = normalDestination(svc, destination as DestinationInput, op, this.destination);
        return destinationRequest(w, box, DEST_CMDS[op], svc, dest, op !== 'delDestination');
      }
      default:
        throw new ValidationError('batch', 'op', `${JSON.stringify(op)} is not a batch operation`, 'batch');
    }
  }

  /**
   * normalServiceId, remembering the last one. The input's fields are compared, not its identity: a caller may reuse
   * and change one object.
   */
  private serviceId(s: ServiceId, op: string): NormalServiceId {
    const m = this.last;
    if (
      m &&
      typeof s === 'object' &&
      s !== null &&
      m.input.address === s.address &&
      m.input.port === s.port &&
      m.input.protocol === s.protocol &&
      m.input.fwMark === s.fwMark &&
      m.input.addressFamily === s.addressFamily
    )
      return m.normal;
    const normal = normalServiceId(s, op);
    this.last = {
      input: {
        address: s.address,
        port: s.port,
        protocol: s.protocol,
        fwMark: s.fwMark,
        addressFamily: s.addressFamily,
      },
      normal,
    };
    return normal;
  }
}

/** Encodes one validated write into `box`: its number there. */
export function writeBatchOp(w: RequestWriter, box: Outbox, o: NormalBatchOp): number {
  switch (o.op) {
    case 'newService':
      return serviceRequest(w, box, Cmd.NewService, o.service, true);
    case 'updateService':
      return serviceRequest(w, box, Cmd.SetService, o.service, true);
    case 'delService':
      return serviceRequest(w, box, Cmd.DelService, o.service);
    default:
      return destinationRequest(w, box, DEST_CMDS[o.op], o.service, o.destination, o.op !== 'delDestination');
  }
}

/** "newDestination 203.0.113.1:8080 of tcp 192.0.2.1:80": names an operation in errors. */
function describeBatchOp(
  op: string,
  svc: NormalServiceId,
  dest?: { addressFamily: number; address: string; port: number },
): string {
  return dest ? `${op} ${formatHostPort(dest)} of ${describeService(svc)}` : `${op} ${describeService(svc)}`;
}

const OP_NAMES: Record<number, string> = {
  [Cmd.NewService]: 'newService',
  [Cmd.SetService]: 'updateService',
  [Cmd.DelService]: 'delService',
  [Cmd.GetService]: 'getService',
  [Cmd.NewDest]: 'newDestination',
  [Cmd.SetDest]: 'updateDestination',
  [Cmd.DelDest]: 'delDestination',
  [Cmd.Zero]: 'zero',
};

/**
 * Names a request on a service or destination from its own bytes (`op`, or
 * the command's name, then what it names): what was sent, however the
 * caller's objects changed since. Only failures are named, so calls keep
 * no model for it.
 */
export function describeRequest(payload: Buffer, op = OP_NAMES[genlCommand(payload)] ?? 'request'): string {
  const d = new AttributeDecoder(payload, GENL_HEADER_LENGTH);
  let svc: Service | undefined;
  let dest: Destination | undefined;
  while (d.next()) {
    if (d.type() === CmdAttr.Service) svc = decodeService(d.enter(), false);
    else if (d.type() === CmdAttr.Dest && svc) dest = decodeDestination(d.enter(), svc.addressFamily, false);
  }
  return svc ? describeBatchOp(op, svc, dest) : op;
}

/**
 * The outcome of one call: its replies (`replies`) or nothing, or its
 * failure named after `op`, and after the service and destination the
 * request names when `named`.
 */
export class CallWrites extends Writes {
  constructor(
    private readonly box: Outbox,
    at: number,
    private readonly op: string,
    private readonly named: boolean,
    private readonly replies: boolean,
    private readonly resolve: (replies?: Buffer[]) => void,
    private readonly reject: (e: KernelError) => void,
  ) {
    super(at, at + 1);
  }

  settle(_: number, o: Outcome): void {
    if (o.ok) this.resolve(this.replies ? o.replies : undefined);
    else this.reject(o.error.within(this.named ? describeRequest(this.box.payload(this.first), this.op) : this.op));
  }
}

const APPLIED: BatchItemResult = { ok: true };

/** A batch's outcomes, item by item; a failed item is named from its request. */
export class BatchWrites extends Writes {
  private readonly results: BatchItemResult[];
  private left: number;

  constructor(
    private readonly box: Outbox,
    first: number,
    last: number,
    private readonly resolve: (r: BatchItemResult[]) => void,
    private readonly onSettled?: (done: number) => void,
  ) {
    super(first, last);
    this.results = new Array(last - first);
    this.left = last - first;
    if (!this.left) resolve(this.results);
  }

  settle(k: number, o: Outcome): void {
    this.results[k] = o.ok
      ? APPLIED
      : { ok: false, error: o.error.within(describeRequest(this.box.payload(this.first + k)), k) };
    this.onSettled?.(this.results.length - this.left + 1);
    if (--this.left === 0) this.resolve(this.results);
  }
}
