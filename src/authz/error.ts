// The one error of authorization policies: where in the policy's JSON, and
// what is wrong there. Nothing else leaves the parser (the fuzz test holds it
// to that), so a caller can refuse a file with one catch.

export class PolicyError extends Error {
  override readonly name = 'PolicyError';

  constructor(
    /** Where in the JSON, e.g. "allow_rules[0].request.headers[1].key"; "" for the whole document. */
    readonly path: string,
    /** What is wrong there, e.g. 'unsupported header "host"'. */
    readonly reason: string,
    /** The policy's file, when it came from one. */
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${path ? `${path}: ` : ''}${reason}`);
  }

  /** The same error, said of `file`. */
  in(file: string): PolicyError {
    return new PolicyError(this.path, this.reason, file);
  }
}
