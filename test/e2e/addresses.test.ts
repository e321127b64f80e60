// VIP addresses through the server: the TS client and ipvsctl add, list and
// delete them (a dummy interface created when asked), refusals come back as
// the one errno table says with nothing changed, listings page, and a
// desired state owning its VIPs keeps them on its interface and removes
// them with itself. `ip -o addr` inside the namespace is the witness.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectIpvs, Protocol, status } from '../../src/client/index.js';
import { testStateDir } from '../state-dir.js';
import { failure, ipvsctl, startInProcess, until, useServer } from './helpers.js';

// A small response limit, so that listings have pages; a short period, so that VIPs are put back soon.
const ctx = useServer(['--max-response-bytes', '16384', '--reconcile-period-ms', '1000']);
const ns = () => ctx.ns.name;
const dir = mkdtempSync('/var/tmp/ipvsd-addresses-');

/** `ip -o addr` of the namespace as "IFNAME FAMILY ADDRESS/PREFIX", link-local and loopback ones left out. */
const ipAddr = (dev = '') =>
  ctx.ns
    .exec(`ip -o addr show ${dev}`)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/))
    .map(([, name, family, cidr]) => `${name} ${family} ${cidr}`)
    .filter((l) => !/ fe80:| ::1\/| 127\.0\.0\.1\//.test(l))
    .sort();

const listed = async (iface = '') => {
  const out: string[] = [];
  for await (const a of ctx.client.listAllAddresses({ namespace: ns(), interface: iface }))
    out.push(`${a.interface} ${a.addressFamily === 10 ? 'inet6' : 'inet'} ${a.address}/${a.prefixLength}`);
  return out.filter((l) => !/ fe80:| ::1\/| 127\.0\.0\.1\//.test(l)).sort();
};

const clean = () =>
  ctx.ns.exec(
    'for i in ipvs0 ipvs1 many0; do ip link del $i 2>/dev/null; done; ip addr flush dev lo scope global; true',
  );

describe('addresses through the TS client', () => {
  beforeEach(clean);

  it('adds IPv4 and IPv6 VIPs to a dummy interface it creates, lists and deletes them', async () => {
    const r = await ctx.client.createAddress({
      namespace: ns(),
      interface: 'ipvs0',
      address: '192.0.2.10',
      createInterface: true,
    });
    expect(r.address).toMatchObject({ interface: 'ipvs0', address: '192.0.2.10', prefixLength: 32 });
    await ctx.client.createAddress({ namespace: ns(), interface: 'ipvs0', address: '2001:db8::10', prefixLength: 64 });
    expect(ctx.ns.exec('ip -d -o link show ipvs0')).toMatch(/UP.*\bdummy\b/);
    expect(ipAddr()).toEqual(['ipvs0 inet 192.0.2.10/32', 'ipvs0 inet6 2001:db8::10/64']);
    expect(await listed()).toEqual(ipAddr());
    expect(await listed('ipvs0')).toEqual(ipAddr('dev ipvs0'));

    expect(await ctx.client.deleteAddress({ namespace: ns(), interface: 'ipvs0', address: '2001:db8::10' })).toEqual(
      expect.objectContaining({ deleted: 1 }),
    );
    expect(ipAddr()).toEqual(['ipvs0 inet 192.0.2.10/32']);
  });

  it("maps the kernel's refusals through the errno table, and changes nothing on bad input", async () => {
    ctx.ns.exec('ip link add ipvs0 type dummy && ip addr add 192.0.2.10/32 dev ipvs0');
    const vip = { namespace: ns(), interface: 'ipvs0', address: '192.0.2.10' };
    let e = await failure(ctx.client.createAddress(vip));
    expect([e.code, e.errno]).toEqual([status.ALREADY_EXISTS, 'EEXIST']);
    e = await failure(ctx.client.createAddress({ ...vip, interface: 'nope0' }));
    expect([e.code, e.errno]).toEqual([status.NOT_FOUND, 'ENODEV']);
    e = await failure(ctx.client.deleteAddress({ ...vip, address: '192.0.2.11' }));
    expect([e.code, e.errno]).toEqual([status.NOT_FOUND, 'EADDRNOTAVAIL']);
    expect(await ctx.client.deleteAddress({ ...vip, address: '192.0.2.11', allowMissing: true })).toEqual(
      expect.objectContaining({ deleted: 0 }),
    );
    e = await failure(ctx.client.listAddresses({ namespace: ns(), interface: 'nope0' }));
    expect(e.code).toBe(status.NOT_FOUND);
    e = await failure(ctx.client.listAddresses({ namespace: 'not-allowed' }));
    expect(e.code).toBe(status.PERMISSION_DENIED);

    const bad: [Record<string, unknown>, string][] = [
      [{ address: '192.0.2.256' }, 'address'],
      [{ address: '' }, 'address'],
      [{ address: '192.0.2.12', prefixLength: 33 }, 'prefix_length'],
      [{ address: '2001:db8::12', prefixLength: 129 }, 'prefix_length'],
      [{ address: '192.0.2.12', interface: 'sixteen-bytes-00' }, 'interface'],
      [{ address: '192.0.2.12', interface: '' }, 'interface'],
    ];
    for (const [fields, field] of bad) {
      e = await failure(ctx.client.createAddress({ ...vip, createInterface: true, ...fields }));
      expect([e.code, e.field], JSON.stringify(fields)).toEqual([status.INVALID_ARGUMENT, field]);
    }
    // validate_only checks the kernel's state too, and changes nothing.
    e = await failure(ctx.client.createAddress({ ...vip, validateOnly: true }));
    expect(e.code).toBe(status.ALREADY_EXISTS);
    await ctx.client.createAddress({ ...vip, address: '192.0.2.13', validateOnly: true });
    await ctx.client.createAddress({ ...vip, interface: 'ipvs1', createInterface: true, validateOnly: true });
    expect(ipAddr()).toEqual(['ipvs0 inet 192.0.2.10/32']);
    expect(ctx.ns.exec('ip -o link')).not.toContain('ipvs1');
  });

  it('pages a long list under --max-response-bytes, every address exactly once', async () => {
    const n = 400;
    const lines = Array.from({ length: n }, (_, i) => `addr add 198.18.${i >> 8}.${i & 255}/32 dev many0`);
    writeFileSync(join(dir, 'batch'), `link add many0 type dummy\n${lines.join('\n')}\n`);
    ctx.ns.exec(`ip -batch ${join(dir, 'batch')}`);
    const first = await ctx.client.listAddresses({ namespace: ns(), interface: 'many0' });
    expect(first.nextPageToken).not.toBe('');
    expect(first.addresses.length).toBeLessThan(n);
    const all = await listed('many0');
    expect(all).toHaveLength(n);
    expect(new Set(all).size).toBe(n);
    expect(all).toEqual(ipAddr('dev many0'));
    // page_size cuts smaller pages; a token used with other fields is refused.
    let pages = 0;
    let token = '';
    let seen = 0;
    do {
      const p = await ctx.client.listAddresses({
        namespace: ns(),
        interface: 'many0',
        pageSize: 150,
        pageToken: token,
      });
      seen += p.addresses.filter((a) => a.address.startsWith('198.18.')).length;
      token = p.nextPageToken;
      pages++;
    } while (token);
    expect([pages, seen]).toEqual([3, n]);
    const e = await failure(ctx.client.listAddresses({ namespace: ns(), pageToken: first.nextPageToken }));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('ipvsctl address', () => {
  beforeEach(clean);

  it('adds, lists as ip -o addr does, and deletes', async () => {
    expect(await ipvsctl(ctx, ['address', 'add', '192.0.2.20', 'dev', 'ipvs0', '--create'])).toMatchObject({
      code: 0,
      err: '',
    });
    expect((await ipvsctl(ctx, ['address', 'add', '2001:db8::20/128', 'dev', 'ipvs0'])).code).toBe(0);
    ctx.ns.exec('ip addr add 198.51.100.7/24 brd + dev ipvs0');
    const r = await ipvsctl(ctx, ['address', 'list']);
    expect(r.code).toBe(0);
    // ip's own line, up to its lifetimes (which ListAddresses does not carry).
    const ip = ctx.ns
      .exec('ip -o addr')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/\\.*$/, '').trimEnd());
    expect(r.out.trimEnd().split('\n').sort()).toEqual(ip.sort());

    expect((await ipvsctl(ctx, ['address', 'del', '192.0.2.20', 'dev', 'ipvs0'])).code).toBe(0);
    expect(ipAddr('dev ipvs0')).toEqual(['ipvs0 inet 198.51.100.7/24', 'ipvs0 inet6 2001:db8::20/128']);

    const missing = await ipvsctl(ctx, ['address', 'del', '192.0.2.20', 'dev', 'ipvs0']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('NOT_FOUND');
    const bad = await ipvsctl(ctx, ['address', 'add', '192.0.2.20/40', 'dev', 'ipvs0']);
    expect([bad.code, bad.err]).toEqual([1, expect.stringContaining('field prefix_length')]);
  }, 300_000);
});

describe('a desired state owning its VIPs', () => {
  beforeEach(clean);
  afterEach(async () => {
    for (const s of (await ctx.client.listDesiredStates({})).desiredStates)
      await ctx.client.deleteDesiredState({ name: s.name });
  });

  const svc = (address: string) => ({
    service: { id: { address, protocol: Protocol.TCP, port: 80 }, schedName: 'rr' },
    destinations: [{ address: address.includes(':') ? '2001:db8:1::2' : '203.0.113.2', port: 8080 }],
  });
  const put = (addresses: string[], o: { iface?: string; name?: string; prefixes?: string[] } = {}) =>
    ctx.client.putDesiredState({
      desiredState: {
        name: `desiredStates/${o.name ?? 'web'}`,
        namespace: ns(),
        scope: { prefixes: o.prefixes ?? ['192.0.2.0/24', '2001:db8::/32'] },
        prune: true,
        services: addresses.map(svc),
        vips: { interface: o.iface ?? 'ipvs1' },
      },
    });

  it('adds them at Put, keeps them, deletes the ones it no longer has, and removes them with itself', async () => {
    const r = await put(['192.0.2.40', '2001:db8::40', '192.0.2.41']);
    expect(r.desiredState?.status?.inSync).toBe(true);
    expect(r.desiredState?.vips?.interface).toBe('ipvs1');
    expect(ctx.ns.exec('ip -d -o link show ipvs1')).toMatch(/UP.*\bdummy\b/);
    expect(ipAddr('dev ipvs1')).toEqual([
      'ipvs1 inet 192.0.2.40/32',
      'ipvs1 inet 192.0.2.41/32',
      'ipvs1 inet6 2001:db8::40/128',
    ]);
    // Another's address on the interface, outside the scope, is never touched.
    ctx.ns.exec('ip addr add 203.0.113.99/32 dev ipvs1');

    await put(['192.0.2.40', '2001:db8::40']);
    expect(ipAddr('dev ipvs1')).toEqual([
      'ipvs1 inet 192.0.2.40/32',
      'ipvs1 inet 203.0.113.99/32',
      'ipvs1 inet6 2001:db8::40/128',
    ]);

    // Drift: a VIP deleted and a stray one in scope are put right within a period.
    ctx.ns.exec('ip addr del 192.0.2.40/32 dev ipvs1 && ip addr add 192.0.2.77/32 dev ipvs1');
    const want = ['ipvs1 inet 192.0.2.40/32', 'ipvs1 inet 203.0.113.99/32', 'ipvs1 inet6 2001:db8::40/128'];
    expect(await until(() => ipAddr('dev ipvs1').join() === want.join(), 10_000)).toBeGreaterThanOrEqual(0);

    const d = (await ctx.client.getDesiredState({ name: 'desiredStates/web' })).desiredState;
    expect(d?.vips?.interface).toBe('ipvs1');
    await ctx.client.deleteDesiredState({ name: 'desiredStates/web', removeRules: true });
    expect(ipAddr('dev ipvs1')).toEqual(['ipvs1 inet 203.0.113.99/32']);
    expect(ctx.ns.ipvsadm('-S -n')).toBe('');
  });

  it('refuses a bad interface name and a second owner of its addresses, storing and changing nothing', async () => {
    let e = await failure(put(['192.0.2.40'], { iface: 'a-name-too-long0' }));
    expect([e.code, e.field]).toEqual([status.INVALID_ARGUMENT, 'desired_state.vips.interface']);
    expect((await ctx.client.listDesiredStates({})).desiredStates).toEqual([]);
    expect(ctx.ns.exec('ip -o link')).not.toContain('a-name-too-long');

    await put(['192.0.2.40']);
    e = await failure(put(['192.0.2.40'], { name: 'other', prefixes: ['192.0.2.40/32'] }));
    expect(e.code).toBe(status.FAILED_PRECONDITION);
    expect(ipAddr('dev ipvs1')).toEqual(['ipvs1 inet 192.0.2.40/32']);
  });

  it('puts them back at start, before the server listens', async () => {
    const dir = testStateDir();
    const start = () => startInProcess(['--netns', ns(), '--state-dir', dir]);
    const a = await start();
    const c = connectIpvs(a.addresses[0]!);
    await c.putDesiredState({
      desiredState: {
        name: 'desiredStates/boot',
        namespace: ns(),
        services: [svc('192.0.2.50')],
        vips: { interface: 'ipvs1' },
      },
    });
    c.close();
    await a.shutdown();
    ctx.ns.exec('ip link del ipvs1');
    const b = await start();
    // startServer resolves once it listens: the interface and its VIP are already back.
    expect(ipAddr('dev ipvs1')).toEqual(['ipvs1 inet 192.0.2.50/32']);
    await b.shutdown();
  });
});
