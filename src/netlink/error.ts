import { errnoName, errnoNumber, type ErrnoName } from './errno.js';

/**
 * The one error class for kernel operations: which operation failed, the
 * errno (as a name and a number) and the kernel's own explanation from the
 * extended ack, when it gave one. Layers above set `op` to their own words.
 */
export class KernelError extends Error {
  override readonly name = 'KernelError';
  /** errno name, e.g. "ESRCH". */
  readonly errno: string;
  /** errno number, e.g. 3. Never use it as a gRPC code. */
  readonly code: number;

  constructor(
    /** What was being done, e.g. "newService 192.0.2.1:80/tcp". */
    readonly op: string,
    code: number,
    /** The kernel's extended-ack text, or our own reason where the kernel gave none. */
    readonly detail = '',
    /** Position of the failed request inside a batch, when it was one. */
    readonly index?: number,
    /** The error this one tells in other words (see `within`). */
    cause?: KernelError,
  ) {
    const name = errnoName(code);
    super(`${op}: ${name}${detail ? `: ${detail}` : ''}`, cause && { cause });
    this.errno = name;
    this.code = code;
  }

  static of(op: string, errno: ErrnoName, detail = ''): KernelError {
    return new KernelError(op, errnoNumber(errno), detail);
  }

  /**
   * The same failure, told as part of `op` (and at `index` of a batch, if it was in one); this error is its `cause`.
   */
  within(op: string, index?: number): KernelError {
    return new KernelError(op, this.code, this.detail, index, this);
  }
}
