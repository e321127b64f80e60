// What client and server share about the wire: the grpc-js service
// definition derived from the protobuf-es descriptor (so there is no second
// copy of the API) and the handler types of its implementation, the
// descriptors for reflection, and the trailer keys that carry the kernel's
// side of an error.
import {
  fromBinary,
  toBinary,
  type DescFile,
  type DescMessage,
  type DescService,
  type MessageShape,
} from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
  ServiceDefinition,
} from '@grpc/grpc-js';
import type { ReflectionService } from '@grpc/reflection';

/** Trailer keys of an error status. */
export const ErrorTrailer = {
  /** The kernel's errno name, e.g. "EEXIST". */
  errno: 'ipvs-errno',
  /** The operation that failed, e.g. "newService tcp 192.0.2.1:80". */
  operation: 'ipvs-operation',
  /** The request field a refused model names, e.g. "service.port". */
  field: 'ipvs-field',
} as const;

/**
 * A response already encoded (the server writes its big answers straight to
 * protobuf bytes, see src/server/wire.ts): sent as it is. `T` is the message
 * type it encodes, for the handlers' types.
 */
export class Encoded<T = unknown> {
  declare readonly type: T;
  constructor(readonly bytes: Buffer) {}
}

/** A response message, or its bytes already encoded. */
export type Reply<Res> = Res | Encoded<Res>;

/** The grpc-js handler of a method, its messages the generated types (a response may be Encoded). */
type HandlerOf<M> = M extends { input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? M extends { methodKind: 'unary' }
    ? handleUnaryCall<MessageShape<I>, Reply<MessageShape<O>>>
    : M extends { methodKind: 'server_streaming' }
      ? handleServerStreamingCall<MessageShape<I>, Reply<MessageShape<O>>>
      : M extends { methodKind: 'client_streaming' }
        ? handleClientStreamingCall<MessageShape<I>, Reply<MessageShape<O>>>
        : handleBidiStreamingCall<MessageShape<I>, Reply<MessageShape<O>>>
  : never;

/**
 * What implements a generated service (a GenService, e.g. IpvsService) on
 * grpc-js: one handler per method, by the descriptor's lowerCamelCase name,
 * so a missing or misspelled RPC does not compile.
 */
export type ServiceImplementation<S extends Pick<DescService, 'method'>> = {
  [K in keyof S['method']]: HandlerOf<S['method'][K]>;
};

/** protobuf-es's bytes as a Buffer for grpc-js, without copying them. */
const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * The grpc-js definition of a service: its methods by lowerCamelCase name,
 * with protobuf-es codecs. An Encoded response goes as it is: that is how a
 * tick's parts, encoded once, reach every watcher.
 */
export function grpcDefinition(service: DescService): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      originalName: m.name,
      requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
      responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
      requestSerialize: (msg) => asBuffer(toBinary(m.input, msg as never)),
      requestDeserialize: (bytes) => fromBinary(m.input, bytes),
      responseSerialize: (msg) => (msg instanceof Encoded ? msg.bytes : asBuffer(toBinary(m.output, msg as never))),
      responseDeserialize: (bytes) => fromBinary(m.output, bytes),
    };
  }
  return def;
}

/** Serialized FileDescriptorProtos of `file` and everything it imports, for server reflection. */
export function fileDescriptorProtos(file: DescFile): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, toBinary(FileDescriptorProtoSchema, f.proto));
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen.values()];
}

/** What @grpc/reflection takes: a proto-loader package definition (its type, without proto-loader). */
export type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

/**
 * The generated descriptors of `files` as @grpc/reflection takes them: the
 * shape proto-loader gives, one entry per top-level message, each carrying
 * its file and everything it imports (reflection reads only those).
 */
export function reflectionPackage(...files: DescFile[]): ReflectionPackage {
  const pkg: ReflectionPackage = {};
  for (const file of files) {
    if (!file.messages.length) throw new Error(`${file.name}: no message to carry its descriptor to reflection`);
    const protos = fileDescriptorProtos(file).map(asBuffer);
    for (const m of file.messages)
      pkg[m.typeName] = { format: 'Protocol Buffer 3 DescriptorProto', type: m.proto, fileDescriptorProtos: protos };
  }
  return pkg;
}
