// What the kernel holds, read by dumps: services, each service's
// destinations (many dumps at once), daemons. Each listing runs as one task
// of the handle's call queue, so one at a time, and its requests go in a
// box of its own.
import type { RequestWriter } from '../genetlink/message.js';
import type { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { Conn, Outcome } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';
import { Outbox } from '../netlink/outbox.js';
import { ReplyStore } from '../netlink/reply-store.js';
import { decodeReply, serviceRequest } from './command.js';
import { Cmd, CmdAttr } from './constants.js';
import { decodeDaemon } from './daemon.js';
import { decodeDestination, emptyDestination } from './destination.js';
import type { StateEvent } from './diff.js';
import type { Mirror } from './mirror.js';
import type { Daemon, Destination, Service, ServiceWithDestinations } from './model.js';
import { decodeService, emptyService, serviceWithDestinations } from './service.js';
import { zeroStats } from './stats.js';
import { describeService, type NormalServiceId } from './validate.js';

/** Destination dumps between turns of the event loop in a full listing (about 10 ms in user-mode Linux). */
const DUMP_CHUNK = 128;
const DEST_DUMP = 'getDestinations';

/** How a chunk of destination dumps is taken (see Listing.dumpChunks). */
interface ChunkReader {
  read(k: number, buf: Buffer, start: number, end: number): void;
  reset(k: number): void;
  done(): void;
}

/** Objects to decode into, made once and reused by every listing. */
class ScratchPool<T> {
  private readonly made: T[] = [];
  constructor(private readonly make: () => T) {}

  at(i: number): T {
    while (this.made.length <= i) this.made.push(this.make());
    return this.made[i]!;
  }
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

export class Listing {
  private readonly box = new Outbox(4096);
  private readonly store = new ReplyStore();
  private readonly scratchService = { ...emptyService(), stats: zeroStats() };
  private readonly scratchDestinations = new ScratchPool(() => ({ ...emptyDestination(0), stats: zeroStats() }));

  constructor(
    private readonly conn: Conn,
    private readonly writer: RequestWriter,
    private readonly closed: () => boolean,
  ) {}

  /** Every service; without `counters`, stats are left zero. */
  services(counters = true): Service[] {
    return this.dump(
      'getServices',
      (box) => this.writer.request(box, Cmd.GetService),
      CmdAttr.Service,
      (d) => decodeService(d, counters),
    );
  }

  /** The destinations of one service (none, for a missing one: see `query`). */
  destinations(s: NormalServiceId): Destination[] {
    return this.dump(
      `getDestinations ${describeService(s)}`,
      (box) => serviceRequest(this.writer, box, Cmd.GetDest, s),
      CmdAttr.Dest,
      (d) => decodeDestination(d, s.addressFamily),
    );
  }

  daemons(): Daemon[] {
    return this.dump('getDaemons', (box) => this.writer.request(box, Cmd.GetDaemon), CmdAttr.Daemon, decodeDaemon);
  }

  /** GetService of one service, as a task's own exchange. */
  query(s: NormalServiceId): Outcome {
    const box = this.fresh();
    return this.conn.execute(box, serviceRequest(this.writer, box, Cmd.GetService, s))[0]!;
  }

  /** `services`, each with its destinations: one dump per service, run many at once; the event loop gets turns. */
  async withDestinations(services: readonly Service[], counters: boolean): Promise<ServiceWithDestinations[]> {
    const out = services.map((s) => serviceWithDestinations(s, []));
    await this.dumpChunks(out, (chunk) => {
      const decoders = chunk.map((s) => (d: AttributeDecoder) => decodeDestination(d, s.addressFamily, counters));
      return {
        read: (k, b, start, end) =>
          chunk[k]!.destinations.push(decodeReply(DEST_DUMP, b, CmdAttr.Dest, decoders[k]!, start, end)),
        reset: (k) => {
          chunk[k]!.destinations = [];
        },
        done: () => {},
      };
    });
    return out;
  }

  /**
   * Lists every service and its destinations into `m`, rewriting its objects; returns what changed. Each dump's
   * replies are kept as bytes until the dump has ended, then decoded one by one into a scratch object that `m`
   * copies from: nothing is allocated per object but what changed.
   */
  async refresh(m: Mirror): Promise<StateEvent[]> {
    await this.eachDestinations(this.refreshServices(m), (_, destinations) => {
      m.beginDestinations();
      for (const d of destinations) m.destination(d);
      m.endDestinations();
    });
    return m.finish();
  }

  /** The services phase of a refresh (see `refresh`): lists every service into `m`; returns its live services. */
  refreshServices(m: Mirror): readonly ServiceWithDestinations[] {
    const { store, scratchService } = this;
    store.clear(1);
    const box = this.fresh();
    try {
      this.conn.dump(
        box,
        this.writer.request(box, Cmd.GetService),
        (b, start, end) => store.add(0, b, start, end),
        () => store.reset(0),
      );
    } catch (e) {
      throw e instanceof KernelError ? e.within('getServices') : e;
    }
    m.beginServices();
    const read = (d: AttributeDecoder) => decodeService(d, true, scratchService);
    store.each(0, (b, start, end) => m.service(decodeReply('getServices', b, CmdAttr.Service, read, start, end)));
    return m.endServices();
  }

  /**
   * The destinations of each of `services`, with counters, handed to `each` as objects this listing reuses: read
   * them during the call, never keep them. For answers encoded as they are listed (pages): nothing is allocated
   * per destination.
   */
  async eachDestinations(
    services: readonly NormalServiceId[],
    each: (k: number, destinations: readonly Destination[]) => void,
  ): Promise<void> {
    const scratch = this.scratchDestinations;
    const found: Destination[] = [];
    // One decoder for every reply: it reads into the next scratch object, in the family of the service at hand.
    let family = 0;
    const read = (a: AttributeDecoder) => decodeDestination(a, family, true, scratch.at(found.length));
    const keep = (b: Buffer, start: number, end: number) => {
      found.push(decodeReply(DEST_DUMP, b, CmdAttr.Dest, read, start, end));
    };
    await this.dumpChunks(services, (chunk, from) => {
      this.store.clear(chunk.length);
      return {
        read: (k, b, start, end) => this.store.add(k, b, start, end),
        reset: (k) => this.store.reset(k),
        done: () => {
          for (let k = 0; k < chunk.length; k++) {
            family = chunk[k]!.addressFamily;
            found.length = 0;
            this.store.each(k, keep);
            each(from + k, found);
          }
        },
      };
    });
  }

  /**
   * Dumps the destinations of each of `services`, a chunk of dumps at a time (see Conn.dumpMany); the event loop
   * gets a turn between chunks. `start` says how to take a chunk's replies: `read` and `reset` as dumpMany's, `done`
   * once all its dumps have ended.
   */
  private async dumpChunks<S extends NormalServiceId>(
    services: readonly S[],
    start: (chunk: readonly S[], from: number) => ChunkReader,
  ): Promise<void> {
    for (let from = 0; from < services.length; from += DUMP_CHUNK) {
      const chunk = services.slice(from, from + DUMP_CHUNK);
      const reader = start(chunk, from);
      const box = this.fresh();
      const first = box.next;
      for (const s of chunk) serviceRequest(this.writer, box, Cmd.GetDest, s);
      try {
        this.conn.dumpMany(box, first, box.next, reader.read, reader.reset);
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        throw e.within(
          e.index === undefined ? 'getServicesWithDestinations' : `getDestinations ${describeService(chunk[e.index]!)}`,
        );
      }
      reader.done();
      if (from + DUMP_CHUNK < services.length) {
        await yieldToEventLoop();
        if (this.closed()) throw KernelError.of('getServicesWithDestinations', 'EBADF', 'the handle is closed');
      }
    }
  }

  /** The box, emptied: one listing runs at a time. */
  private fresh(): Outbox {
    this.box.clear();
    return this.box;
  }

  private dump<T>(op: string, encode: (box: Outbox) => number, type: number, decode: (d: AttributeDecoder) => T): T[] {
    let out: T[] = [];
    const box = this.fresh();
    try {
      this.conn.dump(
        box,
        encode(box),
        (b, start, end) => out.push(decodeReply(op, b, type, decode, start, end)),
        () => {
          out = [];
        },
      );
    } catch (e) {
      throw e instanceof KernelError ? e.within(op) : e;
    }
    return out;
  }
}
