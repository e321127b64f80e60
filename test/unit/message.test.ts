import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeEncoder } from '../../src/netlink/attribute-encoder.js';
import { KernelError } from '../../src/netlink/error.js';
import {
  Flags,
  MessageType,
  parseMessages,
  parseStatus,
  writeMessage,
  type Message,
} from '../../src/netlink/message.js';

const collect = (buf: Buffer): Message[] => {
  const out: Message[] = [];
  parseMessages(buf, (m) => out.push({ ...m, payload: Buffer.from(m.payload) }));
  return out;
};

describe('netlink messages', () => {
  it('parse back to the headers and payloads that were written, many per datagram', () => {
    const msg = fc.record({
      type: fc.integer({ min: 0, max: 0xffff }),
      flags: fc.integer({ min: 0, max: 0xffff }),
      seq: fc.integer({ min: 0, max: 0xffffffff }),
      payload: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 10 }), (msgs) => {
        const buf = Buffer.alloc(msgs.length * 96);
        let end = 0;
        for (const m of msgs) end = writeMessage(buf, end, m.type, m.flags, m.seq, m.payload);
        const parsed = collect(buf.subarray(0, end));
        expect(
          parsed.map((m) => ({ type: m.type, flags: m.flags, seq: m.seq, payload: new Uint8Array(m.payload) })),
        ).toEqual(msgs.map((m) => ({ ...m, payload: new Uint8Array(m.payload) })));
      }),
    );
  });

  it('refuses a length that overruns the datagram', () => {
    const buf = Buffer.alloc(16);
    buf.writeUInt32LE(40, 0);
    expect(() => collect(buf)).toThrow(KernelError);
  });

  it('reads an error with the kernel extended-ack text from a capped NLMSG_ERROR', () => {
    // int error, the echoed request header, then NLMSGERR_ATTR_MSG.
    const tlvs = new AttributeEncoder().string(1, 'Attribute failed policy validation').u32(2, 20).finish();
    const payload = Buffer.concat([Buffer.alloc(4), Buffer.alloc(16), tlvs]);
    payload.writeInt32LE(-22, 0);
    const s = parseStatus({ type: MessageType.Error, flags: Flags.Capped | Flags.AckTlvs, payload });
    expect(s).toEqual({ errno: 22, text: 'Attribute failed policy validation' });
  });

  it('reads an ack as errno 0, and a dump DONE status', () => {
    const ack = Buffer.alloc(20);
    expect(parseStatus({ type: MessageType.Error, flags: Flags.Capped, payload: ack }).errno).toBe(0);
    const done = Buffer.alloc(4);
    done.writeInt32LE(-3, 0);
    expect(parseStatus({ type: MessageType.Done, flags: 0, payload: done }).errno).toBe(3);
  });

  it('status parsing never throws anything but KernelError on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 0xffff }), (bytes, flags) => {
        try {
          parseStatus({ type: MessageType.Error, flags, payload: Buffer.from(bytes) });
        } catch (e) {
          expect(e).toBeInstanceOf(KernelError);
        }
      }),
    );
  });
});
