// A server and a client for each e2e test file, inside user-mode Linux: the
// server runs in the test process (so tests can read its counters), the
// client reaches it over real gRPC on loopback TCP or the unix socket, and
// every file works in its own network namespace, cross-checked with ipvsadm.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, pino } from 'pino';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { connectIpvs, IpvsError, type IpvsClient } from '../../src/client/index.js';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { createNetns, type Netns } from '../kernel/helpers.js';
import { testStateDir } from '../state-dir.js';

/** ipvsctl's launcher, as npm installs it. */
export const IPVSCTL = resolve(import.meta.dirname, '../../bin/ipvsctl.mjs');

export interface E2e {
  ns: Netns;
  server: RunningServer;
  client: IpvsClient;
  /** The client's calls, with this file's namespace filled in. */
  address: string;
  unixPath: string;
  /** The server's --state-dir: a fresh one per file. */
  stateDir: string;
}

/** Starts a server allowing this file's namespace; flushes it before each test unless told not to. */
export function useServer(extraArgs: string[] = [], o: { flush?: boolean } = {}): E2e {
  const ctx = {} as E2e;
  beforeAll(async () => {
    ctx.ns = createNetns('e');
    ctx.unixPath = `/run/ipvsd-${ctx.ns.name}.sock`;
    ctx.stateDir = testStateDir();
    ctx.server = await startInProcess([
      '--unix',
      ctx.unixPath,
      '--netns',
      ctx.ns.name,
      '--state-dir',
      ctx.stateDir,
      ...extraArgs,
    ]);
    ctx.address = ctx.server.addresses[0]!;
    ctx.client = connectIpvs(ctx.address);
  });
  beforeEach(async () => {
    if (o.flush !== false) await ctx.client.flush({ namespace: ctx.ns.name });
  });
  afterAll(async () => {
    ctx.client?.close();
    await ctx.server?.shutdown();
    ctx.ns?.remove();
  });
  return ctx;
}

/**
 * A server in this process, as `ipvsd ARGS` starts (never sandboxed): on 127.0.0.1:0, with no unix socket and a
 * fresh state directory unless `args` name their own. Its log is silent (IPVSD_TEST_LOG=debug shows it) or `log`.
 */
export function startInProcess(args: string[], log?: Logger): Promise<RunningServer> {
  const unless = (flag: string, value: () => string) => (args.includes(flag) ? [] : [flag, value()]);
  const cfg = parseConfig(
    [
      ...unless('--listen', () => '127.0.0.1:0'),
      ...unless('--unix', () => ''),
      ...unless('--state-dir', testStateDir),
      ...args,
    ],
    {},
  ) as ServerConfig;
  return startServer(cfg, log ?? pino({ level: process.env.IPVSD_TEST_LOG ?? 'silent' }));
}

/** What a run of ipvsctl ended with: its exit code, standard output and standard error. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** A stream that keeps what is written to it. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/**
 * Runs ipvsctl against the file's server and namespace, feeding it `input`: the real CLI (runCli, what the binary
 * runs) in this process, over real gRPC. A Node start per command is ~2 s in user-mode Linux; this is milliseconds.
 * ipvsctlBinary runs the binary itself.
 */
export async function ipvsctl(ctx: E2e, args: string[], input = ''): Promise<CliResult> {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(['--addr', ctx.address, '--netns', ctx.ns.name, ...args], {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: Readable.from([Buffer.from(input)]),
    env: {},
  });
  return { code, out: stdout.text(), err: stderr.text() };
}

/**
 * ipvsctl as users start it (bin/ipvsctl.mjs, the bundle npm run build makes), against the file's server and
 * namespace, `input` piped to it. Asynchronously: the server lives in this very process.
 */
export async function ipvsctlBinary(ctx: E2e, args: string[], input = ''): Promise<CliResult> {
  const p = spawn(process.execPath, [IPVSCTL, '--addr', ctx.address, '--netns', ctx.ns.name, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  p.stdin.end(input);
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  p.stderr.on('data', (d) => {
    err += d;
  });
  const timer = setTimeout(() => p.kill(), 60_000);
  const [code] = await once(p, 'close');
  clearTimeout(timer);
  return { code: code ?? -1, out, err };
}

/** The IpvsError a call fails with (the test fails if it succeeds). */
export async function failure(p: Promise<unknown>): Promise<IpvsError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof IpvsError)) throw new Error(`expected an IpvsError, got ${String(e)}`);
  return e;
}

/** Polls `f` every 200 ms until it holds, for at most `ms`; how long it took in ms, or -1. */
export async function until(f: () => boolean, ms: number): Promise<number> {
  const t = Date.now();
  while (Date.now() - t < ms) {
    if (f()) return Date.now() - t;
    await sleep(200);
  }
  return -1;
}
