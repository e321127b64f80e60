// The one table from kernel errno to gRPC status, and the error a handler
// throws for what is not the kernel's (a refused namespace, a request over
// a limit). Every error leaving a handler passes through toStatus.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { KernelError } from '../ipvs/index.js';
import { ErrorTrailer } from '../rpc/definition.js';

const BY_ERRNO: Readonly<Record<string, status>> = {
  EEXIST: status.ALREADY_EXISTS,
  ENOENT: status.NOT_FOUND,
  ESRCH: status.NOT_FOUND,
  ENODEV: status.NOT_FOUND,
  EADDRNOTAVAIL: status.NOT_FOUND,
  EINVAL: status.INVALID_ARGUMENT,
  EAFNOSUPPORT: status.INVALID_ARGUMENT,
  EMSGSIZE: status.INVALID_ARGUMENT,
  ERANGE: status.OUT_OF_RANGE,
  EPERM: status.PERMISSION_DENIED,
  EACCES: status.PERMISSION_DENIED,
  ENOPROTOOPT: status.FAILED_PRECONDITION,
  EOPNOTSUPP: status.FAILED_PRECONDITION,
  EBUSY: status.UNAVAILABLE,
  EAGAIN: status.UNAVAILABLE,
  EBADF: status.UNAVAILABLE,
  ENOMEM: status.RESOURCE_EXHAUSTED,
  ENOBUFS: status.RESOURCE_EXHAUSTED,
  ETIMEDOUT: status.DEADLINE_EXCEEDED,
  EINTR: status.ABORTED,
  EBADMSG: status.INTERNAL,
  EIO: status.INTERNAL,
};

/** The gRPC status for a kernel errno name; INTERNAL for one the table does not know. */
export function statusOfErrno(errno: string): status {
  return BY_ERRNO[errno] ?? status.INTERNAL;
}

/** An error of the server's own making, with the status it means. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * The status a thrown value becomes. Kernel errors keep their errno, operation
 * and field in the trailers; anything unexpected is INTERNAL, its details
 * left to the log (`internal` true).
 */
export function toStatus(
  e: unknown,
  fieldPath: (field: string) => string = (f) => f,
): ServiceError & { internal: boolean } {
  const metadata = new Metadata();
  let code: status;
  let details: string;
  let internal = false;
  if (e instanceof KernelError) {
    code = statusOfErrno(e.errno);
    details = e.message;
    metadata.set(ErrorTrailer.errno, e.errno);
    metadata.set(ErrorTrailer.operation, e.op);
    const field = (e as { field?: string }).field;
    if (field) metadata.set(ErrorTrailer.field, fieldPath(field));
  } else if (e instanceof RpcError) {
    code = e.code;
    details = e.message;
    if (e.field) metadata.set(ErrorTrailer.field, e.field);
  } else {
    code = status.INTERNAL;
    details = 'internal error (see the server log)';
    internal = true;
  }
  return Object.assign(new Error(details), { code, details, metadata, internal });
}
