// What one run of ipvsctl reads and writes. The binary hands it the process's
// own streams and environment; a test hands it buffers, and runs the CLI in
// its own process. Nothing a run does touches process.stdout, process.stdin
// or process.env itself.
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  /** Errors ("ipvsctl: ...") and apply's progress. */
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Read by restore and by -f -; on a terminal, watch reads its keys in raw mode. */
  stdin: Readable & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  /** IPVSD_ADDR and IPVSD_NETNS, the global options' defaults. */
  env: Readonly<Record<string, string | undefined>>;
}

/** All of standard input, as text (bytes joined before decoding: a character may straddle two chunks). */
export async function readAll(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
