import { NETLINK_GENERIC, resolveFamily, type Family } from '../genetlink/family.js';
import { RequestWriter } from '../genetlink/message.js';
import type { AttributeDecoder, AttributeEncoder } from '../netlink/attribute.js';
import { Conn, type IoCounters, type Outcome, type Request } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';
import { CmdAttr, Cmd, DaemonAttr, GENL_NAME, GENL_VERSION } from './constants.js';
import { formatHostPort } from './address.js';
import { decodeReply, destinationRequest, replyAttributes, serviceRequest } from './command.js';
import { decodeConfig, decodeInfo, encodeConfig } from './config.js';
import { decodeDaemon, encodeDaemon } from './daemon.js';
import { decodeDestination } from './destination.js';
import type {
  Config, Daemon, DaemonInput, Destination, DestinationInput, Info, Service, ServiceId, ServiceInput,
  ServiceWithDestinations,
} from './model.js';
import { decodeService, serviceWithDestinations } from './service.js';
import {
  describeService, normalDaemon, normalDestination, normalService, normalServiceId,
  ValidationError, type NormalDestination, type NormalService, type NormalServiceId,
} from './validate.js';

export interface HandleOptions {
  /** Bytes per sendmsg: how many requests travel together. Default 64 KiB. */
  batchBytes?: number;
  /** Kernel receive buffer of the socket. Default 4 MiB. */
  receiveBytes?: number;
  /** List destinations of many services at once through io_uring, where the kernel allows it. Default true. */
  ioUring?: boolean;
  /**
   * Open the sockets for many dumps at once now, not at the first listing of
   * many services (a daemon that will list opens them at its start). Default false.
   */
  listingsReady?: boolean;
}

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

/** Validates one BatchOp; `services` caches the identity of service objects named by many items. */
function normalBatchOp(o: BatchOp, services: Map<ServiceId, NormalServiceId>): NormalBatchOp {
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
      throw new ValidationError('batch', 'op', `${JSON.stringify((o as { op: unknown }).op)} is not a batch operation`, 'batch');
  }
}

/** What became of one write of a batch: applied, or refused by the kernel with this error. */
export type BatchItemResult = { ok: true } | { ok: false; error: KernelError };

/** Where the outcome of a request goes: slot `index` of `sink` (one sink serves a whole batch). */
interface RequestOp {
  req: Request;
  sink: Sink;
  index: number;
}
interface Sink {
  settle(index: number, o: Outcome): void;
}
interface TaskOp {
  run(): Promise<void>;
  fail(e: KernelError): void;
}

/** Requests handed to the kernel in one Conn.execute (it packs them into sendmsg-sized chunks). */
const MAX_COALESCED = 8192;
/** Destination dumps between turns of the event loop in a full listing (about 10 ms in user-mode Linux). */
const DUMP_CHUNK = 128;
const DEST_DUMP = 'getDestinations';
/** Longest stretch of synchronous kernel I/O before the event loop gets a turn. */
const SLICE_MS = 8;
const MAX_CONFIG_TIMEOUT = 2147483; // INT_MAX / HZ for the largest HZ (1000)

/** Settles an operation that can no longer run because its handle is closed. */
function failClosed(op: RequestOp | TaskOp): void {
  const error = KernelError.of('ipvs', 'EBADF', 'the handle is closed');
  if ('req' in op) op.sink.settle(op.index, { ok: false, error });
  else op.fail(error);
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

const DEST_CMDS = { newDestination: Cmd.NewDest, updateDestination: Cmd.SetDest, delDestination: Cmd.DelDest } as const;

/** "newDestination 203.0.113.1:8080 of tcp 192.0.2.1:80": names an operation in errors. */
function describeBatchOp(op: string, svc: NormalServiceId, dest?: NormalDestination): string {
  return dest ? `${op} ${formatHostPort(dest)} of ${describeService(svc)}` : `${op} ${describeService(svc)}`;
}

const APPLIED: BatchItemResult = { ok: true };

/** The outcome of one call; its failure is named (`newService tcp 192.0.2.1:80`) only when it happens. */
class CallSink implements Sink {
  constructor(
    private readonly op: string,
    private readonly resolve: (replies: Buffer[]) => void,
    private readonly reject: (e: KernelError) => void,
    private readonly svc?: NormalServiceId,
    private readonly dest?: NormalDestination,
  ) {}

  settle(_: number, o: Outcome): void {
    if (o.ok) this.resolve(o.replies);
    else this.reject(o.error.within(this.svc ? describeBatchOp(this.op, this.svc, this.dest) : this.op));
  }
}

/** Collects a batch's outcomes; errors are named only when they happen. */
class BatchSink implements Sink {
  private readonly results: BatchItemResult[];
  private left: number;

  constructor(
    private readonly ops: readonly NormalBatchOp[],
    private readonly resolve: (r: BatchItemResult[]) => void,
    private readonly onSettled?: (done: number) => void,
  ) {
    this.results = new Array(ops.length);
    this.left = ops.length;
    if (!this.left) resolve(this.results);
  }

  settle(index: number, o: Outcome): void {
    this.results[index] = o.ok ? APPLIED : { ok: false, error: o.error.within(this.describe(index), index) };
    this.onSettled?.(this.ops.length - this.left + 1);
    if (--this.left === 0) this.resolve(this.results);
  }

  private describe(index: number): string {
    const o = this.ops[index]!;
    return describeBatchOp(o.op, o.service, 'destination' in o ? o.destination : undefined);
  }
}

/**
 * The IPVS state of one network namespace. Every method returns a Promise;
 * calls made together (in the same tick) are coalesced: their requests go
 * to the kernel in as few sendmsg calls as fit, in call order, and each
 * Promise settles with its own result. Listings run in call order too, so
 * a read issued after a write sees it.
 */
export class Handle {
  private readonly conn: Conn;
  private readonly family: Family;
  private readonly writer: RequestWriter;
  private readonly queue: (RequestOp | TaskOp)[] = [];
  private pumping = false;
  private isClosed = false;
  private lastId: { input: ServiceId; normal: NormalServiceId } | undefined;

  /**
   * Opens the IPVS socket inside the namespace at `netns` (a path such as
   * /var/run/netns/NAME or /proc/PID/ns/net; '' for the current one).
   * Throws KernelError ENOPROTOOPT when the kernel has no IPVS.
   */
  constructor(readonly netns = '', opts: HandleOptions = {}) {
    const conn = Conn.open(NETLINK_GENERIC, { netns, sendBytes: opts.batchBytes, receiveBytes: opts.receiveBytes, ioUring: opts.ioUring });
    try {
      this.family = resolveFamily(conn, GENL_NAME);
    } catch (e) {
      conn.close();
      if (e instanceof KernelError && e.errno === 'ENOENT') {
        throw KernelError.of('new Handle', 'ENOPROTOOPT',
          `IPVS is not available${netns ? ` in ${netns}` : ''}: the kernel has no ip_vs module loaded (modprobe ip_vs)`);
      }
      throw e;
    }
    this.conn = conn;
    this.writer = new RequestWriter(this.family.id, GENL_VERSION);
    if (opts.listingsReady) conn.prepareDumps();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** How many sendmsg and recvmmsg calls this handle has made. */
  get io(): Readonly<IoCounters> {
    return this.conn.io;
  }

  /** Closes the socket. Calls still queued, and any made later, fail with EBADF. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const op of this.queue.splice(0)) failClosed(op);
    this.conn.close();
  }

  // ---- services ----

  newService(s: ServiceInput): Promise<void> {
    return this.attempt(() => {
      const n = normalService(s, 'newService');
      return this.write('newService', this.serviceReq(Cmd.NewService, n, true), n);
    });
  }

  /** Replaces every option of an existing service (left-out options take their defaults). */
  updateService(s: ServiceInput): Promise<void> {
    return this.attempt(() => {
      const n = normalService(s, 'updateService');
      return this.write('updateService', this.serviceReq(Cmd.SetService, n, true), n);
    });
  }

  delService(s: ServiceId): Promise<void> {
    return this.attempt(() => {
      const n = normalServiceId(s, 'delService');
      return this.write('delService', this.serviceReq(Cmd.DelService, n), n);
    });
  }

  /** Deletes every service (and so every destination) in the namespace. */
  async flush(): Promise<void> {
    await this.send('flush', this.req(Cmd.Flush));
  }

  /** One service with its current counters. Fails with ESRCH when it does not exist. */
  async getService(s: ServiceId): Promise<Service> {
    const n = normalServiceId(s, 'getService');
    const [reply] = await this.send('getService', this.serviceReq(Cmd.GetService, n), n);
    return decodeReply(`getService ${describeService(n)}`, reply, CmdAttr.Service, decodeService);
  }

  async isServicePresent(s: ServiceId): Promise<boolean> {
    try {
      await this.getService(s);
      return true;
    } catch (e) {
      if (e instanceof KernelError && (e.errno === 'ESRCH' || e.errno === 'ENOENT')) return false;
      throw e;
    }
  }

  /** Every service, without destinations (as moby/ipvs); `counters: false` leaves stats zero. */
  getServices(o: { counters?: boolean } = {}): Promise<Service[]> {
    return this.task(() => this.dumpServices(o.counters ?? true));
  }

  /**
   * Every service with its destinations: one dump for the services, one per
   * service for destinations. `counters: false` leaves stats zero, for
   * callers that compare configuration only (decoding them is most of the cost).
   */
  getServicesWithDestinations(o: { counters?: boolean } = {}): Promise<ServiceWithDestinations[]> {
    const counters = o.counters ?? true;
    return this.task(() => this.destinationsOf(this.dumpServices(counters), counters));
  }

  /**
   * Services as listed (getServices), each with its destinations: one dump
   * per service, run many at once. For listing a few services of a large
   * table, a page at a time. A service gone meanwhile has none.
   */
  withDestinations(services: readonly Service[], o: { counters?: boolean } = {}): Promise<ServiceWithDestinations[]> {
    return this.task(() => this.destinationsOf(services, o.counters ?? true));
  }

  // ---- destinations ----

  newDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    return this.destOp('newDestination', s, d);
  }

  /** Replaces every option of an existing destination (left-out options take their defaults). */
  updateDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    return this.destOp('updateDestination', s, d);
  }

  delDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    return this.destOp('delDestination', s, d);
  }

  /** The destinations of one service. Fails with ESRCH when the service does not exist. */
  getDestinations(s: ServiceId): Promise<Destination[]> {
    const n = normalServiceId(s, 'getDestinations');
    return this.task(() => {
      const dests = this.dumpDestinations(n);
      // The kernel answers an empty dump for a missing service: tell the two apart.
      if (!dests.length) {
        const [o] = this.conn.execute([this.serviceReq(Cmd.GetService, n)]);
        if (!o!.ok) throw o!.error.within(`getDestinations ${describeService(n)}`);
      }
      return dests;
    });
  }

  // ---- counters, configuration, information ----

  /** Zeroes the counters of one service, or of every service when none is given. */
  async zero(s?: ServiceId): Promise<void> {
    if (!s) {
      await this.send('zero', this.req(Cmd.Zero));
      return;
    }
    const n = normalServiceId(s, 'zero');
    await this.send('zero', this.serviceReq(Cmd.Zero, n), n);
  }

  /** Connection timeouts, in seconds. */
  async getConfig(): Promise<Config> {
    const [reply] = await this.send('getConfig', this.req(Cmd.GetConfig));
    return decodeConfig(replyAttributes('getConfig', reply));
  }

  /** Sets connection timeouts, in seconds; 0 leaves a value unchanged. */
  async setConfig(c: Partial<Config>): Promise<void> {
    for (const k of ['timeoutTcp', 'timeoutTcpFin', 'timeoutUdp'] as const) {
      const v = c[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= MAX_CONFIG_TIMEOUT)) {
        throw new ValidationError('setConfig', k, `${String(v)} is not a number of seconds in 0..${MAX_CONFIG_TIMEOUT}`, 'config');
      }
    }
    await this.send('setConfig', this.req(Cmd.SetConfig, (e) => encodeConfig(e, c)));
  }

  async getInfo(): Promise<Info> {
    const [reply] = await this.send('getInfo', this.req(Cmd.GetInfo));
    return decodeInfo(replyAttributes('getInfo', reply));
  }

  // ---- connection-synchronisation daemons ----

  async startDaemon(d: DaemonInput): Promise<void> {
    const n = normalDaemon(d, 'startDaemon');
    await this.send(`startDaemon ${n.mcastInterface}`, this.req(Cmd.NewDaemon, (e) => e.nested(CmdAttr.Daemon, () => encodeDaemon(e, n))));
  }

  /** Stops the daemon in `state` (DaemonStateMaster or DaemonStateBackup). */
  async stopDaemon(state: number): Promise<void> {
    if (state !== 1 && state !== 2) throw new ValidationError('stopDaemon', 'state', 'must be master (1) or backup (2)', 'daemon');
    await this.send('stopDaemon', this.req(Cmd.DelDaemon, (e) => e.nested(CmdAttr.Daemon, () => e.u32(DaemonAttr.State, state))));
  }

  getDaemons(): Promise<Daemon[]> {
    return this.task(() => this.dump('getDaemons', this.req(Cmd.GetDaemon), CmdAttr.Daemon, decodeDaemon));
  }

  // ---- batches ----

  /**
   * Applies many writes in as few sendmsg calls as fit and reports each
   * one's fate. The kernel carries on past a failed item, so later items
   * are still applied; the results say exactly which. Every item is
   * validated first: one invalid item refuses the whole batch, unsent.
   */
  batch(ops: readonly BatchOp[]): Promise<BatchItemResult[]> {
    // Items naming the same service object validate it once.
    const services = new Map<ServiceId, NormalServiceId>();
    return this.batchNormal(ops.map((o, i) => {
      try {
        return normalBatchOp(o, services);
      } catch (e) {
        throw e instanceof KernelError ? e.within(`batch item ${i}: ${e.op}`, i) : e;
      }
    }));
  }

  /**
   * `batch` for writes already validated (an Apply's plan): nothing is
   * normalised twice. `onSettled(done)` follows progress, write by write.
   */
  batchNormal(ops: readonly NormalBatchOp[], onSettled?: (done: number) => void): Promise<BatchItemResult[]> {
    const reqs = ops.map((o) => this.batchRequest(o));
    return new Promise((resolve) => {
      const sink = new BatchSink(ops, resolve, onSettled);
      for (let i = 0; i < reqs.length; i++) this.enqueue({ req: reqs[i]!, sink, index: i });
    });
  }

  private batchRequest(o: NormalBatchOp): Request {
    switch (o.op) {
      case 'newService': return this.serviceReq(Cmd.NewService, o.service, true);
      case 'updateService': return this.serviceReq(Cmd.SetService, o.service, true);
      case 'delService': return this.serviceReq(Cmd.DelService, o.service);
      default: return this.destReq(DEST_CMDS[o.op], o.service, o.destination, o.op !== 'delDestination');
    }
  }

  // ---- plumbing ----

  private destOp(op: keyof typeof DEST_CMDS, s: ServiceId, d: DestinationInput): Promise<void> {
    return this.attempt(() => {
      const svc = this.serviceIdOf(s, op);
      const dest = normalDestination(svc, d, op);
      return this.write(op, this.destReq(DEST_CMDS[op], svc, dest, op !== 'delDestination'), svc, dest);
    });
  }

  /**
   * `run`'s promise, or a rejected one when it throws (a refused model).
   * Single writes are plain functions, not async ones: calls issued
   * together by the thousand then cost little more than a batch.
   */
  private attempt(run: () => Promise<void>): Promise<void> {
    try {
      return run();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * normalServiceId, remembering the last one: calls issued together for
   * one service's destinations name it again and again. The input's fields
   * are compared, not its identity, so a caller may reuse and change one object.
   */
  private serviceIdOf(s: ServiceId, op: string): NormalServiceId {
    const m = this.lastId;
    if (m && m.input.address === s.address && m.input.port === s.port && m.input.protocol === s.protocol
      && m.input.fwMark === s.fwMark && m.input.addressFamily === s.addressFamily) return m.normal;
    const normal = normalServiceId(s, op);
    this.lastId = { input: { address: s.address, port: s.port, protocol: s.protocol, fwMark: s.fwMark, addressFamily: s.addressFamily }, normal };
    return normal;
  }

  private req(cmd: number, fill?: (e: AttributeEncoder) => void): Request {
    return this.writer.request(cmd, fill);
  }

  private serviceReq(cmd: number, s: NormalServiceId, full = false): Request {
    return serviceRequest(this.writer, cmd, s, full);
  }

  private destReq(cmd: number, svc: NormalServiceId, dest: NormalDestination, full: boolean): Request {
    return destinationRequest(this.writer, cmd, svc, dest, full);
  }

  private dump<T>(op: string, req: Request, type: number, decode: (d: AttributeDecoder) => T): T[] {
    let out: T[] = [];
    try {
      this.conn.dump(req, (b, start, end) => out.push(decodeReply(op, b, type, decode, start, end)), () => { out = []; });
    } catch (e) {
      throw e instanceof KernelError ? e.within(op) : e;
    }
    return out;
  }

  private async destinationsOf(services: readonly Service[], counters: boolean): Promise<ServiceWithDestinations[]> {
    const out = services.map((s) => serviceWithDestinations(s, []));
    // Chunks of dumps run together (see Conn.dumpMany); the event loop gets a turn between chunks.
    for (let first = 0; first < out.length; first += DUMP_CHUNK) {
      const chunk = out.slice(first, first + DUMP_CHUNK);
      const decoders = chunk.map((s) => (d: AttributeDecoder) => decodeDestination(d, s.addressFamily, counters));
      try {
        this.conn.dumpMany(
          chunk.map((s) => this.serviceReq(Cmd.GetDest, s)),
          (i, b, start, end) => chunk[i]!.destinations.push(decodeReply(DEST_DUMP, b, CmdAttr.Dest, decoders[i]!, start, end)),
          (i) => { chunk[i]!.destinations = []; },
        );
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        throw e.within(e.index === undefined ? 'getServicesWithDestinations' : `getDestinations ${describeService(chunk[e.index]!)}`);
      }
      if (first + DUMP_CHUNK < out.length) {
        await yieldToEventLoop();
        if (this.isClosed) throw KernelError.of('getServicesWithDestinations', 'EBADF', 'the handle is closed');
      }
    }
    return out;
  }

  private dumpServices(counters = true): Service[] {
    return this.dump('getServices', this.req(Cmd.GetService), CmdAttr.Service, (d) => decodeService(d, counters));
  }

  private dumpDestinations(s: NormalServiceId): Destination[] {
    return this.dump(`getDestinations ${describeService(s)}`, this.serviceReq(Cmd.GetDest, s), CmdAttr.Dest,
      (d) => decodeDestination(d, s.addressFamily));
  }

  /** One request, its replies. */
  private send(op: string, req: Request, svc?: NormalServiceId): Promise<Buffer[]> {
    return new Promise((resolve, reject) => this.enqueue({ req, sink: new CallSink(op, resolve, reject, svc), index: 0 }));
  }

  /** One write: it has no replies to return. */
  private write(op: string, req: Request, svc: NormalServiceId, dest?: NormalDestination): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ req, sink: new CallSink(op, () => resolve(), reject, svc, dest), index: 0 }));
  }

  private task<T>(run: () => T | Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.enqueue({
        run: async () => {
          try {
            resolve(await run());
          } catch (e) {
            reject(e);
          }
        },
        fail: reject,
      });
    });
  }

  private enqueue(op: RequestOp | TaskOp): void {
    if (this.isClosed) {
      failClosed(op);
      return;
    }
    this.queue.push(op);
    if (!this.pumping) {
      this.pumping = true;
      // A microtask later: every call made in this tick joins the batch.
      queueMicrotask(() => void this.pump());
    }
  }

  private async pump(): Promise<void> {
    let slice = performance.now();
    while (this.queue.length && !this.isClosed) {
      const head = this.queue[0]!;
      if ('run' in head) {
        this.queue.shift();
        await head.run();
      } else {
        let n = 1;
        while (n < this.queue.length && n < MAX_COALESCED && 'req' in this.queue[n]!) n++;
        const ops = this.queue.splice(0, n) as RequestOp[];
        let outcomes: Outcome[];
        try {
          outcomes = this.conn.execute(ops.map((o) => o.req));
        } catch (e) {
          const error = e instanceof KernelError ? e : KernelError.of('ipvs', 'EIO', String(e));
          outcomes = ops.map(() => ({ ok: false, error }));
        }
        for (let i = 0; i < ops.length; i++) ops[i]!.sink.settle(ops[i]!.index, outcomes[i]!);
      }
      if (performance.now() - slice > SLICE_MS) {
        await yieldToEventLoop();
        slice = performance.now();
      }
    }
    this.pumping = false;
  }
}
