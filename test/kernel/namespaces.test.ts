import { afterAll, describe, expect, it } from 'vitest';
import { Handle, IPPROTO_TCP } from '../../src/ipvs/index.js';
import { createNetns, sh } from './helpers.js';

describe('handles bound to network namespaces', () => {
  const a = createNetns('a');
  const b = createNetns('b');
  afterAll(() => {
    a.remove();
    b.remove();
  });

  it('programs each namespace separately, several handles at once, and returns to its own namespace', async () => {
    const ownBefore = sh('readlink /proc/thread-self/ns/net');
    const ha = new Handle(a.path);
    const hb = new Handle(b.path);
    const hb2 = new Handle(`/proc/${process.pid}/ns/net`);
    expect(sh('readlink /proc/thread-self/ns/net')).toBe(ownBefore);
    await Promise.all([
      ha.newService({ address: '192.0.2.1', protocol: IPPROTO_TCP, port: 1 }),
      hb.newService({ address: '192.0.2.2', protocol: IPPROTO_TCP, port: 2 }),
    ]);
    expect(a.saved()).toEqual(['-A -t 192.0.2.1:1 -s wlc']);
    expect(b.saved()).toEqual(['-A -t 192.0.2.2:2 -s wlc']);
    expect((await ha.getServices()).map((s) => s.port)).toEqual([1]);
    expect((await hb.getServices()).map((s) => s.port)).toEqual([2]);
    // The current namespace, named by /proc path, is untouched by both.
    expect(await hb2.getServices()).toEqual([]);
    for (const h of [ha, hb, hb2]) h.close();
  });

  it('fails to enter a namespace path that is not a namespace, and stays in its own', () => {
    const own = sh('readlink /proc/thread-self/ns/net');
    expect(() => new Handle('/etc/hostname')).toThrow(/enter network namespace \/etc\/hostname: EINVAL/);
    expect(sh('readlink /proc/thread-self/ns/net')).toBe(own);
  });
});

describe('a namespace whose loopback was never up', () => {
  it('has every IPv4 destination refused by the kernel with EINVAL, until lo is up', async () => {
    const name = `lo${process.pid}`;
    sh(`ip netns add ${name}`);
    const h = new Handle(`/run/netns/${name}`);
    const web = { address: '192.0.2.1', protocol: IPPROTO_TCP, port: 80 };
    await h.newService(web);
    await expect(h.newDestination(web, { address: '203.0.113.1' })).rejects.toMatchObject({ errno: 'EINVAL' });
    sh(`ip -n ${name} link set lo up`);
    await h.newDestination(web, { address: '203.0.113.1' });
    expect(sh(`ip netns exec ${name} ipvsadm -S -n`)).toContain('-a -t 192.0.2.1:80 -r 203.0.113.1:80 -m -w 1');
    h.close();
    sh(`ip netns del ${name}`);
  });
});
