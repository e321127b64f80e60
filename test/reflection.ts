// A server reflection client (grpc.reflection.v1, what grpcurl speaks) built
// from the generated descriptor, for the unit and e2e tests: one question at
// a time on one stream, answers decoded.
import { once } from 'node:events';
import { create, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { credentials, makeGenericClientConstructor, type ClientDuplexStream } from '@grpc/grpc-js';
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from '../gen/ts/grpc/reflection/v1/reflection_pb.js';
import { grpcDefinition } from '../src/rpc/definition.js';

const ReflectionClient = makeGenericClientConstructor(grpcDefinition(ServerReflection), 'ServerReflection');

export interface Reflection {
  /** The full names of the services the server lists. */
  services(): Promise<string[]>;
  /** The files the server gives for a symbol: its own and the ones it imports. */
  fileContainingSymbol(symbol: string): Promise<FileDescriptorProto[]>;
  /** The method names of a service, from the file the server gives for it. */
  methods(service: string): Promise<string[]>;
  /** Ends the stream, waits for the server's OK, closes the channel. */
  close(): Promise<void>;
}

export function reflection(address: string): Reflection {
  const client = new ReflectionClient(address, credentials.createInsecure());
  const stream = client.serverReflectionInfo!() as ClientDuplexStream<
    ServerReflectionRequest,
    ServerReflectionResponse
  >;
  const ask = async (messageRequest: ServerReflectionRequest['messageRequest']) => {
    const answer = once(stream, 'data') as Promise<[ServerReflectionResponse]>;
    stream.write(create(ServerReflectionRequestSchema, { messageRequest }));
    const [{ messageResponse }] = await answer;
    if (messageResponse.case === 'errorResponse') throw new Error(`reflection: ${messageResponse.value.errorMessage}`);
    return messageResponse;
  };
  const fileContainingSymbol = async (symbol: string) => {
    const r = await ask({ case: 'fileContainingSymbol', value: symbol });
    if (r.case !== 'fileDescriptorResponse') throw new Error(`reflection: ${r.case} for ${symbol}`);
    return r.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
  };
  return {
    async services() {
      const r = await ask({ case: 'listServices', value: '' });
      if (r.case !== 'listServicesResponse') throw new Error(`reflection: ${r.case} for listServices`);
      return r.value.service.map((s) => s.name);
    },
    fileContainingSymbol,
    async methods(service) {
      const files = await fileContainingSymbol(service);
      return files
        .flatMap((f) => f.service.filter((s) => `${f.package}.${s.name}` === service))
        .flatMap((s) => s.method.map((m) => m.name));
    },
    async close() {
      const done = once(stream, 'status');
      stream.end();
      await done;
      client.close();
    },
  };
}
