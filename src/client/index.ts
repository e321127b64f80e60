// The typed TypeScript client of ipvsd: one method per RPC, named as in
// the generated descriptor (listServices, createService, ...). Unary calls
// return Promises of the generated message types; watchStats returns an
// AsyncIterable that ends when its AbortSignal fires. Every failure is an
// IpvsError with the gRPC code and, when the kernel refused, its errno.
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import {
  credentials as grpcCredentials, makeGenericClientConstructor, Metadata, status, type CallOptions as GrpcCallOptions,
  type ChannelCredentials, type ChannelOptions, type Client, type ClientReadableStream, type ServiceError,
} from '@grpc/grpc-js';
import { IpvsService } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { ErrorTrailer, grpcDefinition } from '../rpc/definition.js';

export * from '../../gen/ts/ipvs/v1/ipvs_pb.js';
export * from '../../gen/ts/ipvs/v1/model_pb.js';
export { status } from '@grpc/grpc-js';

/** A failed call: the gRPC status, and the kernel's side of it when there is one. */
export class IpvsError extends Error {
  override readonly name = 'IpvsError';
  /** gRPC status code. */
  readonly code: status;
  /** The kernel's errno name ("EEXIST"), when the kernel or the model check refused. */
  readonly errno?: string;
  /** The request field a refused model names ("service.id.port"). */
  readonly field?: string;
  readonly operation?: string;
  readonly details: string;
  readonly metadata: Metadata;

  constructor(e: Partial<ServiceError>) {
    const code = e.code ?? status.UNKNOWN;
    const details = e.details ?? e.message ?? '';
    super(`${status[code]}: ${details}`);
    this.code = code;
    this.details = details;
    this.metadata = e.metadata ?? new Metadata();
    const get = (k: string) => {
      const v = this.metadata.get(k)[0];
      return v === undefined ? undefined : String(v);
    };
    this.errno = get(ErrorTrailer.errno);
    this.field = get(ErrorTrailer.field);
    this.operation = get(ErrorTrailer.operation);
  }
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds from now, or a Date. */
  deadline?: number | Date;
}

type Methods = typeof IpvsService.method;
type In<K extends keyof Methods> = Methods[K]['input'] & DescMessage;
type Out<K extends keyof Methods> = Methods[K]['output'] & DescMessage;
type KeysOf<Kind> = { [K in keyof Methods]: Methods[K]['methodKind'] extends Kind ? K : never }[keyof Methods];

export type IpvsClient = {
  [K in KeysOf<'unary'>]: (req?: MessageInitShape<In<K>>, opts?: CallOptions) => Promise<MessageShape<Out<K>>>;
} & {
  /** Messages until `opts.signal` aborts (then the iteration just ends) or the server ends the stream. */
  [K in KeysOf<'server_streaming'>]: (req?: MessageInitShape<In<K>>, opts?: CallOptions) => AsyncIterable<MessageShape<Out<K>>>;
} & {
  /** The underlying grpc-js client (for waitForReady, channel state). */
  readonly grpc: Client;
  close(): void;
};

export interface ConnectOptions {
  /** Default: plain text (loopback and unix sockets). */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
}

const GrpcClient = makeGenericClientConstructor(grpcDefinition(IpvsService), IpvsService.name);

function grpcOptions(o?: CallOptions): GrpcCallOptions {
  if (o?.deadline === undefined) return {};
  return { deadline: typeof o.deadline === 'number' ? Date.now() + o.deadline : o.deadline };
}

/** Connects to ipvsd at `address`: "127.0.0.1:50051", "unix:/run/ipvsd.sock". */
export function connectIpvs(address: string, opts: ConnectOptions = {}): IpvsClient {
  const raw = new GrpcClient(address, opts.credentials ?? grpcCredentials.createInsecure(), opts.channelOptions) as unknown as
    Record<string, (...args: unknown[]) => unknown> & Client;
  const out: Record<string, unknown> = { grpc: raw, close: () => raw.close() };
  for (const m of IpvsService.methods) {
    const call = raw[m.localName]!.bind(raw);
    if (m.methodKind === 'unary') {
      out[m.localName] = (req: MessageInitShape<DescMessage> = {}, o?: CallOptions) => new Promise((resolve, reject) => {
        if (o?.signal?.aborted) {
          reject(new IpvsError({ code: status.CANCELLED, details: 'aborted before the call' }));
          return;
        }
        const c = call(create(m.input, req), new Metadata(), grpcOptions(o), (err: ServiceError | null, res: unknown) => {
          o?.signal?.removeEventListener('abort', cancel);
          if (err) reject(new IpvsError(err));
          else resolve(res);
        }) as { cancel(): void };
        const cancel = () => c.cancel();
        o?.signal?.addEventListener('abort', cancel, { once: true });
      });
    } else if (m.methodKind === 'server_streaming') {
      out[m.localName] = (req: MessageInitShape<DescMessage> = {}, o?: CallOptions) => ({
        async *[Symbol.asyncIterator]() {
          const stream = call(create(m.input, req), new Metadata(), grpcOptions(o)) as ClientReadableStream<unknown>;
          const cancel = () => stream.cancel();
          o?.signal?.addEventListener('abort', cancel, { once: true });
          try {
            for await (const msg of stream) yield msg;
          } catch (e) {
            const err = e as ServiceError;
            // Our own abort ends the iteration quietly; anything else is the server's status.
            if (err.code === status.CANCELLED && o?.signal?.aborted) return;
            throw new IpvsError(err);
          } finally {
            o?.signal?.removeEventListener('abort', cancel);
            stream.cancel();
          }
        },
      });
    }
  }
  return out as IpvsClient;
}
