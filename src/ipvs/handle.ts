import { NETLINK_GENERIC, resolveFamily, type Family } from '../genetlink/family.js';
import { GENL_HEADER_LENGTH, genlRequest } from '../genetlink/message.js';
import { AttributeDecoder, type AttributeEncoder } from '../netlink/attribute.js';
import { Conn, type IoCounters, type Outcome, type Request } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';
import { CmdAttr, Cmd, DaemonAttr, GENL_NAME, GENL_VERSION } from './constants.js';
import { decodeConfig, decodeInfo, encodeConfig } from './config.js';
import { decodeDaemon, encodeDaemon } from './daemon.js';
import { decodeDestination, encodeDestination, encodeDestinationId } from './destination.js';
import type {
  Config, Daemon, DaemonInput, Destination, DestinationInput, Info, Service, ServiceId, ServiceInput,
  ServiceWithDestinations,
} from './model.js';
import { decodeService, encodeService, encodeServiceId } from './service.js';
import {
  describeDestination, describeService, normalDaemon, normalDestination, normalService, normalServiceId,
  ValidationError, type NormalServiceId,
} from './validate.js';

export interface HandleOptions {
  /** Bytes per sendmsg: how many requests travel together. Default 64 KiB. */
  batchBytes?: number;
  /** Kernel receive buffer of the socket. Default 4 MiB. */
  receiveBytes?: number;
}

/** One write in `Handle.batch`. */
export type BatchOp =
  | { op: 'newService' | 'updateService'; service: ServiceInput }
  | { op: 'delService'; service: ServiceId }
  | { op: 'newDestination' | 'updateDestination' | 'delDestination'; service: ServiceId; destination: DestinationInput };

/** What became of one write of a batch: applied, or refused by the kernel with this error. */
export type BatchItemResult = { ok: true } | { ok: false; error: KernelError };

interface RequestOp {
  req: Request;
  settle(o: Outcome): void;
}
interface TaskOp {
  run(): Promise<void>;
  fail(e: KernelError): void;
}

/** Requests handed to the kernel in one Conn.execute (it packs them into sendmsg-sized chunks). */
const MAX_COALESCED = 8192;
/** Longest stretch of synchronous kernel I/O before the event loop gets a turn. */
const SLICE_MS = 8;
const MAX_CONFIG_TIMEOUT = 2147483; // INT_MAX / HZ for the largest HZ (1000)

/** Settles an operation that can no longer run because its handle is closed. */
function failClosed(op: RequestOp | TaskOp): void {
  const error = KernelError.of('ipvs', 'EBADF', 'the handle is closed');
  if ('req' in op) op.settle({ ok: false, error });
  else op.fail(error);
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

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
  private readonly queue: (RequestOp | TaskOp)[] = [];
  private pumping = false;
  private isClosed = false;

  /**
   * Opens the IPVS socket inside the namespace at `netns` (a path such as
   * /var/run/netns/NAME or /proc/PID/ns/net; '' for the current one).
   * Throws KernelError ENOPROTOOPT when the kernel has no IPVS.
   */
  constructor(readonly netns = '', opts: HandleOptions = {}) {
    const conn = Conn.open(NETLINK_GENERIC, { netns, sendBytes: opts.batchBytes, receiveBytes: opts.receiveBytes });
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

  async newService(s: ServiceInput): Promise<void> {
    const n = normalService(s, 'newService');
    await this.send(`newService ${describeService(n)}`, this.req(Cmd.NewService, (e) => e.nested(CmdAttr.Service, () => encodeService(e, n))));
  }

  /** Replaces every option of an existing service (left-out options take their defaults). */
  async updateService(s: ServiceInput): Promise<void> {
    const n = normalService(s, 'updateService');
    await this.send(`updateService ${describeService(n)}`, this.req(Cmd.SetService, (e) => e.nested(CmdAttr.Service, () => encodeService(e, n))));
  }

  async delService(s: ServiceId): Promise<void> {
    const n = normalServiceId(s, 'delService');
    await this.send(`delService ${describeService(n)}`, this.serviceReq(Cmd.DelService, n));
  }

  /** Deletes every service (and so every destination) in the namespace. */
  async flush(): Promise<void> {
    await this.send('flush', this.req(Cmd.Flush));
  }

  /** One service with its current counters. Fails with ESRCH when it does not exist. */
  async getService(s: ServiceId): Promise<Service> {
    const n = normalServiceId(s, 'getService');
    const op = `getService ${describeService(n)}`;
    const [reply] = await this.send(op, this.serviceReq(Cmd.GetService, n));
    return this.decodeReply(op, reply, CmdAttr.Service, decodeService);
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

  /** Every service, without destinations (as moby/ipvs). */
  getServices(): Promise<Service[]> {
    return this.task(() => this.dumpServices());
  }

  /** Every service with its destinations: one dump for the services, one per service for destinations. */
  getServicesWithDestinations(): Promise<ServiceWithDestinations[]> {
    return this.task(async () => {
      const services = this.dumpServices();
      const out: ServiceWithDestinations[] = [];
      let slice = performance.now();
      for (const s of services) {
        out.push({ ...s, destinations: this.dumpDestinations(s) });
        if (performance.now() - slice > SLICE_MS) {
          await yieldToEventLoop();
          if (this.isClosed) throw KernelError.of('getServicesWithDestinations', 'EBADF', 'the handle is closed');
          slice = performance.now();
        }
      }
      return out;
    });
  }

  // ---- destinations ----

  async newDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    await this.destOp('newDestination', Cmd.NewDest, s, d, true);
  }

  /** Replaces every option of an existing destination (left-out options take their defaults). */
  async updateDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    await this.destOp('updateDestination', Cmd.SetDest, s, d, true);
  }

  async delDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    await this.destOp('delDestination', Cmd.DelDest, s, d, false);
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
    await this.send(`zero ${describeService(n)}`, this.serviceReq(Cmd.Zero, n));
  }

  /** Connection timeouts, in seconds. */
  async getConfig(): Promise<Config> {
    const [reply] = await this.send('getConfig', this.req(Cmd.GetConfig));
    return decodeConfig(this.attrs('getConfig', reply));
  }

  /** Sets connection timeouts, in seconds; 0 leaves a value unchanged. */
  async setConfig(c: Partial<Config>): Promise<void> {
    for (const k of ['timeoutTcp', 'timeoutTcpFin', 'timeoutUdp'] as const) {
      const v = c[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= MAX_CONFIG_TIMEOUT)) {
        throw new ValidationError('setConfig', k, `${String(v)} is not a number of seconds in 0..${MAX_CONFIG_TIMEOUT}`);
      }
    }
    await this.send('setConfig', this.req(Cmd.SetConfig, (e) => encodeConfig(e, c)));
  }

  async getInfo(): Promise<Info> {
    const [reply] = await this.send('getInfo', this.req(Cmd.GetInfo));
    return decodeInfo(this.attrs('getInfo', reply));
  }

  // ---- connection-synchronisation daemons ----

  async startDaemon(d: DaemonInput): Promise<void> {
    const n = normalDaemon(d, 'startDaemon');
    await this.send(`startDaemon ${n.mcastInterface}`, this.req(Cmd.NewDaemon, (e) => e.nested(CmdAttr.Daemon, () => encodeDaemon(e, n))));
  }

  /** Stops the daemon in `state` (DaemonStateMaster or DaemonStateBackup). */
  async stopDaemon(state: number): Promise<void> {
    if (state !== 1 && state !== 2) throw new ValidationError('stopDaemon', 'state', 'must be master (1) or backup (2)');
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
    const built = ops.map((o, i) => {
      try {
        return this.buildBatchOp(o, services);
      } catch (e) {
        throw e instanceof KernelError ? e.within(`batch item ${i}: ${e.op}`, i) : e;
      }
    });
    // One Promise for the whole batch: each item settles into its slot.
    return new Promise((resolve) => {
      const results: BatchItemResult[] = new Array(built.length);
      let left = built.length;
      if (!left) resolve(results);
      const OK: BatchItemResult = { ok: true };
      built.forEach(([op, req], i) => this.enqueue({
        req,
        settle: (o) => {
          results[i] = o.ok ? OK : { ok: false, error: o.error.within(op(), i) };
          if (--left === 0) resolve(results);
        },
      }));
    });
  }

  private buildBatchOp(o: BatchOp, services: Map<ServiceId, NormalServiceId>): [() => string, Request] {
    switch (o.op) {
      case 'newService':
      case 'updateService': {
        const n = normalService(o.service, o.op);
        const cmd = o.op === 'newService' ? Cmd.NewService : Cmd.SetService;
        return [() => `${o.op} ${describeService(n)}`, this.req(cmd, (e) => e.nested(CmdAttr.Service, () => encodeService(e, n)))];
      }
      case 'delService': {
        const n = normalServiceId(o.service, o.op);
        return [() => `${o.op} ${describeService(n)}`, this.serviceReq(Cmd.DelService, n)];
      }
      case 'newDestination':
      case 'updateDestination':
      case 'delDestination': {
        const cmd = { newDestination: Cmd.NewDest, updateDestination: Cmd.SetDest, delDestination: Cmd.DelDest }[o.op];
        let svc = services.get(o.service);
        if (!svc) services.set(o.service, (svc = normalServiceId(o.service, o.op)));
        return this.buildDestOp(o.op, cmd, svc, o.destination, o.op !== 'delDestination');
      }
      default:
        throw new ValidationError('batch', 'op', `${JSON.stringify((o as { op: unknown }).op)} is not a batch operation`);
    }
  }

  // ---- plumbing ----

  private async destOp(op: string, cmd: number, s: ServiceId, d: DestinationInput, full: boolean): Promise<void> {
    const [desc, req] = this.buildDestOp(op, cmd, normalServiceId(s, op), d, full);
    await this.send(desc(), req);
  }

  private buildDestOp(op: string, cmd: number, svc: NormalServiceId, d: DestinationInput, full: boolean): [() => string, Request] {
    const dest = normalDestination(svc, d, op);
    return [
      () => `${op} ${describeDestination(dest)} of ${describeService(svc)}`,
      this.req(cmd, (e) => {
        e.nested(CmdAttr.Service, () => encodeServiceId(e, svc));
        e.nested(CmdAttr.Dest, () => (full ? encodeDestination(e, dest) : encodeDestinationId(e, dest)));
      }),
    ];
  }

  private req(cmd: number, fill?: (e: AttributeEncoder) => void): Request {
    return genlRequest(this.family.id, cmd, GENL_VERSION, fill);
  }

  private serviceReq(cmd: number, s: NormalServiceId): Request {
    return this.req(cmd, (e) => e.nested(CmdAttr.Service, () => encodeServiceId(e, s)));
  }

  private attrs(op: string, reply: Buffer | undefined): AttributeDecoder {
    if (!reply) throw KernelError.of(op, 'EBADMSG', 'the kernel sent no reply');
    return new AttributeDecoder(reply, GENL_HEADER_LENGTH);
  }

  /** Finds the nested attribute `type` in a reply and decodes it. */
  private decodeReply<T>(op: string, reply: Buffer | undefined, type: number, decode: (d: AttributeDecoder) => T): T {
    const d = this.attrs(op, reply);
    let out: T | undefined;
    while (d.next()) if (d.type() === type) d.nested((n) => { out = decode(n); });
    d.finish();
    if (out === undefined) throw KernelError.of(op, 'EBADMSG', `reply without attribute ${type}`);
    return out;
  }

  private dump<T>(op: string, req: Request, type: number, decode: (d: AttributeDecoder) => T): T[] {
    let out: T[] = [];
    try {
      this.conn.dump(req, (p) => out.push(this.decodeReply(op, p, type, decode)), () => { out = []; });
    } catch (e) {
      throw e instanceof KernelError ? e.within(op) : e;
    }
    return out;
  }

  private dumpServices(): Service[] {
    return this.dump('getServices', this.req(Cmd.GetService), CmdAttr.Service, decodeService);
  }

  private dumpDestinations(s: NormalServiceId): Destination[] {
    return this.dump(`getDestinations ${describeService(s)}`, this.serviceReq(Cmd.GetDest, s), CmdAttr.Dest,
      (d) => decodeDestination(d, s.addressFamily));
  }

  private send(op: string, req: Request): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      this.enqueue({ req, settle: (o) => (o.ok ? resolve(o.replies) : reject(o.error.within(op))) });
    });
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
        ops.forEach((o, i) => o.settle(outcomes[i]!));
      }
      if (performance.now() - slice > SLICE_MS) {
        await yieldToEventLoop();
        slice = performance.now();
      }
    }
    this.pumping = false;
  }
}
