// Route netlink's codecs, property-tested: struct ifaddrmsg and struct
// ifinfomsg at their named offsets, address and link requests read back by
// the reply decoders (a request and a reply share the layout), and
// malformed payloads refused as EBADMSG rather than misread.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AF_INET, AF_INET6, formatAddress } from '../../src/inet/address.js';
import { KernelError } from '../../src/netlink/error.js';
import {
  IFA_F_NODAD,
  IFADDRMSG,
  IFF_UP,
  IFINFOMSG,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RTM_NEWLINK,
} from '../../src/netlink/linux.js';
import { HEADER_LENGTH } from '../../src/netlink/message.js';
import { Outbox } from '../../src/netlink/outbox.js';
import {
  decodeAddress,
  writeDelAddress,
  writeGetAddresses,
  writeNewAddress,
  type AddressTarget,
} from '../../src/rtnetlink/address.js';
import { decodeLink, writeGetLink, writeNewDummy } from '../../src/rtnetlink/link.js';
import {
  readIfAddrHeader,
  readIfInfoHeader,
  writeIfAddrHeader,
  writeIfInfoHeader,
} from '../../src/rtnetlink/message.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const family = fc.constantFrom(AF_INET, AF_INET6);
const target: fc.Arbitrary<AddressTarget> = family.chain((f) =>
  fc.record({
    family: fc.constant(f),
    address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatAddress(f, b)),
    prefixLength: fc.integer({ min: 0, max: f === AF_INET ? 32 : 128 }),
    index: fc.integer({ min: 1, max: 0x7fffffff }),
    flags: u8,
    scope: u8,
  }),
);
/** An interface name as the kernel takes one: 1 to 15 bytes of letters, digits and a few marks. */
const ifname = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,14}$/);

/** The message `at` of `box`: its header's type and flags, and its payload. */
function message(box: Outbox, at: number) {
  const page = box.page(at);
  const start = box.offset(at);
  return {
    type: page.readUInt16LE(start + 4),
    flags: page.readUInt16LE(start + 6),
    length: page.readUInt32LE(start),
    payload: Buffer.from(box.payload(at)),
  };
}

const ebadmsg = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof KernelError && e.errno === 'EBADMSG';
  }
  return false;
};

describe('struct ifaddrmsg and struct ifinfomsg', () => {
  it('read back what is written, field by field at the named offsets', () => {
    fc.assert(
      fc.property(
        fc.record({ family: u8, prefixLength: u8, flags: u8, scope: u8, index: u32 }),
        fc.integer({ min: 0, max: 8 }),
        (h, at) => {
          const buf = Buffer.alloc(at + IFADDRMSG.size, 0xaa);
          writeIfAddrHeader(buf, at, h);
          expect(readIfAddrHeader(buf, at, buf.length)).toEqual(h);
          expect(buf.readUInt32LE(at + IFADDRMSG.ifa_index)).toBe(h.index);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.record({
          family: u8,
          type: fc.integer({ min: 0, max: 0xffff }),
          index: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
          flags: u32,
          change: u32,
        }),
        (h) => {
          const buf = Buffer.alloc(IFINFOMSG.size, 0xaa);
          writeIfInfoHeader(buf, 0, h);
          expect(readIfInfoHeader(buf, 0, buf.length)).toEqual(h);
          expect(buf[1]).toBe(0xaa); // __ifi_pad is left alone
        },
      ),
    );
  });

  it('refuses a payload shorter than the struct', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: IFINFOMSG.size - 1 }), (n) => {
        const buf = Buffer.alloc(n);
        expect(ebadmsg(() => readIfInfoHeader(buf, 0, n))).toBe(true);
        if (n < IFADDRMSG.size) expect(ebadmsg(() => readIfAddrHeader(buf, 0, n))).toBe(true);
      }),
    );
  });
});

describe('address requests', () => {
  it('carry the address as IFA_LOCAL and IFA_ADDRESS after ifaddrmsg, and decode as the kernel lists it', () => {
    fc.assert(
      fc.property(target, fc.boolean(), (t, add) => {
        const box = new Outbox(256);
        const at = (add ? writeNewAddress : writeDelAddress)(box, t);
        const m = message(box, at);
        expect(m.type).toBe(add ? RTM_NEWADDR : RTM_DELADDR);
        // A create says so, and wants EEXIST rather than a silent replace.
        expect(m.flags).toBe(add ? NLM_F_CREATE | NLM_F_EXCL : 0);
        expect(m.length).toBe(HEADER_LENGTH + m.payload.length);
        const got = decodeAddress(m.payload, 0, m.payload.length);
        expect(got).toEqual({ ...t, label: '', peer: '', broadcast: '' });
      }),
    );
  });

  it('dump every address of a family', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, AF_INET, AF_INET6), (f) => {
        const box = new Outbox(256);
        const m = message(box, writeGetAddresses(box, f));
        expect([m.type, m.payload.length, m.payload[IFADDRMSG.ifa_family]]).toEqual([RTM_GETADDR, IFADDRMSG.size, f]);
        expect(m.payload.subarray(1).every((b) => b === 0)).toBe(true);
      }),
    );
  });

  it('refuse to read an address of the wrong size for its family, or none at all', () => {
    fc.assert(
      fc.property(target, fc.integer({ min: 0, max: 20 }), (t, cut) => {
        const box = new Outbox(256);
        const p = message(box, writeNewAddress(box, t)).payload;
        // IFA_LOCAL's length says 4 or 16 bytes: make it another (still inside the payload).
        const len = p.readUInt16LE(IFADDRMSG.size);
        const other = 4 + ((len - 4 + 1 + (cut % 3)) % 17);
        if (other === len) return;
        p.writeUInt16LE(other, IFADDRMSG.size);
        expect(ebadmsg(() => decodeAddress(p, 0, p.length))).toBe(true);
      }),
    );
    const bare = Buffer.alloc(IFADDRMSG.size);
    expect(ebadmsg(() => decodeAddress(bare, 0, bare.length))).toBe(true);
  });
});

describe('link requests', () => {
  it('create a dummy interface, up, by name, and decode as the kernel lists it', () => {
    fc.assert(
      fc.property(ifname, (name) => {
        const box = new Outbox(256);
        const m = message(box, writeNewDummy(box, name));
        expect([m.type, m.flags]).toEqual([RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL]);
        const h = readIfInfoHeader(m.payload, 0, m.payload.length);
        expect(h).toEqual({ family: 0, type: 0, index: 0, flags: IFF_UP, change: IFF_UP });
        expect(decodeLink(m.payload, 0, m.payload.length)).toEqual({ index: 0, name, flags: IFF_UP, kind: 'dummy' });
      }),
    );
  });

  it('look one up by name', () => {
    fc.assert(
      fc.property(ifname, (name) => {
        const box = new Outbox(256);
        const m = message(box, writeGetLink(box, name));
        expect(decodeLink(m.payload, 0, m.payload.length)).toMatchObject({ index: 0, name, kind: '' });
      }),
    );
  });
});

it('IPv6 VIPs are added without duplicate address detection (IFA_F_NODAD), IPv4 ones with no flags', async () => {
  const { targetOf } = await import('../../src/addresses/addresses.js');
  expect(targetOf({ family: AF_INET6, address: '2001:db8::1', prefixLength: 128 }, 3).flags).toBe(IFA_F_NODAD);
  expect(targetOf({ family: AF_INET, address: '192.0.2.1', prefixLength: 32 }, 3).flags).toBe(0);
});
