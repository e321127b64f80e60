// Replays route netlink bytes recorded from Linux 6.1 (test/fixtures/rtnetlink.json;
// re-record with `npx tsx test/fixtures/record-rtnetlink.ts`): the kernel's
// address and link dumps decode to what `ip` printed of the same namespace,
// ipvsctl prints each address as `ip -o addr` did, and the requests ipvsd
// builds are, byte for byte, the ones the recorder proved make the same
// dummy interface and VIPs as `ip`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { targetOf } from '../../src/addresses/addresses.js';
import { normalAddress } from '../../src/addresses/validate.js';
import { formatAddress } from '../../src/cli/address-format.js';
import { Outbox } from '../../src/netlink/outbox.js';
import { decodeAddress, writeNewAddress } from '../../src/rtnetlink/address.js';
import { decodeLink, writeNewDummy } from '../../src/rtnetlink/link.js';
import { addressOut } from '../../src/server/convert-address.js';
import { VIPS } from '../fixtures/record-rtnetlink.js';

interface Fixture {
  recorded: { kernel: string; ip: string };
  ipAddr: string[];
  ipLink: string[];
  addresses: string[];
  links: string[];
  requests: { dummy: string; vips: string[] };
}
const fixture: Fixture = JSON.parse(readFileSync(new URL('../fixtures/rtnetlink.json', import.meta.url), 'utf8'));
const bytes = (hex: string) => Buffer.from(hex, 'hex');
const decoded = <T>(hex: string, decode: (b: Buffer, s: number, e: number) => T) => {
  const b = bytes(hex);
  return decode(b, 0, b.length);
};
const links = fixture.links.map((h) => decoded(h, decodeLink));
const names = new Map(links.map((l) => [l.index, l.name]));

describe(`route netlink replies recorded from Linux ${fixture.recorded.kernel}`, () => {
  it('decode the links as ip -o link lists them, with their kinds', () => {
    const ip = fixture.ipLink.map((l) => l.match(/^(\d+): ([^:@]+)/)!.slice(1));
    expect(links.map((l) => [String(l.index), l.name])).toEqual(ip);
    expect(Object.fromEntries(links.map((l) => [l.name, l.kind]))).toEqual({
      lo: '',
      ipvs0: 'dummy',
      v0: 'veth',
      v1: 'veth',
    });
    expect(links.find((l) => l.name === 'ipvs0')!.flags & 1).toBe(1);
  });

  it('decode the addresses, and ipvsctl prints each as ip -o addr did (up to its lifetimes)', () => {
    const ours = fixture.addresses.map((h) => {
      const a = decoded(h, decodeAddress);
      return formatAddress(addressOut({ ...a, interface: names.get(a.index)! }));
    });
    // The kernel dumps IPv4 before IPv6; ip groups them by interface: the lines are compared, not their order.
    expect(ours.sort()).toEqual(fixture.ipAddr.map((l) => l.replace(/\\.*$/, '').trimEnd()).sort());
  });

  it('tell a point-to-point peer, a broadcast address, a secondary one and nodad apart', () => {
    const all = fixture.addresses.map((h) => decoded(h, decodeAddress));
    expect(all.find((a) => a.address === '203.0.113.1')).toMatchObject({ peer: '203.0.113.2', prefixLength: 32 });
    expect(all.find((a) => a.address === '198.51.100.1')).toMatchObject({
      broadcast: '198.51.100.255',
      label: 'ipvs0',
    });
    expect(all.find((a) => a.address === '198.51.100.9')!.flags & 0x01).toBe(0x01);
    expect(all.find((a) => a.address === '2001:db8::10')).toMatchObject({ flags: 0x82, label: '', prefixLength: 128 });
  });
});

describe('requests built by ipvsd', () => {
  it('are byte for byte those that made the same dummy interface and VIPs as ip', () => {
    const box = new Outbox();
    expect(box.payload(writeNewDummy(box, 'ipvs0')).toString('hex')).toBe(fixture.requests.dummy);
    const vips = VIPS.map((v) => {
      const [address, bits] = v.split('/');
      return box
        .payload(writeNewAddress(box, targetOf(normalAddress('test', address!, Number(bits)), 2)))
        .toString('hex');
    });
    expect(vips).toEqual(fixture.requests.vips);
  });
});
