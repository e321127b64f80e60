// A connection entry's protobuf encoding, written straight from the core's
// model into the page's buffer: building a protobuf-es message per entry and
// serializing it cost several times the parsing of its line. The bytes are
// exactly what toBinary writes for the same Connection message
// (test/unit/connection.test.ts holds it to that); the field numbers come
// from the generated descriptor.
import * as cpb from '../../gen/ts/ipvs/v1/connection_pb.js';
import type { Connection } from '../ipvs/index.js';
import type { WireWriter } from './wire.js';

const VARINT = 0;
const LEN = 2;
const tag = (field: keyof typeof cpb.ConnectionSchema.field, wire: number) => {
  const n = cpb.ConnectionSchema.field[field]?.number;
  if (n === undefined) throw new Error(`ipvs.v1.Connection has no field ${field}`);
  return (n << 3) | wire;
};
const T = {
  protocol: tag('protocol', VARINT),
  addressFamily: tag('addressFamily', VARINT),
  clientAddress: tag('clientAddress', LEN),
  clientPort: tag('clientPort', VARINT),
  virtualAddress: tag('virtualAddress', LEN),
  virtualPort: tag('virtualPort', VARINT),
  destinationAddressFamily: tag('destinationAddressFamily', VARINT),
  destinationAddress: tag('destinationAddress', LEN),
  destinationPort: tag('destinationPort', VARINT),
  state: tag('state', LEN),
  expiresSeconds: tag('expiresSeconds', VARINT),
  forwardingMethod: tag('forwardingMethod', VARINT),
  template: tag('template', VARINT),
  fwMark: tag('fwMark', VARINT),
  peName: tag('peName', LEN),
  peData: tag('peData', LEN),
};

function uint(w: WireWriter, t: number, v: number, always = false): void {
  if (v === 0 && !always) return;
  w.varint(t);
  w.varint(v);
}

function string(w: WireWriter, t: number, s: string): void {
  if (!s) return;
  w.reserve(s.length * 3 + 12);
  w.varint(t);
  // Short ASCII (addresses, states: all but an engine's data), its length one byte, is copied char by char: a
  // Buffer.write call costs more than the few bytes.
  if (s.length < 128) {
    const b = w.buf;
    let p = w.pos + 1;
    let i = 0;
    for (; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch > 127) break;
      b[p++] = ch;
    }
    if (i === s.length) {
      b[w.pos] = s.length;
      w.pos = p;
      return;
    }
  }
  w.varint(Buffer.byteLength(s));
  w.pos += w.buf.write(s, w.pos);
}

/** The fields of a Connection message for `c`; `forwardingMethod` undefined leaves that field out. */
export function connectionFields(w: WireWriter, c: Connection, forwardingMethod: number | undefined): void {
  uint(w, T.protocol, c.protocol);
  uint(w, T.addressFamily, c.addressFamily);
  string(w, T.clientAddress, c.clientAddress);
  uint(w, T.clientPort, c.clientPort);
  string(w, T.virtualAddress, c.virtualAddress);
  uint(w, T.virtualPort, c.virtualPort);
  uint(w, T.destinationAddressFamily, c.destinationAddressFamily);
  string(w, T.destinationAddress, c.destinationAddress);
  uint(w, T.destinationPort, c.destinationPort);
  string(w, T.state, c.state);
  uint(w, T.expiresSeconds, c.expiresSeconds);
  if (forwardingMethod !== undefined) uint(w, T.forwardingMethod, forwardingMethod, true);
  uint(w, T.template, c.template ? 1 : 0);
  uint(w, T.fwMark, c.fwMark);
  string(w, T.peName, c.peName);
  string(w, T.peData, c.peData);
}
