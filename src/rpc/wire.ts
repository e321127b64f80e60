// What every peer of the API shares on the wire: the grpc-js service
// definition derived from the protobuf-es descriptor (so there is no second
// copy of the API), encoded responses, and the trailer keys that carry the
// kernel's side of an error. The client (and so the @ipvsd/client package)
// needs only this file of src/rpc: it imports nothing but grpc-js and
// protobuf-es, while definition.ts adds the server's side (handler types,
// reflection).
import { fromBinary, toBinary, type DescService } from '@bufbuild/protobuf';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

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

/** protobuf-es's bytes as a Buffer for grpc-js, without copying them. */
export const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

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
