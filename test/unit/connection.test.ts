// The connection table's line parser, its reader and ipvsctl's formatting:
// lines recorded from the kernel (test/fixtures/record-connections.sh) read
// as ipvsadm -Lnc read them; any entry written as ip_vs_conn_seq_show writes
// it reads back whole; anything else is refused with one error.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { ConnectionSchema, type Connection as ConnectionMessage } from '../../gen/ts/ipvs/v1/connection_pb.js';
import { describe, expect, it } from 'vitest';
import { CONNECTION_HEADER_LINES, formatConnection } from '../../src/cli/connection-format.js';
import { addressBytes, formatAddress } from '../../src/inet/address.js';
import { CONNECTION_HEADER, KernelError, parseConnection, type Connection } from '../../src/ipvs/index.js';
import { eachLine } from '../../src/procfs/net-file.js';
import { connectionFields } from '../../src/server/connection-wire.js';
import { WireWriter } from '../../src/server/wire.js';

/** An entry's bytes as the server writes them. */
function wire(c: Connection, forwardingMethod?: number): Buffer {
  const w = new WireWriter(8); // small, so that growing is exercised too
  connectionFields(w, c, forwardingMethod);
  return Buffer.from(w.buf.subarray(0, w.pos));
}
/** The message the server sends for an entry. */
const sent = (c: Connection, forwardingMethod?: number): ConnectionMessage =>
  fromBinary(ConnectionSchema, wire(c, forwardingMethod));

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures', name), 'utf8');

const PROTOCOL_NAMES: Record<number, string> = { 0: 'IP', 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
const hex = (v: number, digits: number) => v.toString(16).toUpperCase().padStart(digits, '0');

/** An address as ip_vs_conn_seq_show writes it: %08X of an IPv4 address, %pI6 of an IPv6 one. */
function kernelAddress(family: number, address: string): string {
  const b = addressBytes(family, address);
  if (family === 2) return hex(b.readUInt32BE(0), 8);
  return [...Array(8).keys()]
    .map((g) =>
      b
        .readUInt16BE(g * 2)
        .toString(16)
        .padStart(4, '0'),
    )
    .join(':');
}

/** The line the kernel writes for `c`: "%-3s %08X %04X %08X %04X %s %04X %-11s %7u%s\n". */
function kernelLine(c: Connection): string {
  const pe = c.peName ? ` ${c.peName} ${c.peData}` : '';
  return `${(PROTOCOL_NAMES[c.protocol] ?? `IP_${c.protocol}`).padEnd(3)} ${kernelAddress(c.addressFamily, c.clientAddress)} ${hex(c.clientPort, 4)} ${kernelAddress(c.addressFamily, c.virtualAddress)} ${hex(c.virtualPort, 4)} ${kernelAddress(c.destinationAddressFamily, c.destinationAddress)} ${hex(c.destinationPort, 4)} ${c.state.padEnd(11)} ${String(c.expiresSeconds).padStart(7)}${pe}`;
}

const family = fc.constantFrom(2, 10);
const address = (f: number) => fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatAddress(f, b));
const port = fc.oneof(fc.constant(0), fc.nat({ max: 65535 }));
const STATES = ['NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT'];
const connection: fc.Arbitrary<Connection> = fc
  .record({
    protocol: fc.constantFrom(0, 6, 17, 132, 50),
    addressFamily: family,
    destinationAddressFamily: family,
    clientPort: port,
    virtualPort: port,
    destinationPort: port,
    state: fc.constantFrom(...STATES, 'LAST_ACK', 'LISTEN', 'SYNACK', 'UDP', 'ASSURED', 'INIT1', 'ERR!'),
    expiresSeconds: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: 0xffffffff })),
    pe: fc.option(fc.stringMatching(/^[!-~][ -~]{0,40}$/), { nil: undefined }),
  })
  .chain((r) =>
    fc.record({
      client: address(r.addressFamily),
      virtual: address(r.addressFamily),
      destination: address(r.destinationAddressFamily),
      r: fc.constant(r),
    }),
  )
  .map(({ client, virtual, destination, r }) => {
    const template = r.clientPort === 0 && (r.state === 'NONE' || r.state === 'ASSURED');
    return {
      protocol: r.protocol,
      addressFamily: r.addressFamily,
      clientAddress: client,
      clientPort: r.clientPort,
      virtualAddress: virtual,
      virtualPort: r.virtualPort,
      destinationAddressFamily: r.destinationAddressFamily,
      destinationAddress: destination,
      destinationPort: r.destinationPort,
      state: r.state,
      expiresSeconds: r.expiresSeconds,
      template,
      fwMark: template && r.protocol === 0 ? addressBytes(r.addressFamily, virtual).readUInt32BE(0) : 0,
      peName: r.pe === undefined ? '' : 'sip',
      peData: r.pe ?? '',
    };
  });

const refused = (line: string) => {
  try {
    parseConnection(line);
  } catch (e) {
    return e instanceof KernelError && e.errno === 'EPROTO' && e.op === 'read /proc/net/ip_vs_conn';
  }
  return false;
};

describe('the connection line parser', () => {
  it('reads the lines recorded from the kernel as ipvsadm -Lnc shows them (expiry within 1 s: read apart)', () => {
    const [header, ...lines] = fixture('ip_vs_conn.txt').trimEnd().split('\n');
    expect(header).toBe(CONNECTION_HEADER);
    const ipvsadm = fixture('ipvsadm-Lnc.txt');
    expect(ipvsadm.startsWith(CONNECTION_HEADER_LINES)).toBe(true);
    const theirs = ipvsadm.slice(CONNECTION_HEADER_LINES.length).trimEnd().split('\n');
    const entries = lines.map(parseConnection);
    const ours = entries.map((c) => formatConnection(sent(c)).trimEnd());
    const noExpiry = (l: string) => `${l.slice(0, 4)}${l.slice(10)}`;
    expect(ours.map(noExpiry)).toEqual(theirs.map(noExpiry));
    const seconds = (l: string) => Number(l.slice(4, 6)) * 60 + Number(l.slice(7, 9));
    for (const [i, l] of ours.entries()) expect(Math.abs(seconds(l) - seconds(theirs[i]!))).toBeLessThanOrEqual(1);

    expect(entries.filter((c) => c.template).map((c) => [c.addressFamily, c.virtualPort, c.peName, c.peData])).toEqual([
      [10, 53, '', ''],
      [2, 53, '', ''],
      [2, 5060, 'sip', 'abc123@198.51.100.2'],
    ]);
    expect(entries.find((c) => c.state === 'TIME_WAIT' && c.addressFamily === 10)).toMatchObject({
      protocol: 6,
      clientAddress: '2001:db8:1::2',
      virtualAddress: '2001:db8:10::10',
      virtualPort: 443,
      destinationAddress: '2001:db8:2::2',
      destinationPort: 8443,
      template: false,
    });
  });

  it('reads back every entry written as the kernel writes it, IPv4 and IPv6', () => {
    fc.assert(
      fc.property(connection, (c) => {
        expect(parseConnection(kernelLine(c))).toEqual(c);
      }),
      { numRuns: 1000 },
    );
  }, 30_000);

  it('is written to the wire byte for byte as protobuf-es writes its message', () => {
    fc.assert(
      fc.property(connection, fc.option(fc.nat({ max: 4 }), { nil: undefined }), (c, method) => {
        const { template, ...fields } = c;
        const m = create(ConnectionSchema, { ...fields, template, forwardingMethod: method });
        expect(wire(c, method)).toEqual(Buffer.from(toBinary(ConnectionSchema, m)));
      }),
      { numRuns: 1000 },
    );
  }, 30_000);

  it('finds a firewall-mark template’s mark in its virtual address', () => {
    const c = parseConnection('IP  C6336400 0000 00000007 0000 CB007102 0000 NONE             30');
    expect(c).toMatchObject({ protocol: 0, template: true, fwMark: 7, virtualAddress: '0.0.0.7' });
  });

  it('refuses anything else with one error: KernelError EPROTO', () => {
    const good = 'TCP C6336402 85C6 C000020A 0050 CB007102 1F90 TIME_WAIT       111';
    for (const bad of [
      '',
      CONNECTION_HEADER,
      good.replace('C6336402', 'c6336402'), // IPv4 is upper-case hex
      good.replace('85C6', '85C'),
      good.replace('1F90', '1F900'),
      good.replace('TCP', 'XYZ'),
      good.replace('TCP', 'IP_256'),
      good.replace('111', '4294967296'),
      good.replace('111', '-1'),
      good.replace(' 111', ''),
      good.replace('C000020A', '2001:0db8:0010:0000:0000:0000:0000:0010'), // client and virtual of one family
      good.replace('C6336402', '2001:db8::2'), // %pI6 is never compressed
      `${good} sip`,
      good.slice(0, 40),
    ])
      expect([bad, refused(bad)]).toEqual([bad, true]);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseConnection(s);
        } catch {
          expect(refused(s)).toBe(true);
          return;
        }
        // Whatever it read, it reads as the kernel would write it.
        expect(parseConnection(kernelLine(parseConnection(s)))).toEqual(parseConnection(s));
      }),
    );
    // A line cut anywhere before its expiry is refused.
    fc.assert(
      fc.property(connection, fc.nat(), (c, at) => {
        const line = kernelLine(c);
        const end =
          line.length - (c.peName ? c.peName.length + c.peData.length + 2 : 0) - String(c.expiresSeconds).length;
        expect(refused(line.slice(0, at % end))).toBe(true);
      }),
    );
  });
});

describe('a /proc/net file read a chunk at a time', () => {
  it('hands over exactly its lines after those it skips, whatever the chunk size, and stops when told', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lines-'));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.stringMatching(/^[ -~]{0,70}$/), { maxLength: 30 }),
          fc.integer({ min: 1, max: 80 }),
          fc.boolean(),
          fc.nat(),
          fc.nat({ max: 35 }),
          async (lines, chunk, newlineAtEnd, stopAfter, skip) => {
            const text = lines.join('\n') + (newlineAtEnd && lines.length ? '\n' : '');
            const file = join(dir, 'f');
            writeFileSync(file, text);
            const fd = openSync(file, 'r');
            const got: string[] = [];
            const expected = text ? text.replace(/\n$/, '').split('\n') : [];
            const limit = stopAfter % (expected.length + 2);
            try {
              await eachLine(fd, (l) => got.push(l) < limit, chunk, 'read', skip);
            } finally {
              closeSync(fd);
            }
            expect(got).toEqual(expected.slice(skip).slice(0, Math.max(1, limit)));
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('ipvsctl list -c', () => {
  it('writes the expiry as ipvsadm does: minutes past 99 widen the column', () => {
    const c = parseConnection('TCP C6336402 85C6 C000020A 0050 CB007102 1F90 ESTABLISHED  360000');
    expect(formatConnection(sent(c))).toBe(
      'TCP 6000:00 ESTABLISHED 198.51.100.2:34246 192.0.2.10:80      203.0.113.2:8080\n',
    );
  });
});
