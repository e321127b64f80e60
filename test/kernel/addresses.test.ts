// VIP addresses through route netlink, cross-checked with `ip -o addr`
// inside the namespace: added and deleted (IPv4 and IPv6), a dummy interface
// created, the kernel's refusals named, bad input refused before anything is
// sent, and one namespace never seeing another's.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addAddress, deleteAddress, listAddresses } from '../../src/addresses/addresses.js';
import { dropAddresses, keepAddresses } from '../../src/addresses/keep.js';
import { AddressError } from '../../src/addresses/validate.js';
import { normalAddress } from '../../src/addresses/validate.js';
import { KernelError } from '../../src/netlink/error.js';
import { writeDelAddress } from '../../src/rtnetlink/address.js';
import { RouteSocket } from '../../src/rtnetlink/route.js';
import { createNetns, sh, type Netns } from './helpers.js';

let ns: Netns;
let other: Netns;

/** `ip -o addr` of the namespace as "IFNAME FAMILY ADDRESS/PREFIX" lines, link-local ones left out. */
const ipAddr = (n: Netns, dev = '') =>
  n
    .exec(`ip -o addr show ${dev}`)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/))
    .map(([, name, family, cidr]) => `${name} ${family} ${cidr}`)
    .filter((l) => !l.includes(' fe80:'))
    .sort();

const ours = (n: Netns, dev?: string) =>
  listAddresses(n.path, dev)
    .map((a) => `${a.interface} ${a.family === 2 ? 'inet' : 'inet6'} ${a.address}/${a.prefixLength}`)
    .filter((l) => !l.includes(' fe80:'))
    .sort();

const errnoOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof KernelError) return e.errno;
    throw e;
  }
  return 'none';
};

describe('VIP addresses through rtnetlink', () => {
  beforeAll(() => {
    ns = createNetns('a');
    other = createNetns('b');
  });
  afterAll(() => {
    ns?.remove();
    other?.remove();
  });
  beforeEach(() => {
    ns.exec('ip link del ipvs0 2>/dev/null || true; ip addr del 198.51.100.7/24 dev lo 2>/dev/null || true');
  });

  it('creates a dummy interface, up, and adds an IPv4 VIP as /32 by default', () => {
    expect(errnoOf(() => addAddress(ns.path, { interface: 'ipvs0', address: '192.0.2.10', prefixLength: 0 }))).toBe(
      'ENODEV',
    );
    const a = addAddress(
      ns.path,
      { interface: 'ipvs0', address: '192.0.2.10', prefixLength: 0 },
      { createInterface: true },
    );
    expect(a).toMatchObject({ interface: 'ipvs0', address: '192.0.2.10', prefixLength: 32, family: 2 });
    expect(ns.exec('ip -d -o link show ipvs0')).toMatch(/<BROADCAST,NOARP,UP,LOWER_UP>.*\bdummy\b/);
    expect(ipAddr(ns, 'dev ipvs0')).toEqual(['ipvs0 inet 192.0.2.10/32']);
    expect(ours(ns, 'ipvs0')).toEqual(ipAddr(ns, 'dev ipvs0'));
  });

  it('adds and deletes IPv4 and IPv6 addresses, as ip -o addr shows them', () => {
    ns.exec('ip link add ipvs0 type dummy');
    addAddress(ns.path, { interface: 'ipvs0', address: '192.0.2.10', prefixLength: 32 });
    addAddress(ns.path, { interface: 'ipvs0', address: '2001:DB8:0::10', prefixLength: 0 });
    addAddress(ns.path, { interface: 'lo', address: '198.51.100.7', prefixLength: 24 });
    expect(ipAddr(ns)).toEqual([
      'ipvs0 inet 192.0.2.10/32',
      'ipvs0 inet6 2001:db8::10/128',
      'lo inet 127.0.0.1/8',
      'lo inet 198.51.100.7/24',
      'lo inet6 ::1/128',
    ]);
    expect(ours(ns)).toEqual(ipAddr(ns));
    // IPv6 VIPs skip duplicate address detection: usable at once, never tentative.
    expect(ns.exec('ip -o addr show dev ipvs0')).not.toContain('tentative');

    expect(deleteAddress(ns.path, { interface: 'ipvs0', address: '2001:db8::10', prefixLength: 128 })).toBe(1);
    expect(deleteAddress(ns.path, { interface: 'lo', address: '198.51.100.7', prefixLength: 0 })).toBe(1);
    expect(ipAddr(ns)).toEqual(['ipvs0 inet 192.0.2.10/32', 'lo inet 127.0.0.1/8', 'lo inet6 ::1/128']);
    expect(ours(ns)).toEqual(ipAddr(ns));
  });

  it("passes the kernel's refusals on: EEXIST, a missing interface, a missing address", () => {
    ns.exec('ip link add ipvs0 type dummy && ip addr add 192.0.2.10/32 dev ipvs0');
    const vip = { interface: 'ipvs0', address: '192.0.2.10', prefixLength: 32 };
    expect(errnoOf(() => addAddress(ns.path, vip))).toBe('EEXIST');
    expect(errnoOf(() => addAddress(ns.path, vip, { validateOnly: true }))).toBe('EEXIST');
    expect(errnoOf(() => addAddress(ns.path, { ...vip, interface: 'nope0' }))).toBe('ENODEV');
    expect(errnoOf(() => listAddresses(ns.path, 'nope0'))).toBe('ENODEV');
    expect(errnoOf(() => deleteAddress(ns.path, { ...vip, address: '192.0.2.11' }))).toBe('EADDRNOTAVAIL');
    expect(deleteAddress(ns.path, { ...vip, address: '192.0.2.11' }, { allowMissing: true })).toBe(0);
    expect(errnoOf(() => deleteAddress(ns.path, { ...vip, interface: 'nope0' }))).toBe('ENODEV');
    expect(errnoOf(() => listAddresses('/run/netns/gone-for-good'))).toBe('ENOENT');
    expect(ipAddr(ns, 'dev ipvs0')).toEqual(['ipvs0 inet 192.0.2.10/32']);
  });

  it('takes one IPv4 address with several prefix lengths, and refuses it for IPv6, whose delete names the prefix', () => {
    ns.exec('ip link add ipvs0 type dummy');
    const at = (address: string, prefixLength: number) => ({ interface: 'ipvs0', address, prefixLength });
    addAddress(ns.path, at('192.0.2.10', 32));
    addAddress(ns.path, at('192.0.2.10', 24));
    addAddress(ns.path, at('2001:db8::10', 128));
    expect(errnoOf(() => addAddress(ns.path, at('2001:db8::10', 64)))).toBe('EEXIST');
    expect(errnoOf(() => addAddress(ns.path, at('2001:db8::10', 64), { validateOnly: true }))).toBe('EEXIST');
    const index = Number(ns.exec('cat /sys/class/net/ipvs0/ifindex'));
    const del = (prefixLength: number) => () =>
      RouteSocket.with(ns.path, (r) =>
        r.request('delete', (box) =>
          writeDelAddress(box, { ...normalAddress('test', '2001:db8::10', prefixLength), index, flags: 0, scope: 0 }),
        ),
      );
    expect(errnoOf(del(64))).toBe('EADDRNOTAVAIL');
    expect(ipAddr(ns, 'dev ipvs0')).toEqual([
      'ipvs0 inet 192.0.2.10/24',
      'ipvs0 inet 192.0.2.10/32',
      'ipvs0 inet6 2001:db8::10/128',
    ]);
    // Without a prefix length, every one the address has there goes.
    expect(deleteAddress(ns.path, at('192.0.2.10', 0))).toBe(2);
    expect(errnoOf(del(128))).toBe('none');
    expect(ipAddr(ns, 'dev ipvs0')).toEqual([]);
  });

  it('refuses bad input before anything reaches the kernel, naming the field', () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof AddressError) return e.field;
        throw e;
      }
      return 'none';
    };
    const before = ipAddr(ns);
    const add = (i: string, address: string, prefixLength: number) => () =>
      addAddress(ns.path, { interface: i, address, prefixLength }, { createInterface: true });
    expect(field(add('ipvs0', '192.0.2.300', 0))).toBe('address');
    expect(field(add('ipvs0', 'fe80::1%eth0', 0))).toBe('address');
    expect(field(add('ipvs0', '192.0.2.10', 33))).toBe('prefix_length');
    expect(field(add('ipvs0', '2001:db8::1', 129))).toBe('prefix_length');
    expect(field(add('a-name-too-long0', '192.0.2.10', 0))).toBe('interface');
    expect(field(add('a/b', '192.0.2.10', 0))).toBe('interface');
    expect(field(add('', '192.0.2.10', 0))).toBe('interface');
    expect(ipAddr(ns)).toEqual(before);
    expect(ns.exec('ip -o link show')).not.toContain('ipvs0');
    // 15 bytes is the kernel's limit, and taken.
    addAddress(
      ns.path,
      { interface: 'a-name-15-byte0', address: '192.0.2.10', prefixLength: 0 },
      { createInterface: true },
    );
    expect(ipAddr(ns, 'dev a-name-15-byte0')).toEqual(['a-name-15-byte0 inet 192.0.2.10/32']);
    ns.exec('ip link del a-name-15-byte0');
  });

  it('keeps namespaces apart', () => {
    addAddress(ns.path, { interface: 'ipvs0', address: '192.0.2.20', prefixLength: 0 }, { createInterface: true });
    expect(ours(other)).toEqual(ipAddr(other));
    expect(ours(other).join('\n')).not.toContain('192.0.2.20');
    expect(sh('ip -o addr')).not.toContain('192.0.2.20');
    expect(errnoOf(() => deleteAddress(other.path, { interface: 'lo', address: '192.0.2.20', prefixLength: 0 }))).toBe(
      'EADDRNOTAVAIL',
    );
    expect(ipAddr(ns, 'dev ipvs0')).toEqual(['ipvs0 inet 192.0.2.20/32']);
  });

  it('keeps 2,000 VIPs on an interface in batches, and drops them', async () => {
    const n = 2000;
    const want = Array.from({ length: n }, (_, i) => ({
      family: 2,
      address: `198.18.${i >> 8}.${i & 255}`,
      prefixLength: 32,
    }));
    ns.exec('ip link add ipvs0 type dummy && ip addr add 198.19.0.1/32 dev ipvs0');
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    let t = performance.now();
    const o = await keepAddresses(ns.path, 'ipvs0', want, (a) => a.address.startsWith('198.19.'));
    const addMs = performance.now() - t;
    loop.disable();
    expect([o.added.length, o.deleted]).toEqual([n, ['198.19.0.1/32']]);
    expect(ipAddr(ns, 'dev ipvs0')).toHaveLength(n);
    // Again: nothing to do.
    expect(await keepAddresses(ns.path, 'ipvs0', want, () => true)).toEqual({ added: [], deleted: [] });
    t = performance.now();
    expect(await dropAddresses(ns.path, 'ipvs0', (a) => a.address.startsWith('198.18.'))).toHaveLength(n);
    const dropMs = performance.now() - t;
    expect(ipAddr(ns, 'dev ipvs0')).toEqual([]);
    // In slices, with the event loop's turns between them: never the whole batch at once.
    const longest = loop.max / 1e6;
    expect(longest).toBeLessThan(addMs / 2);
    console.log(
      `${n} VIPs: added in ${addMs.toFixed(0)} ms, deleted in ${dropMs.toFixed(0)} ms; longest event loop delay ${longest.toFixed(0)} ms`,
    );
  });
});
