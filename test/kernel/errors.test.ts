import { describe, expect, it } from 'vitest';
import { Handle, IPPROTO_TCP, KernelError, ValidationError } from '../../src/ipvs/index.js';
import { useIpvs } from './helpers.js';

const ctx = useIpvs();
const web = { address: '192.0.2.1', protocol: IPPROTO_TCP, port: 80 };
const dest = { address: '198.51.100.1' };

async function kernelError(p: Promise<unknown>): Promise<KernelError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KernelError);
  return e as KernelError;
}

describe('kernel errors carry the operation and errno name', () => {
  it('EEXIST for a service that exists', async () => {
    await ctx.h.newService(web);
    const e = await kernelError(ctx.h.newService(web));
    expect(e).toMatchObject({ errno: 'EEXIST', op: 'newService tcp 192.0.2.1:80' });
  });

  it('ESRCH for a missing service, whatever the command', async () => {
    for (const p of [
      ctx.h.updateService(web),
      ctx.h.delService(web),
      ctx.h.getService(web),
      ctx.h.getDestinations(web),
      ctx.h.newDestination(web, dest),
      ctx.h.zero(web),
    ]) {
      expect((await kernelError(p)).errno).toBe('ESRCH');
    }
  });

  it('EEXIST and ENOENT for destinations', async () => {
    await ctx.h.newService(web);
    await ctx.h.newDestination(web, dest);
    expect(await kernelError(ctx.h.newDestination(web, dest))).toMatchObject({
      errno: 'EEXIST',
      op: 'newDestination 198.51.100.1:80 of tcp 192.0.2.1:80',
    });
    expect((await kernelError(ctx.h.updateDestination(web, { address: '198.51.100.2' }))).errno).toBe('ENOENT');
    expect((await kernelError(ctx.h.delDestination(web, { address: '198.51.100.2' }))).errno).toBe('ENOENT');
  });
});

describe('invalid models are refused before anything is sent', () => {
  const cases: [string, () => Promise<unknown>, string][] = [
    ['unknown scheduler', () => ctx.h.newService({ ...web, schedName: 'best' }), 'schedName'],
    ['bad address', () => ctx.h.newService({ ...web, address: '192.0.2.300' }), 'address'],
    [
      'address of the wrong family',
      () => ctx.h.newService({ ...web, address: '2001:db8::1', addressFamily: 2 }),
      'address',
    ],
    ['port out of range', () => ctx.h.newService({ ...web, port: 65536 }), 'port'],
    ['unknown protocol', () => ctx.h.newService({ ...web, protocol: 1 }), 'protocol'],
    ['fwmark with an address', () => ctx.h.newService({ fwMark: 1, address: '192.0.2.1' }), 'address'],
    ['unknown flag bits', () => ctx.h.newService({ ...web, flags: 0x100 }), 'flags'],
    [
      'IPv6 prefix out of range',
      () => ctx.h.newService({ address: '2001:db8::1', protocol: 6, port: 1, netmask: 129 }),
      'netmask',
    ],
    ['unknown persistence engine', () => ctx.h.newService({ ...web, peName: 'http' }), 'peName'],
    ['weight out of range', () => ctx.h.newDestination(web, { ...dest, weight: -1 }), 'weight'],
    ['weight not an integer', () => ctx.h.newDestination(web, { ...dest, weight: 1.5 }), 'weight'],
    ['mixed families without tunnel', () => ctx.h.newDestination(web, { address: '2001:db8::2' }), 'addressFamily'],
    [
      'lower threshold above upper',
      () => ctx.h.newDestination(web, { ...dest, upperThreshold: 1, lowerThreshold: 2 }),
      'lowerThreshold',
    ],
    ['unknown forwarding method', () => ctx.h.newDestination(web, { ...dest, connectionFlags: 9 }), 'connectionFlags'],
    [
      'GUE tunnel without port',
      () => ctx.h.newDestination(web, { ...dest, connectionFlags: 2, tunnelType: 1 }),
      'tunnelPort',
    ],
    [
      'unknown tunnel type',
      () => ctx.h.newDestination(web, { ...dest, connectionFlags: 2, tunnelType: 3 }),
      'tunnelType',
    ],
    ['timeout too large', () => ctx.h.setConfig({ timeoutTcp: 2 ** 31 }), 'timeoutTcp'],
  ];

  it.each(cases)('%s', async (_name, call, field) => {
    await ctx.h.newService({ address: '192.0.2.200', protocol: IPPROTO_TCP, port: 1 });
    const before = ctx.ns.saved();
    const sends = ctx.h.io.sends;
    const e = await kernelError(call());
    expect(e).toBeInstanceOf(ValidationError);
    expect(e).toMatchObject({ errno: 'EINVAL', field });
    expect(e.message).toContain(field);
    expect(ctx.h.io.sends).toBe(sends);
    expect(ctx.ns.saved()).toEqual(before);
  });
});

describe('handle lifecycle', () => {
  it('a closed handle refuses calls, and calls still queued fail', async () => {
    const h = new Handle(ctx.ns.path);
    const queued = h.getServices();
    h.close();
    expect((await kernelError(queued)).errno).toBe('EBADF');
    expect((await kernelError(h.getInfo())).errno).toBe('EBADF');
    h.close(); // twice is harmless
  });

  it('opening and closing many handles leaks no file descriptors', async () => {
    const fds = () => Number(ctx.ns.exec(`ls /proc/${process.pid}/fd | wc -l`).trim());
    const before = fds();
    for (let i = 0; i < 50; i++) {
      const h = new Handle(ctx.ns.path);
      await h.getInfo();
      h.close();
    }
    expect(fds()).toBe(before);
  });

  it('a namespace path that does not exist is a clear ENOENT', () => {
    expect(() => new Handle('/run/netns/does-not-exist')).toThrow(
      /open network namespace \/run\/netns\/does-not-exist: ENOENT/,
    );
  });
});
