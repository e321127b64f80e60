// What client and server share about the API: the wire (wire.ts: the grpc-js
// service definition derived from the protobuf-es descriptor, so there is no
// second copy of the API, and the error trailer keys), and the server's side
// of it: the handler types of its implementation and the descriptors for
// reflection. The client imports wire.ts alone, so that its package needs
// neither @grpc/reflection nor these types.
import { toBinary, type DescFile, type DescMessage, type DescService, type MessageShape } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
} from '@grpc/grpc-js';
import type { ReflectionService } from '@grpc/reflection';
import { asBuffer, type Reply } from './wire.js';

export { Encoded, ErrorTrailer, grpcDefinition, type Reply } from './wire.js';

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

/** Serialized FileDescriptorProtos of `files` and everything they import, each file once. */
export function fileDescriptorProtos(...files: DescFile[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, toBinary(FileDescriptorProtoSchema, f.proto));
    f.dependencies.forEach(visit);
  };
  files.forEach(visit);
  return [...seen.values()];
}

/** What @grpc/reflection takes: a proto-loader package definition (its type, without proto-loader). */
export type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

/**
 * The generated descriptors of `files` as @grpc/reflection takes them: the
 * shape proto-loader gives, with one entry carrying every file once.
 * Reflection reads only the entries' files and decodes each copy it is given
 * (proto-loader's shape, a copy of the file and its imports per message, cost
 * 0.7 s of a server's start in user-mode Linux).
 */
export function reflectionPackage(...files: DescFile[]): ReflectionPackage {
  const first = files[0]?.messages[0];
  if (!first) throw new Error('reflection needs a first file with a message to carry the descriptors');
  const protos = fileDescriptorProtos(...files).map(asBuffer);
  return {
    [first.typeName]: { format: 'Protocol Buffer 3 DescriptorProto', type: first.proto, fileDescriptorProtos: protos },
  };
}
