// What the kernel holds, read by dumps: services, each service's
// destinations (many dumps at once), daemons. Each listing runs as one task
// of the handle's call queue, so one at a time, and its requests go in a
// box of its own.
import type { RequestWriter } from '../genetlink/message.js';
import type { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { Conn, Outcome } from '../netlink/conn.js';
import { KernelError } from '../netlink/error.js';
import { Outbox } from '../netlink/outbox.js';
import { decodeReply, serviceRequest } from './command.js';
import { Cmd, CmdAttr } from './constants.js';
import { decodeDaemon } from './daemon.js';
import { decodeDestination } from './destination.js';
import type { Daemon, Destination, Service, ServiceWithDestinations } from './model.js';
import { decodeService, serviceWithDestinations } from './service.js';
import { describeService, type NormalServiceId } from './validate.js';

/** Destination dumps between turns of the event loop in a full listing (about 10 ms in user-mode Linux). */
const DUMP_CHUNK = 128;
const DEST_DUMP = 'getDestinations';

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

export class Listing {
  private readonly box = new Outbox(4096);

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
    // Chunks of dumps run together (see Conn.dumpMany); the event loop gets a turn between chunks.
    for (let from = 0; from < out.length; from += DUMP_CHUNK) {
      const chunk = out.slice(from, from + DUMP_CHUNK);
      const decoders = chunk.map((s) => (d: AttributeDecoder) => decodeDestination(d, s.addressFamily, counters));
      const box = this.fresh();
      const first = box.next;
      for (const s of chunk) serviceRequest(this.writer, box, Cmd.GetDest, s);
      try {
        this.conn.dumpMany(
          box,
          first,
          box.next,
          (k, b, start, end) =>
            chunk[k]!.destinations.push(decodeReply(DEST_DUMP, b, CmdAttr.Dest, decoders[k]!, start, end)),
          (k) => {
            chunk[k]!.destinations = [];
          },
        );
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        throw e.within(
          e.index === undefined ? 'getServicesWithDestinations' : `getDestinations ${describeService(chunk[e.index]!)}`,
        );
      }
      if (from + DUMP_CHUNK < out.length) {
        await yieldToEventLoop();
        if (this.closed()) throw KernelError.of('getServicesWithDestinations', 'EBADF', 'the handle is closed');
      }
    }
    return out;
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
