// Reflection as the server sets it up (reflected() in src/server/server.ts),
// on a loopback server beside the grpc team's health implementation, as in
// the server: it describes the generated descriptors, and what it describes
// of grpc.health.v1.Health is what is served.
import { once } from 'node:events';
import { create, equals } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import {
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ClientReadableStream,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  file_grpc_health_v1_health,
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as Serving,
  HealthListRequestSchema,
  type HealthCheckResponse,
  type HealthListResponse,
} from '../../gen/ts/grpc/health/v1/health_pb.js';
import { file_ipvs_v1_ipvs, IpvsService } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { grpcDefinition } from '../../src/rpc/definition.js';
import { reflected } from '../../src/server/server.js';
import { reflection, type Reflection } from '../reflection.js';

let server: Server;
let address: string;
let r: Reflection;

beforeAll(async () => {
  server = new Server();
  new HealthImplementation({ '': 'SERVING', [IpvsService.typeName]: 'NOT_SERVING' }).addToServer(server);
  new ReflectionService(reflected()).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
  r = reflection(address);
});

afterAll(async () => {
  await r?.close();
  server?.forceShutdown();
});

describe('reflection of the generated descriptors', () => {
  it('lists grpc.health.v1.Health and ipvs.v1.IpvsService', async () => {
    expect((await r.services()).sort()).toEqual(['grpc.health.v1.Health', 'ipvs.v1.IpvsService']);
  });

  it('gives grpc/health/v1/health.proto as generated, with Check and Watch', async () => {
    const files = await r.fileContainingSymbol('grpc.health.v1.Health');
    const health = files.find((f) => f.name === 'grpc/health/v1/health.proto');
    expect(health).toBeDefined();
    expect(equals(FileDescriptorProtoSchema, health!, file_grpc_health_v1_health.proto)).toBe(true);
    expect(await r.methods('grpc.health.v1.Health')).toEqual(expect.arrayContaining(['Check', 'Watch']));
  });

  it('gives ipvs/v1/ipvs.proto as generated, with every method of IpvsService', async () => {
    const files = await r.fileContainingSymbol('ipvs.v1.IpvsService');
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['ipvs/v1/ipvs.proto', 'ipvs/v1/model.proto']));
    expect(
      equals(FileDescriptorProtoSchema, files.find((f) => f.name === 'ipvs/v1/ipvs.proto')!, file_ipvs_v1_ipvs.proto),
    ).toBe(true);
    expect(await r.methods('ipvs.v1.IpvsService')).toEqual(IpvsService.methods.map((m) => m.name));
  });
});

describe('the health service reflection describes', () => {
  // A client from the generated descriptor alone, as grpcurl builds one from reflection.
  const HealthClient = makeGenericClientConstructor(grpcDefinition(Health), 'Health');
  const unary = <T>(method: string, req: unknown) =>
    new Promise<T>((resolve, reject) => {
      const h = new HealthClient(address, credentials.createInsecure());
      h[method]!(req, (e: Error | null, res: T) => {
        h.close();
        return e ? reject(e) : resolve(res);
      });
    });

  it('answers Check', async () => {
    const check = (service: string) =>
      unary<HealthCheckResponse>('check', create(HealthCheckRequestSchema, { service }));
    expect((await check('')).status).toBe(Serving.SERVING);
    expect((await check(IpvsService.typeName)).status).toBe(Serving.NOT_SERVING);
  });

  it('answers Watch with the current status first', async () => {
    const h = new HealthClient(address, credentials.createInsecure());
    const call = h.watch!(
      create(HealthCheckRequestSchema, { service: IpvsService.typeName }),
    ) as ClientReadableStream<HealthCheckResponse>;
    const [first] = (await once(call, 'data')) as [HealthCheckResponse];
    expect(first.status).toBe(Serving.NOT_SERVING);
    call.on('error', () => {});
    call.cancel();
    h.close();
  });

  it('answers List', async () => {
    const list = await unary<HealthListResponse>('list', create(HealthListRequestSchema));
    expect(Object.fromEntries(Object.entries(list.statuses).map(([k, v]) => [k, v.status]))).toEqual({
      '': Serving.SERVING,
      [IpvsService.typeName]: Serving.NOT_SERVING,
    });
  });
});
