// The one error of the desired-state store: which file, what is wrong with it, and, when a file stops the start,
// the one shell command that recovers.

export interface StoreErrorOptions {
  /** What the operator can do, as a sentence that ends with a shell command (see `shellQuote`). */
  recovery?: string;
  /** The errno name when the file system refused (e.g. "ENOSPC", "EACCES"). */
  code?: string;
  cause?: unknown;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  /** What would be done next: the recovery sentence, or undefined when there is nothing to say. */
  readonly recovery: string | undefined;
  /** errno name, when the error came from the file system. */
  readonly code: string | undefined;

  constructor(
    /** The file (or directory) concerned, absolute. */
    readonly path: string,
    /** What is wrong, e.g. "is not JSON (truncated?): Unexpected end of JSON input". */
    readonly reason: string,
    options: StoreErrorOptions = {},
  ) {
    super(
      `${path}: ${reason}${options.recovery ? `. ${options.recovery}` : ''}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.recovery = options.recovery;
    this.code = options.code;
  }

  /** The same error with a recovery sentence added. */
  withRecovery(recovery: string): StoreError {
    return new StoreError(this.path, this.reason, { recovery, code: this.code, cause: this.cause });
  }
}

/** `path` as one word of a POSIX shell, quoted only when it must be, so that the message can be pasted. */
export function shellQuote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/** An errno name of a Node file-system error, if it is one. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
