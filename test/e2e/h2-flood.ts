// A client that floods one HTTP/2 connection with gRPC streams, written by
// hand so that it can do what no gRPC library does: ignore the server's
// SETTINGS_MAX_CONCURRENT_STREAMS and reset streams as fast as it opens
// them. Plain text (h2c), HPACK literals only, one request message a stream.
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const DATA = 0;
const HEADERS = 1;
const RST_STREAM = 3;
const SETTINGS = 4;
const GOAWAY = 7;
const END_STREAM = 1;
const END_HEADERS = 4;
const ACK = 1;
const REFUSED_STREAM = 7;
const CANCEL = 8;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** An HPACK literal header field without indexing, new name, no Huffman (names and values under 127 bytes). */
const literal = (name: string, value: string) =>
  Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);

export interface FloodOptions {
  /** Streams to open in all. */
  attempts: number;
  /** Streams opened together, without waiting for any answer. */
  burst: number;
  /** Reset each burst's streams (RST_STREAM CANCEL) this long after opening them; none: keep them open. */
  resetAfterMs?: number;
}

export interface FloodResult {
  /** Streams the client opened (HEADERS written). */
  attempts: number;
  /** Streams the server answered (response HEADERS). */
  answered: number;
  /** Streams the server refused (RST_STREAM REFUSED_STREAM). */
  refused: number;
  /** The server's GOAWAY, if it sent one: its error code and the last stream it processed. */
  goaway?: { code: number; lastStream: number };
  ms: number;
}

/** Floods `port` on loopback with streams of `path` carrying `request` (a protobuf message). */
export async function floodStreams(
  port: number,
  path: string,
  request: Uint8Array,
  o: FloodOptions,
): Promise<FloodResult> {
  const block = Buffer.concat([
    literal(':method', 'POST'),
    literal(':scheme', 'http'),
    literal(':path', path),
    literal(':authority', 'localhost'),
    literal('content-type', 'application/grpc'),
    literal('te', 'trailers'),
  ]);
  const message = Buffer.alloc(5 + request.length);
  message.writeUInt32BE(request.length, 1);
  message.set(request, 5);
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(CANCEL);

  const r: FloodResult = { attempts: 0, answered: 0, refused: 0, ms: 0 };
  const s = connect(port, '127.0.0.1');
  let closed = false;
  s.on('close', () => {
    closed = true;
  });
  s.on('error', () => {});
  let buf = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      const [type, flags] = [buf[3]!, buf[4]!];
      const p = buf.subarray(9, 9 + len);
      buf = buf.subarray(9 + len);
      if (type === HEADERS) r.answered++;
      else if (type === RST_STREAM && p.readUInt32BE(0) === REFUSED_STREAM) r.refused++;
      else if (type === GOAWAY) r.goaway ??= { lastStream: p.readUInt32BE(0) & 0x7fffffff, code: p.readUInt32BE(4) };
      // Acknowledged like any client's, so that its limit is in force, not pending.
      else if (type === SETTINGS && !(flags & ACK)) s.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
    }
  });
  await once(s, 'connect');
  s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  s.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  await sleep(100);

  const t = performance.now();
  let next = 1;
  while (r.attempts < o.attempts && !closed) {
    const ids = Array.from({ length: Math.min(o.burst, o.attempts - r.attempts) }, (_, i) => next + 2 * i);
    next += 2 * ids.length;
    s.write(
      Buffer.concat(
        ids.flatMap((id) => [frame(HEADERS, END_HEADERS, id, block), frame(DATA, END_STREAM, id, message)]),
      ),
    );
    r.attempts += ids.length;
    if (o.resetAfterMs === undefined) continue;
    await sleep(o.resetAfterMs);
    s.write(Buffer.concat(ids.map((id) => frame(RST_STREAM, 0, id, cancel))));
    await sleep(o.resetAfterMs);
  }
  // What the server says of the last of them.
  for (let i = 0; i < 50 && !closed && !r.goaway; i++) await sleep(100);
  r.ms = Math.round(performance.now() - t);
  s.destroy();
  return r;
}
