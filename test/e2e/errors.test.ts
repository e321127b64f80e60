import { describe, expect, it } from 'vitest';
import { connectIpvs, type ForwardingMethod, Protocol, status } from '../../src/client/index.js';
import { failure, startInProcess, useServer } from './helpers.js';

const ctx = useServer();
const web = { address: '192.0.2.1', protocol: Protocol.TCP, port: 80 };
const ns = () => ctx.ns.name;

describe('kernel errors become gRPC statuses from the one table, with errno and operation in the trailers', () => {
  it('EEXIST is ALREADY_EXISTS', async () => {
    await ctx.client.createService({ namespace: ns(), service: { id: web } });
    const e = await failure(ctx.client.createService({ namespace: ns(), service: { id: web } }));
    expect(e).toMatchObject({ code: status.ALREADY_EXISTS, errno: 'EEXIST', operation: 'newService tcp 192.0.2.1:80' });
  });

  it('ESRCH (no such service) and ENOENT (no such destination) are NOT_FOUND', async () => {
    for (const call of [
      () => ctx.client.getService({ namespace: ns(), service: web }),
      () => ctx.client.deleteService({ namespace: ns(), service: web }),
      () => ctx.client.listDestinations({ namespace: ns(), service: web }),
      () => ctx.client.zeroCounters({ namespace: ns(), service: web }),
    ]) {
      expect(await failure(call())).toMatchObject({ code: status.NOT_FOUND, errno: 'ESRCH' });
    }
    await ctx.client.createService({ namespace: ns(), service: { id: web } });
    const e = await failure(
      ctx.client.deleteDestination({ namespace: ns(), service: web, destination: { address: '198.51.100.1' } }),
    );
    expect(e).toMatchObject({ code: status.NOT_FOUND, errno: 'ENOENT' });
  });

  it('ENODEV (no such interface for a daemon) is NOT_FOUND', async () => {
    const e = await failure(
      ctx.client.startDaemon({ namespace: ns(), daemon: { state: 1, mcastInterface: 'nosuch0' } }),
    );
    expect(e).toMatchObject({ code: status.NOT_FOUND, errno: 'ENODEV' });
  });
});

describe('bad requests are refused before the kernel, naming the request field, and change nothing', () => {
  const cases: [string, () => Promise<unknown>, string][] = [
    ['no service', () => ctx.client.createService({ namespace: ns() }), 'service'],
    ['no service id', () => ctx.client.createService({ namespace: ns(), service: { schedName: 'rr' } }), 'service.id'],
    [
      'unknown scheduler',
      () => ctx.client.createService({ namespace: ns(), service: { id: web, schedName: 'best' } }),
      'service.sched_name',
    ],
    [
      'bad address',
      () => ctx.client.createService({ namespace: ns(), service: { id: { ...web, address: '192.0.2.300' } } }),
      'service.id.address',
    ],
    [
      'port out of range',
      () => ctx.client.createService({ namespace: ns(), service: { id: { ...web, port: 70000 } } }),
      'service.id.port',
    ],
    [
      'unknown protocol',
      () => ctx.client.createService({ namespace: ns(), service: { id: { ...web, protocol: 1 as Protocol } } }),
      'service.id.protocol',
    ],
    [
      'unknown flag bits',
      () => ctx.client.createService({ namespace: ns(), service: { id: web, flags: 0x100 } }),
      'service.flags',
    ],
    [
      'service id on a destination call',
      () =>
        ctx.client.createDestination({
          namespace: ns(),
          service: { ...web, port: 70000 },
          destination: { address: '198.51.100.1' },
        }),
      'service.port',
    ],
    ['no destination', () => ctx.client.createDestination({ namespace: ns(), service: web }), 'destination'],
    [
      'weight out of range',
      () =>
        ctx.client.createDestination({
          namespace: ns(),
          service: web,
          destination: { address: '198.51.100.1', weight: 2 ** 31 },
        }),
      'destination.weight',
    ],
    [
      'mixed families',
      () => ctx.client.createDestination({ namespace: ns(), service: web, destination: { address: '2001:db8::1' } }),
      'destination.address_family',
    ],
    [
      'unknown forwarding method',
      () =>
        ctx.client.createDestination({
          namespace: ns(),
          service: web,
          destination: { address: '198.51.100.1', forwardingMethod: 9 as ForwardingMethod },
        }),
      'destination.forwarding_method',
    ],
    [
      'timeout too large',
      () => ctx.client.setConfig({ namespace: ns(), config: { timeoutTcp: 2 ** 31 } }),
      'config.timeout_tcp',
    ],
    [
      'daemon without interface',
      () => ctx.client.startDaemon({ namespace: ns(), daemon: { state: 1 } }),
      'daemon.mcast_interface',
    ],
    ['daemon state', () => ctx.client.stopDaemon({ namespace: ns(), state: 0 }), 'daemon.state'],
    ['empty batch item', () => ctx.client.batch({ namespace: ns(), operations: [{}] }), 'operations[0]'],
    [
      'bad batch item',
      () =>
        ctx.client.batch({
          namespace: ns(),
          operations: [
            { operation: { case: 'createService', value: { id: web } } },
            {
              operation: {
                case: 'createDestination',
                value: { service: web, destination: { address: '198.51.100.1' } },
              },
            },
            { operation: { case: 'createService', value: { id: { ...web, port: 70000 } } } },
          ],
        }),
      'operations[2].create_service.id.port',
    ],
    [
      'watch filter',
      async () => {
        for await (const _ of ctx.client.watchStats({ namespace: ns(), services: [{ protocol: 99 as Protocol }] }))
          break;
      },
      'services[0].protocol',
    ],
  ];

  it.each(cases)('%s', async (_name, call, field) => {
    await ctx.client.createService({
      namespace: ns(),
      service: { id: { address: '192.0.2.200', protocol: Protocol.TCP, port: 1 } },
    });
    const before = ctx.ns.saved();
    const e = await failure(call());
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.field).toBe(field);
    expect(ctx.ns.saved()).toEqual(before);
  });

  it('a batch over the limit is refused whole', async () => {
    const operations = Array.from({ length: 100_001 }, () => ({
      operation: { case: 'deleteService' as const, value: web },
    }));
    const e = await failure(ctx.client.batch({ namespace: ns(), operations }));
    expect(e).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'operations' });
  });
});

describe('namespaces', () => {
  it('one the server does not allow is PERMISSION_DENIED', async () => {
    for (const namespace of ['other', '/proc/1/ns/net']) {
      expect(await failure(ctx.client.listServices({ namespace }))).toMatchObject({
        code: status.PERMISSION_DENIED,
        field: 'namespace',
      });
    }
  });

  it('a name that is no name is INVALID_ARGUMENT', async () => {
    expect(await failure(ctx.client.listServices({ namespace: '../etc' }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      field: 'namespace',
    });
  });
});

describe('bytes that are no request', () => {
  it('garbage on the wire is refused with a status, changes nothing, and the server keeps serving', async () => {
    const { makeGenericClientConstructor, credentials } = await import('@grpc/grpc-js');
    const Raw = makeGenericClientConstructor(
      {
        createService: {
          path: '/ipvs.v1.IpvsService/CreateService',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'Raw',
    );
    const raw = new Raw(ctx.address, credentials.createInsecure()) as unknown as {
      createService: (...args: unknown[]) => unknown;
      close(): void;
    };
    const before = ctx.ns.saved();
    for (const garbage of [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
      Buffer.from('not protobuf at all'),
      Buffer.alloc(64, 0x0a),
    ]) {
      const code = await new Promise<number>((resolve) =>
        raw.createService(garbage, (e: { code: number } | null) => resolve(e ? e.code : 0)),
      );
      expect([status.INTERNAL, status.INVALID_ARGUMENT]).toContain(code);
    }
    raw.close();
    expect(ctx.ns.saved()).toEqual(before);
    expect((await ctx.client.getInfo({ namespace: ns() })).info?.version).toBe('1.2.1');
  });

  it('a request over the size limit is RESOURCE_EXHAUSTED and the server keeps serving', async () => {
    const s = await startInProcess(['--netns', ctx.ns.name, '--max-message-bytes', '65536']);
    const c = connectIpvs(s.addresses[0]!);
    const operations = Array.from({ length: 5000 }, (_, i) => ({
      operation: { case: 'createService' as const, value: { id: { ...web, port: i + 1 } } },
    }));
    expect((await failure(c.batch({ namespace: ns(), operations }))).code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ctx.ns.saved()).toEqual([]);
    expect((await c.getInfo({ namespace: ns() })).info?.version).toBe('1.2.1');
    c.close();
    await s.shutdown();
  });
});
