import { NETLINK_GENERIC, resolveFamily, type Family } from '../genetlink/family.js';
import { RequestWriter } from '../genetlink/message.js';
import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import { Conn, type IoCounters } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';
import type { Outbox } from '../netlink/outbox.js';
import { CallQueue } from '../netlink/queue.js';
import {
  BatchWrites,
  CallWrites,
  ItemWriter,
  writeBatchOp,
  type WriteOp,
  type BatchItemResult,
  type BatchOp,
  type NormalBatchOp,
} from './batch.js';
import { CmdAttr, Cmd, DaemonAttr, GENL_NAME, GENL_VERSION } from './constants.js';
import { decodeReply, replyAttributes, serviceRequest } from './command.js';
import { decodeConfig, decodeInfo, encodeConfig } from './config.js';
import { encodeDaemon } from './daemon.js';
import type { StateEvent } from './diff.js';
import { Listing } from './listing.js';
import type { Mirror } from './mirror.js';
import type {
  Config,
  Daemon,
  DaemonInput,
  Destination,
  DestinationInput,
  Info,
  Service,
  ServiceId,
  ServiceInput,
  ServiceWithDestinations,
} from './model.js';
import { decodeService } from './service.js';
import { describeService, normalDaemon, normalServiceId, ValidationError } from './validate.js';

export type { BatchItemResult, BatchOp, NormalBatchOp } from './batch.js';

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

const MAX_CONFIG_TIMEOUT = 2147483; // INT_MAX / HZ for the largest HZ (1000)

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
  private readonly calls: CallQueue;
  /** Where writes are encoded, in call order (the queue's). */
  private readonly box: Outbox;
  /** Dumps, which run as the queue's tasks. */
  private readonly listing: Listing;
  private readonly items: ItemWriter;
  private isClosed = false;

  /**
   * Opens the IPVS socket inside the namespace at `netns` (a path such as
   * /var/run/netns/NAME or /proc/PID/ns/net; '' for the current one).
   * Throws KernelError ENOPROTOOPT when the kernel has no IPVS.
   */
  constructor(
    readonly netns = '',
    opts: HandleOptions = {},
  ) {
    const conn = Conn.open(NETLINK_GENERIC, {
      netns,
      sendBytes: opts.batchBytes,
      receiveBytes: opts.receiveBytes,
      ioUring: opts.ioUring,
    });
    try {
      this.family = resolveFamily(conn, GENL_NAME);
    } catch (e) {
      conn.close();
      if (e instanceof KernelError && e.errno === 'ENOENT') {
        throw KernelError.of(
          'new Handle',
          'ENOPROTOOPT',
          `IPVS is not available${netns ? ` in ${netns}` : ''}: the kernel has no ip_vs module loaded (modprobe ip_vs)`,
        );
      }
      throw e;
    }
    this.conn = conn;
    this.calls = new CallQueue(conn);
    this.box = this.calls.box;
    this.writer = new RequestWriter(this.family.id, GENL_VERSION);
    this.items = new ItemWriter(this.writer, this.box);
    this.listing = new Listing(conn, this.writer, () => this.isClosed);
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
    this.calls.close();
    this.conn.close();
  }

  // ---- services ----

  newService(s: ServiceInput): Promise<void> {
    return this.single('newService', s);
  }

  /** Replaces every option of an existing service (left-out options take their defaults). */
  updateService(s: ServiceInput): Promise<void> {
    return this.single('updateService', s);
  }

  delService(s: ServiceId): Promise<void> {
    return this.single('delService', s);
  }

  /** Deletes every service (and so every destination) in the namespace. */
  async flush(): Promise<void> {
    await this.send('flush', this.req(Cmd.Flush));
  }

  /** One service with its current counters. Fails with ESRCH when it does not exist. */
  async getService(s: ServiceId): Promise<Service> {
    const n = normalServiceId(s, 'getService');
    const [reply] = await this.send('getService', serviceRequest(this.writer, this.box, Cmd.GetService, n), true);
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
    return this.calls.task(() => this.listing.services(o.counters ?? true));
  }

  /**
   * Every service with its destinations: one dump for the services, one per
   * service for destinations. `counters: false` leaves stats zero, for
   * callers that compare configuration only (decoding them is most of the cost).
   */
  getServicesWithDestinations(o: { counters?: boolean } = {}): Promise<ServiceWithDestinations[]> {
    const counters = o.counters ?? true;
    return this.calls.task(() => this.listing.withDestinations(this.listing.services(counters), counters));
  }

  /**
   * Lists every service with its destinations, with counters, into `m`,
   * rewriting the objects of its last refresh in place (see Mirror); returns
   * what changed since then.
   */
  refresh(m: Mirror): Promise<StateEvent[]> {
    return this.calls.task(() => this.listing.refresh(m));
  }

  /** Lists every service, with counters, into `m`, a mirror of services alone (see Mirror); returns what changed. */
  refreshServices(m: Mirror): Promise<StateEvent[]> {
    return this.calls.task(() => {
      this.listing.refreshServices(m);
      return m.finishServices();
    });
  }

  /**
   * The destinations of each of `services` (as listed, by index), with counters, handed to `each` as objects the
   * listing reuses: read them during the call, never keep them. For answers encoded as they are listed.
   */
  eachDestinations(
    services: readonly Service[],
    each: (k: number, destinations: readonly Destination[]) => void,
  ): Promise<void> {
    return this.calls.task(() => this.listing.eachDestinations(services, each));
  }

  /**
   * Services as listed (getServices), each with its destinations: one dump
   * per service, run many at once. For listing a few services of a large
   * table, a page at a time. A service gone meanwhile has none.
   */
  withDestinations(services: readonly Service[], o: { counters?: boolean } = {}): Promise<ServiceWithDestinations[]> {
    return this.calls.task(() => this.listing.withDestinations(services, o.counters ?? true));
  }

  // ---- destinations ----

  newDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    return this.single('newDestination', s, d);
  }

  /** Replaces every option of an existing destination (left-out options take their defaults). */
  updateDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    return this.single('updateDestination', s, d);
  }

  delDestination(s: ServiceId, d: DestinationInput): Promise<void> {
    return this.single('delDestination', s, d);
  }

  /** The destinations of one service. Fails with ESRCH when the service does not exist. */
  getDestinations(s: ServiceId): Promise<Destination[]> {
    const n = normalServiceId(s, 'getDestinations');
    return this.calls.task(() => {
      const dests = this.listing.destinations(n);
      // The kernel answers an empty dump for a missing service: tell the two apart.
      if (!dests.length) {
        const o = this.listing.query(n);
        if (!o.ok) throw o.error.within(`getDestinations ${describeService(n)}`);
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
    await this.send('zero', serviceRequest(this.writer, this.box, Cmd.Zero, n), true);
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
        throw new ValidationError(
          'setConfig',
          k,
          `${String(v)} is not a number of seconds in 0..${MAX_CONFIG_TIMEOUT}`,
          'config',
        );
      }
    }
    await this.send(
      'setConfig',
      this.req(Cmd.SetConfig, (e) => encodeConfig(e, c)),
    );
  }

  async getInfo(): Promise<Info> {
    const [reply] = await this.send('getInfo', this.req(Cmd.GetInfo));
    return decodeInfo(replyAttributes('getInfo', reply));
  }

  // ---- connection-synchronisation daemons ----

  async startDaemon(d: DaemonInput): Promise<void> {
    const n = normalDaemon(d, 'startDaemon');
    await this.send(
      `startDaemon ${n.mcastInterface}`,
      this.req(Cmd.NewDaemon, (e) => e.nested(CmdAttr.Daemon, () => encodeDaemon(e, n))),
    );
  }

  /** Stops the daemon in `state` (DaemonStateMaster or DaemonStateBackup). */
  async stopDaemon(state: number): Promise<void> {
    if (state !== 1 && state !== 2)
      throw new ValidationError('stopDaemon', 'state', 'must be master (1) or backup (2)', 'daemon');
    await this.send(
      'stopDaemon',
      this.req(Cmd.DelDaemon, (e) => e.nested(CmdAttr.Daemon, () => e.u32(DaemonAttr.State, state))),
    );
  }

  getDaemons(): Promise<Daemon[]> {
    return this.calls.task(() => this.listing.daemons());
  }

  // ---- batches ----

  /**
   * Applies many writes in as few sendmsg calls as fit and reports each
   * one's fate. The kernel carries on past a failed item, so later items
   * are still applied; the results say exactly which. Every item is
   * validated first: one invalid item refuses the whole batch, unsent.
   */
  batch(ops: readonly BatchOp[]): Promise<BatchItemResult[]> {
    const first = this.box.next;
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i]!;
      try {
        this.items.write(o.op, o.service, (o as { destination?: DestinationInput }).destination);
      } catch (e) {
        this.box.truncate(first);
        throw e instanceof KernelError ? e.within(`batch item ${i}: ${e.op}`, i) : e;
      }
    }
    return this.writes(first);
  }

  /**
   * `batch` for writes already validated (an Apply's plan): nothing is
   * normalised twice. `onSettled(done)` follows progress, write by write.
   */
  batchNormal(ops: readonly NormalBatchOp[], onSettled?: (done: number) => void): Promise<BatchItemResult[]> {
    const first = this.box.next;
    for (const o of ops) writeBatchOp(this.writer, this.box, o);
    return this.writes(first, onSettled);
  }

  // ---- plumbing ----

  /** The writes encoded from `first` on, queued as one batch. */
  private writes(first: number, onSettled?: (done: number) => void): Promise<BatchItemResult[]> {
    return new Promise((resolve) => {
      const w = new BatchWrites(this.box, first, this.box.next, resolve, onSettled);
      if (w.last > first) this.calls.push(w);
    });
  }

  /**
   * One write, queued. A plain function, not an async one, and nothing
   * kept but its request: calls issued together by the thousand then cost
   * little more than a batch.
   */
  private single(op: WriteOp, s: ServiceInput, d?: DestinationInput): Promise<void> {
    let at: number;
    try {
      at = this.items.write(op, s, d);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) =>
      this.calls.push(new CallWrites(this.box, at, op, true, false, resolve as () => void, reject)),
    );
  }

  /** A request of `cmd` in the write box: its number. */
  private req(cmd: number, fill?: (e: AttributeEncoder) => void): number {
    return this.writer.request(this.box, cmd, fill);
  }

  /**
   * One request (number `at` of the write box), its replies; a failure names `op` (and what the request names, when
   * `named`).
   */
  private send(op: string, at: number, named = false): Promise<Buffer[]> {
    return new Promise((resolve, reject) =>
      this.calls.push(new CallWrites(this.box, at, op, named, true, resolve as (r?: Buffer[]) => void, reject)),
    );
  }
}
