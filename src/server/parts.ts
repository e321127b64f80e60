// Cutting an answer that grows with the kernel's state into messages no
// bigger than the server's --max-response-bytes: every stock gRPC client
// refuses a message over 4 MiB. A list of services is written entry by
// entry into one buffer; a part ends before the entry that would take it
// over. A service too big for a part of its own is split: it fills the part
// and continues, the same service again with the rest of its destinations,
// at the start of the next. The message's other fields (time, more, a page
// token) are appended to each part: protobuf fields may come in any order.
import type { ServiceWithDestinations } from '../ipvs/index.js';
import { WireWriter, type EntryShape } from './wire.js';

/** Bytes kept in every part for the message's own fields (time, interval, more, next_page_token). */
export const HEADER_ROOM = 1024;
/** Room for an entry's length, which is written when the entry is closed. */
const LENGTH_ROOM = 4;

/** Where a part ended: before destination `destination` (0: the start) of the `service`-th service pushed. */
export interface PartEnd {
  service: number;
  destination: number;
}

export interface Part {
  /** The encoded entries of the part, a view into the cutter's buffer. */
  body: Buffer;
  /** Services (or pieces of one) in the part. */
  entries: number;
  /** Where the next part starts. */
  next: PartEnd;
}

export interface CutOptions {
  /** Most bytes of a part's entries. */
  budget: number;
  /** The tag of the response's list field. */
  listTag: number;
  shape: EntryShape;
  /** Stop after this many parts (a page); default no limit. */
  maxParts?: number;
  /** Most entries per part (a page_size); default no limit. */
  maxEntries?: number;
}

/**
 * Cuts services, pushed one by one, into parts of at most `budget` bytes.
 * `push` says whether more are taken: false once `maxParts` are full.
 */
export class ServiceCutter {
  readonly parts: Part[] = [];
  private readonly w = new WireWriter();
  private partStart = 0;
  private entries = 0;
  private pushed = 0;

  constructor(private readonly o: CutOptions) {}

  /** Writes service `s` from its destination `from` on. */
  push(s: ServiceWithDestinations, from = 0): boolean {
    const { w, o } = this;
    const index = this.pushed++;
    for (let j = from; ; ) {
      if (this.parts.length >= (o.maxParts ?? Infinity)) return false;
      if (this.entries >= (o.maxEntries ?? Infinity)) {
        this.endPart({ service: index, destination: j });
        continue;
      }
      const entryStart = w.pos;
      const entry = w.open(o.listTag);
      o.shape.head(w, s);
      let split = -1;
      for (let k = j; k < s.destinations.length; k++) {
        const destStart = w.pos;
        const at = w.open(o.shape.destinationsTag);
        o.shape.destination(w, s.destinations[k]!);
        w.close(at);
        if (!this.full()) continue;
        w.pos = destStart;
        split = k;
        break;
      }
      if (split < 0 && !this.full()) {
        w.close(entry);
        this.entries++;
        return this.parts.length < (o.maxParts ?? Infinity);
      }
      // Over the budget. After other entries: the part ends before this one, which starts the next whole.
      if (this.entries > 0) {
        w.pos = entryStart;
        this.endPart({ service: index, destination: j });
        continue;
      }
      // Alone in its part: the service is split here, after one destination at least.
      if (split <= j) throw new Error(`a service entry with one destination does not fit in ${o.budget} bytes`);
      w.close(entry);
      this.entries++;
      j = split;
      this.endPart({ service: index, destination: j });
    }
  }

  /** The parts, the last one closed (an empty list is one empty part). */
  finish(): Part[] {
    if (this.entries > 0 || this.parts.length === 0) this.endPart({ service: this.pushed, destination: 0 });
    return this.parts;
  }

  private full(): boolean {
    return this.w.pos + LENGTH_ROOM - this.partStart > this.o.budget;
  }

  private endPart(next: PartEnd): void {
    this.parts.push({ body: this.w.buf.subarray(this.partStart, this.w.pos), entries: this.entries, next });
    this.partStart = this.w.pos;
    this.entries = 0;
  }
}

/** Every part of `services`. */
export function cutServices(services: readonly ServiceWithDestinations[], o: CutOptions): Part[] {
  const c = new ServiceCutter(o);
  for (const s of services) c.push(s);
  return c.finish();
}

/** Encoded messages as whole fields of `tag` (a list's items), each a view into one buffer. */
export function fieldItems(tag: number, messages: readonly Uint8Array[]): Buffer[] {
  const w = new WireWriter();
  const ends: number[] = [];
  for (const m of messages) {
    w.bytes(tag, m);
    ends.push(w.pos);
  }
  return ends.map((end, i) => w.buf.subarray(i ? ends[i - 1] : 0, end));
}

/** Packs items (fieldItems: events, changes) into parts of at most `budget` bytes. */
export function packItems(items: readonly Buffer[], budget: number): Buffer[][] {
  const parts: Buffer[][] = [];
  let part: Buffer[] = [];
  let size = 0;
  for (const item of items) {
    if (item.length > budget) throw new Error(`an item of ${item.length} bytes does not fit in ${budget}`);
    if (size + item.length > budget && part.length) {
      parts.push(part);
      part = [];
      size = 0;
    }
    part.push(item);
    size += item.length;
  }
  if (part.length || !parts.length) parts.push(part);
  return parts;
}

/** One message: a part's body and the message's own fields. */
export function partMessage(body: Buffer | readonly Buffer[], header: Uint8Array): Buffer {
  const bodies = Array.isArray(body) ? body : [body as Buffer];
  return Buffer.concat([...bodies, header]);
}
