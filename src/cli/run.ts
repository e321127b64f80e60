// One run of ipvsctl: its arguments (without node and the script), its
// streams and environment in, its exit code out. A fresh program each time,
// nothing exits the process, and every client the run opened is closed, so
// that a test can run the real CLI in its own process against a real server.
// The binary's entry (main.ts) hands it the process's own.
import { status } from '@grpc/grpc-js';
import { CommanderError } from 'commander';
import { IpvsError } from '../client/index.js';
import type { CliIo } from './io.js';
import { createProgram } from './program.js';

/** Why a command failed, as one line after "ipvsctl: ": the server's reason with its status and field, when it is one. */
function reason(e: unknown): string {
  if (e instanceof IpvsError) return `${e.details} (${status[e.code]}${e.field ? `, field ${e.field}` : ''})`;
  return e instanceof Error ? e.message : String(e);
}

/** Runs `argv` as `ipvsctl ARGV` would: 0 on success, 1 on a failure (printed on stderr), or commander's code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const cli = createProgram(io);
  try {
    await cli.program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has written its own message (usage errors, help) before throwing.
    if (e instanceof CommanderError) return e.exitCode;
    io.stderr.write(`ipvsctl: ${reason(e)}\n`);
    return 1;
  } finally {
    cli.close();
  }
}
