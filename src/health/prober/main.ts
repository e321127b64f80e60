// The prober child process: `main.js [--netns PATH] [--max-in-flight N]`.
// It enters the network namespace first and for good, so that no probe can
// leave from another; then it says where it is (one ready line with the
// namespace's inode), reads ProbeRequest lines from stdin, runs up to N at
// once (the rest wait in order), and writes each ProbeResult as it finishes.
// At stdin's end it exits 0 when the probes finish, or after 1 s.
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { enterNetns } from '../../netlink/netns.js';
import { LineBatch } from '../line-batch.js';
import { LineSplitter } from '../line-splitter.js';
import { decodeRequest, encodeLine, ProbeLineError, type ProbeRequest } from '../probe.js';

const EXIT_GRACE_MS = 1000;

function fatal(message: string, code: number): never {
  process.stderr.write(`prober: ${message}\n`);
  process.exit(code);
}

const { values } = parseArgs({
  options: { netns: { type: 'string', default: '' }, 'max-in-flight': { type: 'string', default: '4096' } },
});
const maxInFlight = Number(values['max-in-flight']);
if (!Number.isInteger(maxInFlight) || maxInFlight < 1) fatal(`--max-in-flight ${values['max-in-flight']}`, 2);
try {
  enterNetns(values.netns);
} catch (err) {
  fatal((err as Error).message, 1);
}
// The probers load only now: nothing they do can open a socket in the old namespace.
const { runProbe } = await import('./run.js');

const out = process.stdout;
const input = process.stdin;
out.write(encodeLine({ ready: true, netnsInode: statSync('/proc/thread-self/ns/net').ino }));

const waiting: ProbeRequest[] = [];
let inFlight = 0;
let ended = false;
/** stdout is full: results wait in its buffer, and no more requests are read. */
let blocked = false;

const results = new LineBatch((chunk) => write(chunk));

function write(chunk: string): void {
  if (out.write(chunk) || blocked) return;
  blocked = true;
  out.once('drain', () => {
    blocked = false;
    flow();
  });
}

function start(r: ProbeRequest): void {
  inFlight++;
  void runProbe(r).then((result) => {
    inFlight--;
    results.add(encodeLine(result));
    flow();
  });
}

function flow(): void {
  while (inFlight < maxInFlight && waiting.length > 0) start(waiting.shift()!);
  if (ended) {
    if (inFlight === 0 && waiting.length === 0) {
      results.flush();
      out.write('', () => process.exit(0));
    }
    return;
  }
  // A queue as long as the limit also stops reading: the parent's writes then feel it.
  if (blocked || waiting.length >= maxInFlight) input.pause();
  else input.resume();
}

function accept(line: string): void {
  if (!line.trim()) return;
  try {
    waiting.push(decodeRequest(line));
  } catch (err) {
    if (!(err instanceof ProbeLineError)) throw err;
    // With an id, the parent learns which probe was refused; without one, only the log can tell.
    if (err.id === undefined) process.stderr.write(`prober: bad request line: ${err.message}\n`);
    else results.add(encodeLine({ id: err.id, ok: false, latencyMs: 0, reason: `bad request: ${err.message}` }));
  }
}

const lines = new LineSplitter();
input.on('data', (chunk: Buffer) => {
  const overlong = lines.overlong;
  for (const line of lines.push(chunk)) accept(line);
  if (lines.overlong > overlong) process.stderr.write('prober: request line over 1 MiB dropped\n');
  flow();
});
input.on('end', () => {
  ended = true;
  setTimeout(() => {
    results.flush();
    out.write('', () => process.exit(0));
  }, EXIT_GRACE_MS);
  flow();
});
// The parent is gone: nobody is left to read a result.
out.on('error', () => process.exit(0));
