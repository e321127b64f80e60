// The one error type of the client: a failed call's gRPC status, with the
// kernel's side of it (errno, operation, refused field) from the trailers.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorTrailer } from '../rpc/wire.js';

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
